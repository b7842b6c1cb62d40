/* sitefinder map: plot layers, popups, walking routes and legend, built from one data
 * block (script#sf-data) so that thousands of plots cost one copy of their numbers.
 * Written by sitefinder/render/map.py; no external libraries besides Leaflet and
 * Leaflet.markercluster (both inlined by the page). */
(function () {
  'use strict';
  var sf = { state: { active: 0, layers: [], byPlot: [], routes: null, map: null, data: null,
                      live: [], res: [], ranks: null, version: 0, marked: null } };

  sf.load = function (id) {
    return JSON.parse(document.getElementById(id).textContent);
  };

  sf.esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  };

  /* Dutch number formatting: decimal comma, dot for thousands. */
  sf.fmt = function (v, kind) {
    if (v === null || v === undefined || (typeof v === 'number' && isNaN(v))) return '–';
    if (typeof v !== 'number') return sf.esc(v);
    var digits = 2;
    if (kind === 'm' || kind === 'count' || kind === 'rank') digits = 0;
    else if (kind === 'db' || kind === 'points' || kind === 'share') digits = 1;
    if (kind === 'share') v = 100 * v;
    return v.toLocaleString('nl-NL', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  };

  sf.val = function (d, key, i) {
    var c = d.cols[key];
    if (!c) return undefined;
    if (c.dict) {
      var k = c.idx[i];
      return k === null ? null : c.dict[k];
    }
    return c.v[i];
  };

  sf.withUnit = function (d, key, v) {
    var m = d.meta[key] || { kind: 'number', unit: '' };
    var text = sf.fmt(v, m.kind);
    return text === '–' || !m.unit ? text : text + '\u00a0' + sf.esc(m.unit);
  };

  sf.scoreColour = function (d, score) {
    var c = d.style.score_colours;
    var k = Math.min(Math.floor(score / (100 / c.length)), c.length - 1);
    return c[Math.max(k, 0)];
  };

  /* ---------- live scoring: score = 100 * sum(w * u) / sum(w), as sitefinder.scoring.score ---------- */

  sf.initLive = function (d) {
    sf.state.live = d.profiles.map(function (prof) {
      return { w: prof.criteria.map(function (c) { return c.weight; }),
               on: prof.constraints.map(function () { return true; }) };
    });
    sf.state.res = d.profiles.map(function (prof, p) { return sf.compute(p); });
  };

  sf.changed = function (p) {
    var d = sf.state.data, prof = d.profiles[p], lv = sf.state.live[p];
    return prof.criteria.some(function (c, k) { return lv.w[k] !== c.weight; }) ||
      lv.on.some(function (x) { return !x; });
  };

  sf.compute = function (p) {
    var d = sf.state.data, prof = d.profiles[p], lv = sf.state.live[p];
    var n = d.plots.features.length, wsum = 0, i, k;
    var ne = prof.criteria.map(function (c) {
      var m = new Uint8Array(n);
      c.ne.forEach(function (j) { m[j] = 1; });
      return m;
    });
    lv.w.forEach(function (w) { wsum += w; });
    var score = [], pts = prof.criteria.map(function () { return []; }), reasons = [], share = [];
    for (i = 0; i < n; i++) {
      var s = 0, we = 0;
      for (k = 0; k < prof.criteria.length; k++) if (!ne[k][i]) we += lv.w[k];
      for (k = 0; k < prof.criteria.length; k++) {
        var v = ne[k][i] ? null : (we > 0 ? 100 * lv.w[k] * prof.criteria[k].u[i] / we : 0);
        pts[k][i] = v;
        s += v || 0;
      }
      score.push(s);
      share.push(wsum > 0 ? (wsum - we) / wsum : 0);
      reasons.push((prof.notes[i] || []).slice());
    }
    prof.constraints.forEach(function (c, k) {
      if (!lv.on[k] || !c.fails) return;
      c.fails.forEach(function (j) { reasons[j].push(sf.reasonText(d, c, j)); });
      Object.keys(c.notes).forEach(function (j) { reasons[Number(j)].push(c.notes[j]); });
    });
    for (i = 0; i < n; i++) {
      var outside = reasons[i].indexOf(d.status.outside) >= 0;
      if (!outside && share[i] > prof.max_share_ne + 1e-9) {
        reasons[i].push(d.status.insufficient + ': ' + Math.round(100 * share[i]) +
                        ' % van het gewicht kan niet beoordeeld worden');
      }
    }
    var order = [], out = [];
    for (i = 0; i < n; i++) (reasons[i].length ? out : order).push(i);
    order.sort(function (a, b) { return score[b] - score[a] || a - b; });
    out.sort(function (a, b) { return score[b] - score[a] || a - b; });
    var rank = new Array(n).fill(null);
    order.forEach(function (j, r) {
      rank[j] = (r > 0 && score[j] === score[order[r - 1]]) ? rank[order[r - 1]] : r + 1;
    });
    return { score: score, pts: pts, rank: rank, reasons: reasons, order: order, out: out,
             wsum: wsum, share: share, nOk: order.length };
  };

  /* "te veel geluid op een deel van de kavel (geluid p90 63,2 dB, grens 58 dB)" */
  sf.reasonText = function (d, c, i) {
    var v = sf.val(d, c.indicator, i);
    var value = (v === null || v === undefined) ? 'geen gegevens' : sf.plainUnit(d, c.indicator, v);
    return c.reason + ' (' + c.label + ' ' + value + ', ' + c.limit + ')';
  };

  sf.plainUnit = function (d, key, v) {
    var m = d.meta[key] || { kind: 'number', unit: '' };
    if (typeof v !== 'number') return String(v);
    var text = sf.fmt(v, m.kind);
    return m.unit ? text + '\u00a0' + m.unit : text;
  };

  sf.reasons = function (p, i) { return sf.state.res[p].reasons[i]; };

  sf.plotStyle = function (d, p, i) {
    var r = sf.state.res[p];
    if (r.reasons[i].length) {
      return { fillColor: d.style.excluded_colour, fillOpacity: 0.45, color: '#424242',
               weight: 1.5, dashArray: '4 3' };
    }
    return { fillColor: sf.scoreColour(d, r.score[i]), fillOpacity: 0.85, color: '#212121',
             weight: 1, dashArray: null };
  };

  sf.plotTitle = function (d, i) {
    var f = d.plots.features[i].properties;
    return /^kavel\b/i.test(f.name || '') ? f.label : 'Kavel ' + f.label;
  };

  sf.tooltip = function (d, p, i) {
    var r = sf.state.res[p], prof = d.profiles[p];
    var head = '<b>' + sf.esc(sf.plotTitle(d, i)) + '</b><br>';
    if (r.reasons[i].length) {
      return head + '<span class="sf-excluded">Uitgesloten: ' + sf.esc(r.reasons[i].join('; ')) + '</span>';
    }
    return head + 'Score ' + sf.fmt(r.score[i], 'points') + ' van 100, rang ' +
      sf.fmt(r.rank[i], 'rank') + ' van ' + r.nOk + ' (' + sf.esc(prof.title) + ')';
  };

  function breakdown(d, p, i) {
    var prof = d.profiles[p], r = sf.state.res[p], lv = sf.state.live[p];
    var we = 0;
    prof.criteria.forEach(function (c, k) { if (r.pts[k][i] !== null) we += lv.w[k]; });
    var maxes = prof.criteria.map(function (c, k) { return we > 0 ? 100 * lv.w[k] / we : 0; });
    var widest = Math.max.apply(null, [0].concat(maxes));
    var rows = prof.criteria.map(function (c, k) {
      if (r.pts[k][i] === null) {
        return '<tr><td>' + sf.esc(c.label) + '</td><td class="sf-num">' +
          sf.withUnit(d, c.indicator, sf.val(d, c.indicator, i)) + '</td><td colspan="2" class="sf-note">' +
          sf.esc(d.status.not_evaluable) + '</td></tr>';
      }
      var pts = r.pts[k][i] || 0, max = maxes[k];
      var track = widest > 0 ? Math.round(110 * max / widest) : 0;
      var fill = max > 0 ? Math.max(0, Math.min(100, 100 * pts / max)) : 0;
      return '<tr><td>' + sf.esc(c.label) + '</td>' +
        '<td class="sf-num">' + sf.withUnit(d, c.indicator, sf.val(d, c.indicator, i)) + '</td>' +
        '<td><span class="sf-bar" style="width:' + track + 'px" title="' +
        sf.fmt(pts, 'points') + ' van ' + sf.fmt(max, 'points') + ' punten">' +
        '<span style="width:' + fill.toFixed(1) + '%"></span></span></td>' +
        '<td class="sf-num">' + sf.fmt(pts, 'points') + '\u00a0/\u00a0' + sf.fmt(max, 'points') +
        '</td></tr>';
    });
    var skipped = prof.skipped.length ?
      '<p class="sf-note">Niet meegeteld (geen gegevens in deze run): ' +
      prof.skipped.map(sf.esc).join('; ') + '</p>' : '';
    return '<table class="sf-breakdown"><thead><tr><th>Criterium</th><th>Waarde</th>' +
      '<th colspan="2">Bijdrage (punten)</th></tr></thead><tbody>' + rows.join('') +
      '</tbody></table>' + skipped;
  }

  function table(d, keys, i, cls, prof, nOk) {
    var rows = keys.map(function (k) {
      var text = sf.withUnit(d, k, sf.val(d, k, i));
      var m = /^p_top(\d+)_/.exec(k);
      if (m && prof && nOk < Number(m[1])) text = 'n.v.t. (' + nOk + ' geschikte kavels)';
      return '<tr><td>' + sf.esc(d.meta[k].label) + '</td><td class="sf-num">' + text + '</td></tr>';
    });
    return '<table class="' + cls + '">' + rows.join('') + '</table>';
  }

  function routesHtml(d, i) {
    var r = d.routes;
    if (!r || !r.by_plot[i]) return '';
    var items = r.categories.map(function (cat, k) {
      var x = r.by_plot[i][k];
      var label = sf.esc(cat.label);
      if (!x) return '<li>' + label + ': niet bereikbaar</li>';
      return '<li><span class="sf-swatch" style="background:' + sf.esc(cat.colour) + '"></span>' + label +
        ': <b>' + sf.fmt(x[0], 'm') + '\u00a0m</b> lopen' + (x[1] ? ' (' + sf.esc(x[1]) + ')' : '') +
        '</li>';
    });
    return '<h5>Looproute naar het dichtstbijzijnde (op de kaart getekend)</h5><ul class="sf-routes">' +
      items.join('') + '</ul>';
  }

  sf.popup = function (d, p, i) {
    var prof = d.profiles[p], r = sf.state.res[p];
    var f = d.plots.features[i].properties;
    var ex = r.reasons[i];
    var h = '<div class="sf-popup" data-plot="' + sf.esc(f.id) + '" data-profile="' +
      sf.esc(prof.name) + '"><h4>' + sf.esc(sf.plotTitle(d, i)) + '</h4>' +
      '<div class="sf-prof">' + sf.esc(prof.title) + (sf.changed(p) ? ' (aangepaste criteria)' : '') + '</div>';
    if (ex.length) {
      h += '<p class="sf-excluded"><b>Uitgesloten:</b> ' + sf.esc(ex.join('; ')) + '</p>' +
        '<p>Score zonder de uitsluiting: ' + sf.fmt(r.score[i], 'points') + ' van 100</p>';
    } else {
      h += '<p class="sf-score">Score <b>' + sf.fmt(r.score[i], 'points') +
        '</b> van 100 &middot; rang <b>' + sf.fmt(r.rank[i], 'rank') + '</b> van ' +
        r.nOk + ' geschikte kavels</p>';
    }
    h += breakdown(d, p, i);
    if (prof.extras.length) {
      h += '<h5>Gevoeligheid' + (sf.changed(p) ? ' (voor de criteria van de run)' : '') + '</h5>' +
        table(d, prof.extras, i, 'sf-extra', prof, prof.n_ok);
    }
    h += routesHtml(d, i);
    if (d.attributes.length) {
      h += '<details><summary>Kenmerken van de kavel</summary>' +
        table(d, d.attributes, i, 'sf-ind') + '</details>';
    }
    h += '<details><summary>Alle indicatoren (met eenheden)</summary>' +
      table(d, d.indicators, i, 'sf-ind') + '</details>';
    return h + '</div>';
  };

  sf.plotLayer = function (d, p) {
    var byPlot = {};
    sf.state.byPlot[p] = byPlot;
    var layer = L.geoJSON(d.plots, {
      pane: 'sf-plots',
      renderer: sf.state.plotRenderer,
      style: function (f) { return sf.plotStyle(d, p, f.properties.i); },
      // A plot given as a point (no outline) is drawn as a circle marker, styled like an outline.
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 7, pane: 'sf-plots', renderer: sf.state.plotRenderer });
      },
      onEachFeature: function (f, lyr) {
        var i = f.properties.i;
        byPlot[i] = lyr;
        lyr.bindTooltip(function () { return sf.tooltip(d, p, i); }, { sticky: true });
        lyr.bindPopup(function () { return sf.popup(d, p, i); },
                      { maxWidth: 460, minWidth: 280, maxHeight: 480, autoPanPadding: [30, 30] });
        lyr.on('click', function () { sf.showRoutes(i); sf.markList(i); });
      }
    });
    sf.state.layers[p] = layer;
    return layer;
  };

  sf.amenityCluster = function (d, k) {
    var a = d.amenities[k];
    var group = L.markerClusterGroup({
      chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45,
      disableClusteringAtZoom: 17,
      iconCreateFunction: function (cluster) {
        return L.divIcon({
          html: '<div style="background:' + a.colour + '"><span>' + cluster.getChildCount() +
            '</span></div>', className: 'sf-cluster', iconSize: L.point(30, 30)
        });
      }
    });
    var markers = a.points.map(function (row) {
      var m = L.circleMarker([row[0], row[1]], { radius: 5, color: '#212121', weight: 1,
                                                 fillColor: a.colour, fillOpacity: 0.95 });
      m.bindTooltip(sf.esc(a.label + (row[2] ? ': ' + row[2] : '')));
      return m;
    });
    group.addLayers(markers);
    return group;
  };

  /* Google encoded polyline (precision 5, about a metre) to [lat, lon] pairs. */
  sf.decode = function (str) {
    var index = 0, lat = 0, lng = 0, out = [];
    function next() {
      var b, shift = 0, result = 0;
      do {
        b = str.charCodeAt(index++) - 63;
        result |= (b & 0x1f) << shift;
        shift += 5;
      } while (b >= 0x20);
      return (result & 1) ? ~(result >> 1) : (result >> 1);
    }
    while (index < str.length) {
      lat += next();
      lng += next();
      out.push([lat / 1e5, lng / 1e5]);
    }
    return out;
  };

  sf.showRoutes = function (i) {
    var d = sf.state.data, group = sf.state.routes;
    if (!group || !d.routes) return;
    group.clearLayers();
    var rows = d.routes.by_plot[i];
    if (!rows) return;
    d.routes.categories.forEach(function (cat, k) {
      var x = rows[k];
      if (!x) return;
      var pts = sf.decode(x[2]);
      var tip = sf.esc(cat.label) + ': ' + sf.fmt(x[0], 'm') + '\u00a0m lopen' +
        (x[1] ? ' (' + sf.esc(x[1]) + ')' : '');
      L.polyline(pts, { color: '#ffffff', weight: 7, opacity: 0.9, interactive: false }).addTo(group);
      L.polyline(pts, { color: cat.colour, weight: 4, opacity: 1, className: 'sf-route' })
        .bindTooltip(tip, { sticky: true }).addTo(group);
      L.circleMarker(pts[pts.length - 1], { radius: 6, color: '#ffffff', weight: 2,
                                            fillColor: cat.colour, fillOpacity: 1 })
        .bindTooltip(tip).addTo(group);
    });
  };

  sf.focusPlot = function (i) {
    var s = sf.state, lyr = s.byPlot[s.active] && s.byPlot[s.active][i];
    if (!lyr) return;
    if (sf.isPhone()) sf.drawer(false);
    s.map.fitBounds(lyr.getBounds(), { maxZoom: 17, padding: [40, 40], animate: false });
    lyr.openPopup();
    sf.showRoutes(i);
    sf.markList(i);
  };

  sf.notice = function (text) {
    var el = document.getElementById('sf-notice');
    if (!el) return;
    el.textContent = text;
    el.style.display = 'block';
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  sf.isPhone = function () { return window.matchMedia('(max-width: 700px)').matches; };

  sf.drawer = function (open) {
    var panel = document.getElementById('sf-panel'), btn = document.getElementById('sf-drawer');
    if (!panel) return;
    panel.classList.toggle('sf-open', open);
    document.body.classList.toggle('sf-drawer-open', open);
    if (btn) btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (sf.state.map) setTimeout(function () { sf.state.map.invalidateSize(); }, 0);
  };

  /* ---------- the ranked list, rank labels and the criteria controls ---------- */

  var LIST_MAX = 300;

  sf.renderList = function () {
    var s = sf.state, d = s.data, p = s.active, r = s.res[p];
    var list = document.getElementById('sf-list');
    if (!list) return;
    var q = (document.getElementById('sf-search') || { value: '' }).value.trim().toLowerCase();
    var rows = r.order.concat(r.out).filter(function (i) {
      return !q || d.plots.features[i].properties.label.toLowerCase().indexOf(q) >= 0;
    });
    list.textContent = '';
    rows.slice(0, LIST_MAX).forEach(function (i) {
      var li = el('li', 'sf-item' + (r.reasons[i].length ? ' sf-item-out' : ''));
      li.setAttribute('data-i', String(i));
      li.setAttribute('tabindex', '0');
      var badge = el('span', 'sf-badge', r.rank[i] === null ? '–' : String(r.rank[i]));
      if (r.rank[i] !== null) badge.style.background = sf.scoreColour(d, r.score[i]);
      if (r.rank[i] !== null && r.score[i] >= 60) badge.classList.add('sf-badge-light');
      li.appendChild(badge);
      var body = el('span', 'sf-item-body');
      body.appendChild(el('span', 'sf-item-name', d.plots.features[i].properties.label));
      body.appendChild(el('span', 'sf-item-score', sf.fmt(r.score[i], 'points') + ' punten'));
      if (r.reasons[i].length) body.appendChild(el('span', 'sf-item-reason', 'Uitgesloten: ' + r.reasons[i].join('; ')));
      li.appendChild(body);
      li.addEventListener('click', function () { sf.focusPlot(i); });
      li.addEventListener('keydown', function (e) { if (e.key === 'Enter') sf.focusPlot(i); });
      list.appendChild(li);
    });
    var count = document.getElementById('sf-list-count');
    if (count) count.textContent = '(' + r.nOk + ' geschikt, ' + r.out.length + ' uitgesloten)';
    var none = document.getElementById('sf-none');
    if (none) {
      none.hidden = r.nOk > 0;
      none.textContent = r.nOk > 0 ? '' : 'Geen enkele kavel voldoet aan de harde eisen van ' +
        d.profiles[p].title + '. De lijst toont de scores zonder de uitsluiting, met de reden.';
    }
    var more = document.getElementById('sf-list-more');
    if (more) more.textContent = rows.length > LIST_MAX ? 'en nog ' + (rows.length - LIST_MAX) +
      ' kavels: zoek op id of naam' : (q && !rows.length ? 'Geen kavel gevonden voor deze zoekterm.' : '');
    if (s.marked !== null) sf.markList(s.marked);
  };

  sf.markList = function (i) {
    sf.state.marked = i;
    var items = document.querySelectorAll('#sf-list .sf-item');
    Array.prototype.forEach.call(items, function (li) {
      li.classList.toggle('sf-item-active', li.getAttribute('data-i') === String(i));
    });
  };

  var RANK_MAX = 300;

  sf.renderRanks = function () {
    var s = sf.state, d = s.data, r = s.res[s.active];
    s.ranks.clearLayers();
    r.order.slice(0, RANK_MAX).forEach(function (i) {
      var c = d.plots.features[i].properties.c;
      L.marker(c, {
        pane: 'sf-ranks', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'sf-rank', html: '<span>' + r.rank[i] + '</span>', iconSize: null })
      }).addTo(s.ranks);
    });
  };

  sf.refresh = function () {
    var s = sf.state, d = s.data, p = s.active;
    s.res[p] = sf.compute(p);
    var byPlot = s.byPlot[p];
    Object.keys(byPlot).forEach(function (i) { byPlot[i].setStyle(sf.plotStyle(d, p, Number(i))); });
    sf.renderList();
    sf.renderRanks();
    var changed = document.getElementById('sf-changed');
    if (changed) changed.hidden = !sf.changed(p);
    s.map.closePopup();
    document.body.setAttribute('data-sf-version', String(++s.version));
  };

  sf.renderControls = function () {
    var s = sf.state, d = s.data, p = s.active, prof = d.profiles[p], lv = s.live[p];
    var box = document.getElementById('sf-weights'), cons = document.getElementById('sf-constraints');
    if (!box || !cons) return;
    box.textContent = '';
    cons.textContent = '';
    var top = Math.max.apply(null, [10].concat(prof.criteria.map(function (c) { return Math.ceil(2 * c.weight); })));
    prof.criteria.forEach(function (c, k) {
      var row = el('label', 'sf-weight');
      var name = el('span', 'sf-weight-name', c.label);
      var out = el('output', 'sf-weight-value');
      var input = document.createElement('input');
      input.type = 'range';
      input.min = '0';
      input.max = String(top);
      input.step = '0.5';
      input.value = String(lv.w[k]);
      input.setAttribute('data-criterion', c.name);
      input.setAttribute('aria-label', 'Gewicht ' + c.label);
      function show() {
        var sum = lv.w.reduce(function (a, b) { return a + b; }, 0);
        out.textContent = sf.fmt(lv.w[k], 'number') + ' (' + sf.fmt(sum > 0 ? lv.w[k] / sum : 0, 'share') + '\u00a0%)';
      }
      input.addEventListener('input', function () {
        lv.w[k] = Number(input.value);
        sf.refresh();
        Array.prototype.forEach.call(box.querySelectorAll('input'), function (x) {
          x.dispatchEvent(new CustomEvent('sf-show'));
        });
      });
      input.addEventListener('sf-show', show);
      show();
      row.appendChild(name);
      row.appendChild(input);
      row.appendChild(out);
      box.appendChild(row);
    });
    if (prof.constraints.length) cons.appendChild(el('h4', null, 'Harde eisen'));
    prof.constraints.forEach(function (c, k) {
      var row = el('label', 'sf-constraint');
      var input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = lv.on[k];
      input.disabled = !c.fails;
      input.setAttribute('data-constraint', String(k));
      input.addEventListener('change', function () { lv.on[k] = input.checked; sf.refresh(); });
      row.appendChild(input);
      var n = c.fails ? c.fails.length : 0;
      row.appendChild(el('span', null, c.reason + ' (' + c.label + ', ' + c.limit + ')' + (c.fails ? ': ' + n + (n === 1 ? ' kavel' : ' kavels') + ' uitgesloten' :
        ': niet te toetsen, geen gegevens in deze run')));
      cons.appendChild(row);
    });
  };

  sf.setProfile = function (p) {
    var s = sf.state, d = s.data;
    if (s.layers[s.active] && s.map.hasLayer(s.layers[s.active])) s.map.removeLayer(s.layers[s.active]);
    s.active = p;
    s.map.closePopup();
    s.layers[p].addTo(s.map);
    var sel = document.getElementById('sf-profile');
    if (sel && sel.value !== String(p)) sel.value = String(p);
    var sum = document.getElementById('sf-profile-summary');
    if (sum) sum.textContent = d.profiles[p].description || '';
    sf.renderControls();
    sf.refresh();
  };

  sf.reset = function () {
    var s = sf.state, prof = s.data.profiles[s.active], lv = s.live[s.active];
    lv.w = prof.criteria.map(function (c) { return c.weight; });
    lv.on = prof.constraints.map(function () { return true; });
    sf.renderControls();
    sf.refresh();
  };

  /* ---------- export the changed profile as TOML ---------- */

  function tomlKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k); }

  function tomlValue(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return isFinite(v) ? String(v) : (v > 0 ? 'inf' : '-inf');
    if (typeof v === 'string') return JSON.stringify(v);
    if (Array.isArray(v)) return '[' + v.map(tomlValue).join(', ') + ']';
    return '{ ' + Object.keys(v).filter(function (k) { return v[k] !== null; }).map(function (k) {
      return tomlKey(k) + ' = ' + tomlValue(v[k]);
    }).join(', ') + ' }';
  }

  function tomlTable(obj) {
    return Object.keys(obj).filter(function (k) { return obj[k] !== null && obj[k] !== undefined; })
      .map(function (k) { return tomlKey(k) + ' = ' + tomlValue(obj[k]); }).join('\n') + '\n';
  }

  sf.exportToml = function () {
    var s = sf.state, p = s.active, prof = s.data.profiles[p], lv = s.live[p];
    var raw = JSON.parse(JSON.stringify(prof.export));
    var w = {};
    prof.criteria.forEach(function (c, k) { w[c.name] = lv.w[k]; });
    raw.criterion.forEach(function (c) { if (c.name in w) c.weight = w[c.name]; });
    raw.constraint = (raw.constraint || []).filter(function (c, k) { return lv.on[k]; });
    var changed = sf.changed(p);
    if (changed) {
      raw.name = raw.name + '_aangepast';
      raw.title = raw.title + ' (aangepast)';
    }
    var head = {}, tables = {}, arrays = {};
    Object.keys(raw).forEach(function (k) {
      var v = raw[k];
      if (Array.isArray(v) && v.length && typeof v[0] === 'object') arrays[k] = v;
      else if (Array.isArray(v) && !v.length) return;
      else if (v && typeof v === 'object' && !Array.isArray(v)) tables[k] = v;
      else head[k] = v;
    });
    var out = '# Profiel ' + prof.name + (changed ? ', aangepast in de kaart' : '') +
      ' (sitefinder). Reken na met: sitefinder run --profile dit-bestand.toml ...\n' + tomlTable(head);
    ['layer', 'constraint', 'criterion'].concat(Object.keys(arrays)).filter(function (k, i, a) {
      return arrays[k] && a.indexOf(k) === i;
    }).forEach(function (k) {
      arrays[k].forEach(function (item) { out += '\n[[' + k + ']]\n' + tomlTable(item); });
    });
    Object.keys(tables).forEach(function (k) { out += '\n[' + k + ']\n' + tomlTable(tables[k]); });
    return { name: raw.name, text: out };
  };

  sf.download = function () {
    var t = sf.exportToml();
    var blob = new Blob([t.text], { type: 'application/toml' });
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = t.name + '.toml';
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  };

  /* ---------- layer control groups and per-layer legends ---------- */

  function groupControl(control) {
    var update = control._update;
    control._update = function () {
      var r = update.apply(this, arguments);
      var list = this._overlaysList;
      if (!list) return r;
      var seen = {};
      Array.prototype.forEach.call(list.querySelectorAll('.sf-group'), function (g) {
        var name = g.getAttribute('data-group');
        var label = g.closest('label');
        if (!seen[name] && label) {
          seen[name] = true;
          list.insertBefore(el('div', 'sf-group-head', name), label);
        }
      });
      if (this._baseLayersList && this._baseLayersList.children.length) {
        this._baseLayersList.insertBefore(el('div', 'sf-group-head', 'Achtergrond'),
                                          this._baseLayersList.firstChild);
      }
      return r;
    };
    control._update();
  }

  function legendVisibility(map, keys) {
    var on = {};
    function apply() {
      on = {};
      keys.forEach(function (kv) { if (map.hasLayer(kv[0])) on[kv[1]] = true; });
      Array.prototype.forEach.call(document.querySelectorAll('#sf-legend .sf-leg'), function (sec) {
        var key = sec.getAttribute('data-layer');
        sec.style.display = (!key || on[key]) ? '' : 'none';
      });
    }
    map.on('overlayadd overlayremove', apply);
    apply();
  }

  /* The offline background: one canvas path per kind, below every other layer. */
  sf.basemapLayer = function (d) {
    var b = d.basemap, group = L.layerGroup();
    if (!b) return group;
    var pane = 'sf-base';
    group.on('add', function () {
      if (group._built) return;
      group._built = true;
      // Drawn after the page is ready: the panel and plots do not wait for thousands of streets.
      setTimeout(function () { build(group._map); }, 0);
    });
    function build(map) {
      if (!map) return;
      if (!map.getPane(pane)) map.createPane(pane).style.zIndex = 150;
      var renderer = L.canvas({ pane: pane, padding: 0.3 });
      ['green', 'water', 'building'].forEach(function (k) {
        var st = b.style[k], polys = b.areas[k] || [];
        if (!polys.length) return;
        L.polygon(polys.map(function (rings) { return rings.map(sf.decode); }),
                  { pane: pane, renderer: renderer, interactive: false, color: st.color, weight: 0.7,
                    fillColor: st.fill, fillOpacity: 1 }).addTo(group);
      });
      ['waterline', 'path', 'local', 'secondary', 'major'].forEach(function (k) {
        var st = b.style[k], lines = b.lines[k] || [];
        if (!lines.length) return;
        L.polyline(lines.map(sf.decode), { pane: pane, renderer: renderer, interactive: false,
                                           color: st.color, weight: st.weight, opacity: 1,
                                           lineCap: 'round', lineJoin: 'round' }).addTo(group);
      });
      document.body.setAttribute('data-sf-basemap', '1');
    }
    return group;
  };

  sf.setup = function (map, d, o) {
    var s = sf.state;
    s.map = map;
    s.data = d;
    s.routes = o.routes || null;
    s.active = 0;
    s.version = 0;
    s.marked = null;
    map.createPane('sf-plots').style.zIndex = 610;  // above amenity clusters (markerPane 600)
    map.createPane('sf-ranks').style.zIndex = 620;
    s.plotRenderer = L.svg({ pane: 'sf-plots' });
    s.ranks = L.layerGroup().addTo(map);
    sf.initLive(d);
    d.profiles.forEach(function (prof, p) { sf.plotLayer(d, p); });
    L.control.scale({ imperial: false, metric: true, position: 'bottomright' }).addTo(map);
    var legendEl = document.getElementById('sf-legend');
    if (legendEl) {
      var legend = L.control({ position: 'bottomright' });
      legend.onAdd = function () {
        L.DomEvent.disableClickPropagation(legendEl);
        L.DomEvent.disableScrollPropagation(legendEl);
        legendEl.style.display = '';
        return legendEl;
      };
      legend.addTo(map);
      if (sf.isPhone()) legendEl.querySelector('details').open = false;
    }
    var noticeEl = document.getElementById('sf-notice');
    if (noticeEl) {
      var notice = L.control({ position: 'topright' });
      notice.onAdd = function () { return noticeEl; };
      notice.addTo(map);
    }
    if (o.control) groupControl(o.control);
    legendVisibility(map, o.layerKeys || []);
    if (map.attributionControl) map.attributionControl.addAttribution(d.attribution);
    var warned = false;
    (o.tiles || []).forEach(function (t) {
      t.on('tileerror', function () {
        if (warned) return;
        warned = true;
        sf.notice('Achtergrondkaart niet bereikbaar (geen internet?). Kies "Eigen kaart uit de ' +
                  'OSM-gegevens (offline)" in de lagenlijst; de kaart werkt verder.');
      });
    });
    var sel = document.getElementById('sf-profile');
    if (sel) {
      d.profiles.forEach(function (prof, p) {
        var opt = el('option', null, prof.title);
        opt.value = String(p);
        sel.appendChild(opt);
      });
      sel.addEventListener('change', function () { sf.setProfile(Number(sel.value)); });
    }
    var search = document.getElementById('sf-search');
    if (search) {
      search.addEventListener('input', sf.renderList);
      search.addEventListener('keydown', function (e) {
        if (e.key !== 'Enter') return;
        var first = document.querySelector('#sf-list .sf-item');
        if (first) sf.focusPlot(Number(first.getAttribute('data-i')));
      });
    }
    var reset = document.getElementById('sf-reset');
    if (reset) reset.addEventListener('click', sf.reset);
    var exp = document.getElementById('sf-export');
    if (exp) exp.addEventListener('click', sf.download);
    var drawer = document.getElementById('sf-drawer');
    if (drawer) {
      drawer.addEventListener('click', function () {
        sf.drawer(!document.getElementById('sf-panel').classList.contains('sf-open'));
      });
    }
    var panel = document.getElementById('sf-panel');
    if (panel) {
      L.DomEvent.disableScrollPropagation(panel);
      sf.drawer(!sf.isPhone());
    }
    map.invalidateSize();
    sf.setProfile(0);
    document.body.setAttribute('data-sf-ready', '1');
  };

  window.sitefinder = sf;
})();
