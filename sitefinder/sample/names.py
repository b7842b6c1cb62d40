"""Dutch-sounding names for the synthetic town: themed neighbourhoods and streets.

Dutch new towns name the streets of a neighbourhood after one theme (Almere has
a Bloemenbuurt, a Muziekwijk, a Stripheldenbuurt). Every neighbourhood of the
sample town gets a theme; its streets combine a theme word with a street suffix.
All names are made up for the synthetic town; any match with a real street is
a coincidence.
"""

from __future__ import annotations

import numpy as np

#: Name of the fictional town. It does not exist; the data are synthetic.
TOWN_NAME = "Nieuwstad"


def _words(text: str) -> tuple[str, ...]:
    """Split a comma-separated word list."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


#: Theme of a neighbourhood: (neighbourhood name, theme words used for its streets).
THEMES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (name, _words(words))
    for name, words in (
        (
            "Bloemenbuurt",
            "Tulp, Roos, Lelie, Iris, Narcis, Krokus, Dahlia, Aster, Anjer, Viooltje, Margriet, Papaver, Klaproos, Hyacint",
        ),
        (
            "Bomenwijk",
            "Linde, Eiken, Beuken, Berken, Essen, Iepen, Wilgen, Populier, Kastanje, Esdoorn, Elzen, Platanen, Lariks, Hazelaar",
        ),
        (
            "Vogelbuurt",
            "Merel, Lijster, Kievit, Grutto, Reiger, Zwaluw, Mees, Specht, Wielewaal, Tureluur, Roerdomp, Fuut, Kwartel, Vink",
        ),
        (
            "Schildersbuurt",
            "Rembrandt, Vermeer, Steen, Hals, Mondriaan, Breitner, Israels, Mesdag, Toorop, Appel, Escher, Ruisdael, Hobbema, Avercamp",
        ),
        (
            "Muziekwijk",
            "Sonate, Cantate, Menuet, Fuga, Prelude, Rondo, Ballade, Etude, Serenade, Bolero, Polka, Wals, Hymne, Canon",
        ),
        (
            "Sterrenkwartier",
            "Orion, Pegasus, Andromeda, Cassiopeia, Lier, Draak, Zwaan, Arend, Poolster, Sirius, Vega, Altair, Capella, Wega",
        ),
        (
            "Rivierenbuurt",
            "Rijn, Maas, Waal, IJssel, Vecht, Amstel, Dommel, Dinkel, Regge, Berkel, Linge, Eem, Hunze, Lek",
        ),
        (
            "Eilandenwijk",
            "Texel, Vlieland, Ameland, Urk, Marken, Pampus, Tiengemeten, Schokland, Wieringen, Goeree, Tholen, Voorne, Walcheren, Schouwen",
        ),
        (
            "Ambachtenbuurt",
            "Smeden, Kuipers, Wevers, Molenaars, Bakkers, Timmerlieden, Touwslagers, Zadelmakers, Kaarsenmakers, Pottenbakkers, Glazeniers, Leidekkers, Lijndraaiers, Zeilmakers",
        ),
        (
            "Edelsteenbuurt",
            "Robijn, Saffier, Smaragd, Diamant, Parel, Opaal, Jade, Topaas, Granaat, Agaat, Amber, Kristal, Onyx, Jaspis",
        ),
        (
            "Schrijversbuurt",
            "Vondel, Multatuli, Couperus, Hooft, Bredero, Gorter, Nijhoff, Bordewijk, Vestdijk, Hermans, Reve, Mulisch, Wolkers, Schmidt",
        ),
        (
            "Fruitbuurt",
            "Appel, Peren, Kersen, Pruimen, Bessen, Druiven, Mispel, Kweepeer, Walnoot, Vijgen, Bramen, Frambozen, Aardbeien, Abrikozen",
        ),
        (
            "Windstrekenwijk",
            "Passaat, Moesson, Bries, Zefier, Sirocco, Mistral, Bora, Storm, Orkaan, Tornado, Föhn, Zuidwester, Noorder, Ooster",
        ),
        (
            "Dijkenbuurt",
            "Zeedijk, Slaperdijk, Kanaaldijk, Bandijk, Ringdijk, Waterkering, Kade, Sluis, Gemaal, Polder, Boezem, Kreek, Geul, Wetering",
        ),
    )
)

#: Street-name suffixes, weighted towards the common ones.
STREET_SUFFIXES: tuple[str, ...] = _words(
    "straat, straat, straat, laan, laan, weg, hof, pad, singel, erf, dreef, kade, plantsoen, gracht"
)

#: Names for the main roads (wegen) of the arterial grid.
ARTERIAL_NAMES: tuple[str, ...] = _words(
    "Hoofdweg, Polderweg, Spoordreef, Waterwijkweg, Hollandsedreef, Flevoweg, Zuiderzeeweg, "
    "Veluwedreef, Stadsring, Lagedijk, Hogeweg, Randweg, Buitenring, Havendreef, Oostvaardersweg, "
    "Gooiseweg, Eemweg, Gooimeerdreef, Markerweg, Kustweg, Meerdreef, Vaartweg, Tochtweg, Knardijk, "
    "Larserweg, Biddingweg, Ganzenweg, Elandweg, Wisentweg, Vossenweg, Bosweg, Hardingweg"
)

#: Surnames for GP practices and other named facilities.
SURNAMES: tuple[str, ...] = _words(
    "De Vries, Jansen, Bakker, Visser, Smit, Meijer, De Boer, Mulder, De Groot, Bos, Vos, Peters, "
    "Hendriks, Van Leeuwen, Dekker, Brouwer, De Wit, Dijkstra, Smits, De Graaf, Van der Meer, Van der "
    "Linden, Kok, Jacobs, De Haan, Vermeulen, Van den Berg, Van Dijk, Schouten, Hoekstra"
)

#: Names of primary schools (basisscholen).
SCHOOL_NAMES: tuple[str, ...] = _words(
    "De Regenboog, De Zonnewijzer, Het Kompas, De Vlinder, De Wegwijzer, De Klimop, Het Palet, De "
    "Polderster, De Windroos, Het Anker, De Bron, De Meander, De Horizon, Het Mozaïek, De Ontdekking, "
    "De Boomgaard"
)

#: Supermarket chains found in the Netherlands (brand names as mapped in OSM).
SUPERMARKET_BRANDS: tuple[str, ...] = _words("Albert Heijn, Jumbo, Lidl, Aldi, Plus, Dirk, Vomar, Coop, Spar")


def neighbourhood_names(count: int, rng: np.random.Generator) -> list[tuple[str, tuple[str, ...]]]:
    """Pick a theme for each of ``count`` neighbourhoods.

    Parameters
    ----------
    count : int
        Number of neighbourhoods.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    list of (str, tuple of str)
        Neighbourhood name and theme words; names are unique (themes repeat with a
        compass suffix once all themes are used).
    """
    order = rng.permutation(len(THEMES))
    suffixes = ("", " Noord", " Zuid", " Oost", " West", " Midden", " Buiten", " Haven")
    out: list[tuple[str, tuple[str, ...]]] = []
    for k in range(count):
        name, words = THEMES[int(order[k % len(THEMES)])]
        round_ = k // len(THEMES)
        suffix = suffixes[round_] if round_ < len(suffixes) else f" {round_}"
        out.append((name + suffix, words))
    return out


class StreetNamer:
    """Hand out street names from a theme without repeating one.

    Parameters
    ----------
    words : tuple of str
        Theme words.
    rng : numpy.random.Generator
        Random source.
    """

    def __init__(self, words: tuple[str, ...], rng: np.random.Generator) -> None:
        self._words = [words[int(i)] for i in rng.permutation(len(words))]
        self._suffixes = [STREET_SUFFIXES[int(i)] for i in rng.permutation(len(STREET_SUFFIXES))]
        self._count = 0
        self._used: set[str] = set()

    def next(self) -> str:
        """Return a new street name.

        Returns
        -------
        str
            A name such as ``"Tulpstraat"``; unique within this namer.
        """
        while True:
            k = self._count
            self._count += 1
            word = self._words[k % len(self._words)]
            suffix = self._suffixes[(k // len(self._words) + k) % len(self._suffixes)]
            name = word + suffix
            lap = k // (len(self._words) * len(self._suffixes))
            if lap:
                name = f"{name} {lap + 1}"
            if name not in self._used:
                self._used.add(name)
                return name
