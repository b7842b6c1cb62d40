/* sitefinder map: plot layers, popups, walking routes and legend, built from one data
 * block (script#sf-data) so that thousands of plots cost one copy of their numbers.
 * Written by sitefinder/render/map.py; no external libraries besides Leaflet and
 * Leaflet.markercluster (both inlined by the page). */
(function () {
  'use strict';
  var sf = { state: { active: 0, layers: [], byPlot: [], routes: null, map: null, data: null } };

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

  sf.plotStyle = function (d, prof, i) {
    var ex = sf.val(d, prof.excluded, i);
    if (ex) {
      return { fillColor: d.style.excluded_colour, fillOpacity: 0.45, color: '#424242',
               weight: 1.5, dashArray: '4 3' };
    }
    return { fillColor: sf.scoreColour(d, sf.val(d, prof.score, i)), fillOpacity: 0.8,
             color: '#212121', weight: 1 };
  };

  sf.tooltip = function (d, prof, i) {
    var f = d.plots.features[i].properties;
    var ex = sf.val(d, prof.excluded, i);
    var head = '<b>Kavel ' + sf.esc(f.label) + '</b><br>';
    if (ex) return head + '<span class="sf-excluded">Uitgesloten: ' + sf.esc(ex) + '</span>';
    return head + 'Score ' + sf.fmt(sf.val(d, prof.score, i), 'points') + ' van 100, rang ' +
      sf.fmt(sf.val(d, prof.rank, i), 'rank') + ' van ' + prof.n_ok;
  };

  function breakdown(d, prof, i) {
    var widest = 0;
    prof.criteria.forEach(function (c) { widest = Math.max(widest, c.max); });
    var rows = prof.criteria.map(function (c) {
      var pts = sf.val(d, c.col, i) || 0;
      var track = widest > 0 ? Math.round(110 * c.max / widest) : 0;
      var fill = c.max > 0 ? Math.max(0, Math.min(100, 100 * pts / c.max)) : 0;
      return '<tr><td>' + sf.esc(c.label) + '</td>' +
        '<td class="sf-num">' + sf.withUnit(d, c.indicator, sf.val(d, c.indicator, i)) + '</td>' +
        '<td><span class="sf-bar" style="width:' + track + 'px" title="' +
        sf.fmt(pts, 'points') + ' van ' + sf.fmt(c.max, 'points') + ' punten">' +
        '<span style="width:' + fill.toFixed(1) + '%"></span></span></td>' +
        '<td class="sf-num">' + sf.fmt(pts, 'points') + '\u00a0/\u00a0' + sf.fmt(c.max, 'points') +
        '</td></tr>';
    });
    var skipped = prof.skipped.length ?
      '<p class="sf-note">Niet meegeteld (geen gegevens in deze run): ' +
      prof.skipped.map(sf.esc).join('; ') + '</p>' : '';
    return '<table class="sf-breakdown"><thead><tr><th>Criterium</th><th>Waarde</th>' +
      '<th colspan="2">Bijdrage (punten)</th></tr></thead><tbody>' + rows.join('') +
      '</tbody></table>' + skipped;
  }

  function table(d, keys, i, cls) {
    var rows = keys.map(function (k) {
      return '<tr><td>' + sf.esc(d.meta[k].label) + '</td><td class="sf-num">' +
        sf.withUnit(d, k, sf.val(d, k, i)) + '</td></tr>';
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
      return '<li><span class="sf-swatch" style="background:' + cat.colour + '"></span>' + label +
        ': <b>' + sf.fmt(x[0], 'm') + '\u00a0m</b> lopen' + (x[1] ? ' (' + sf.esc(x[1]) + ')' : '') +
        '</li>';
    });
    return '<h5>Looproute naar het dichtstbijzijnde (op de kaart getekend)</h5><ul class="sf-routes">' +
      items.join('') + '</ul>';
  }

  sf.popup = function (d, p, i) {
    var prof = d.profiles[p];
    var f = d.plots.features[i].properties;
    var ex = sf.val(d, prof.excluded, i);
    var h = '<div class="sf-popup" data-plot="' + sf.esc(f.id) + '" data-profile="' +
      sf.esc(prof.name) + '"><h4>Kavel ' + sf.esc(f.label) + '</h4>' +
      '<div class="sf-prof">' + sf.esc(prof.title) + '</div>';
    if (ex) {
      h += '<p class="sf-excluded"><b>Uitgesloten:</b> ' + sf.esc(ex) + '</p>' +
        '<p>Score zonder de uitsluiting: ' + sf.fmt(sf.val(d, prof.score, i), 'points') + ' van 100</p>';
    } else {
      h += '<p class="sf-score">Score <b>' + sf.fmt(sf.val(d, prof.score, i), 'points') +
        '</b> van 100 &middot; rang <b>' + sf.fmt(sf.val(d, prof.rank, i), 'rank') + '</b> van ' +
        prof.n_ok + ' geschikte kavels</p>';
    }
    h += breakdown(d, prof, i);
    if (prof.extras.length) h += '<h5>Gevoeligheid</h5>' + table(d, prof.extras, i, 'sf-extra');
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
    var prof = d.profiles[p];
    var byPlot = {};
    sf.state.byPlot[p] = byPlot;
    var layer = L.geoJSON(d.plots, {
      style: function (f) { return sf.plotStyle(d, prof, f.properties.i); },
      onEachFeature: function (f, lyr) {
        var i = f.properties.i;
        byPlot[i] = lyr;
        lyr.bindTooltip(function () { return sf.tooltip(d, prof, i); }, { sticky: true });
        lyr.bindPopup(function () { return sf.popup(d, p, i); },
                      { maxWidth: 460, minWidth: 320, maxHeight: 520, autoPanPadding: [30, 30] });
        lyr.on('click', function () { sf.showRoutes(i); });
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
    s.map.fitBounds(lyr.getBounds(), { maxZoom: 17, padding: [40, 40] });
    lyr.openPopup();
    sf.showRoutes(i);
  };

  sf.notice = function (text) {
    var el = document.getElementById('sf-notice');
    if (!el) return;
    el.textContent = text;
    el.style.display = 'block';
  };

  sf.updateLegend = function () {
    var el = document.getElementById('sf-active-profile');
    var prof = sf.state.data.profiles[sf.state.active];
    if (el && prof) el.textContent = prof.title;
  };

  sf.setup = function (map, d, o) {
    var s = sf.state;
    s.map = map;
    s.data = d;
    s.routes = o.routes || null;
    s.active = 0;
    o.profiles.forEach(function (lyr, k) { if (map.hasLayer(lyr)) s.active = k; });
    map.on('baselayerchange', function (e) {
      var k = o.profiles.indexOf(e.layer);
      if (k >= 0) {
        s.active = k;
        map.closePopup();
        sf.updateLegend();
      }
    });
    var legendEl = document.getElementById('sf-legend');
    if (legendEl) {
      var legend = L.control({ position: 'bottomleft' });
      legend.onAdd = function () {
        L.DomEvent.disableClickPropagation(legendEl);
        L.DomEvent.disableScrollPropagation(legendEl);
        legendEl.style.display = '';
        return legendEl;
      };
      legend.addTo(map);
    }
    var noticeEl = document.getElementById('sf-notice');
    if (noticeEl) {
      var notice = L.control({ position: 'topright' });
      notice.onAdd = function () { return noticeEl; };
      notice.addTo(map);
    }
    sf.updateLegend();
    if (map.attributionControl) map.attributionControl.addAttribution(d.attribution);
    if (o.tiles) {
      var warned = false;
      o.tiles.on('tileerror', function () {
        if (warned) return;
        warned = true;
        sf.notice('Achtergrondkaart niet bereikbaar (geen internet?). ' +
                  'De kaart werkt zonder achtergrond verder.');
      });
    }
    if (o.index) {
      o.index.eachLayer(function (lyr) {  // labels come from the data block, not the template
        var p = lyr.feature.properties;
        p.label = d.plots.features[p.i].properties.label;
      });
      if (map.hasLayer(o.index)) map.removeLayer(o.index);  // leaflet-search adds it
    }
    if (o.search) {
      o.search.on('search:locationfound', function (e) {
        if (e.layer && e.layer.feature) sf.focusPlot(e.layer.feature.properties.i);
      });
    }
    document.body.setAttribute('data-sf-ready', '1');
  };

  window.sitefinder = sf;
})();
