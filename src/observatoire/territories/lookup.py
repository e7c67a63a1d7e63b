"""Finding territories by name, as producers who publish names without codes write them.

INSEE's Melodi labelled exports and the QPV files of the ANCT name their territories
(« Communauté d'agglomération Communauté Paris-Saclay », « Saint-Aubin », « Bobigny,
Drancy »). A name is looked up within its level, and within the territories the file covers:
there are ten Saint-Aubin in France, one in the Paris-Saclay agglomeration. Case, accents,
hyphens, apostrophes and a leading article are ignored; EPCI abbreviations (« CA », « CC »,
« CU ») are read in full. Pure: the places are given.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from observatoire.territories.names import full_epci_name
from observatoire.text import fold

__all__ = ["Found", "NameIndex", "Place", "name_key"]

_ARTICLE = re.compile(r"^(l'|le |la |les |aux |las |los )")


def name_key(text: str) -> str:
    """The key a name is looked up by.

    >>> name_key("L'Île-Saint-Denis") == name_key("ile saint denis")
    True
    >>> name_key("Vandœuvre-lès-Nancy") == name_key("Vandoeuvre-lès-Nancy")
    True
    >>> name_key("CA Communauté Paris-Saclay") == name_key(
    ...     "Communauté d'agglomération Communauté Paris-Saclay")
    True
    """
    text = full_epci_name(str(text).strip().replace("’", "'"))
    folded = fold(text).replace("œ", "oe").replace("æ", "ae").replace("-", " ")
    return _ARTICLE.sub("", " ".join(folded.split()))


@dataclass(frozen=True)
class Place:
    """A territory that may be named: its level, code, name, and the territories it lies in
    (``"departement:93"``, ``"epci:200056232"``). ``former``: a former name (a renamed
    commune's, a commune déléguée's), found only when no current name matches."""

    level: str
    code: str
    name: str
    within: frozenset[str] = frozenset()
    former: bool = False
    # a former commune now part of a larger one (its own code, or the current one when it
    # kept it) rather than renamed; ``current``: the commune it belongs to today
    part: bool = False
    current: str = ""


@dataclass
class Found:
    """The answer for one name: the code, or why there is none (with the candidates)."""

    code: str | None
    reason: str = ""
    candidates: list[Place] = field(default_factory=list)
    former: Place | None = None  # the code was found through a former name

    def why(self, name: str) -> str:
        """The reason in full, with up to five candidates."""
        if not self.candidates:
            return self.reason
        shown = ", ".join(f"{c.name} ({c.code})" for c in self.candidates[:5])
        more = f" et {len(self.candidates) - 5} autres" if len(self.candidates) > 5 else ""
        return f"{self.reason} : {shown}{more}"


class NameIndex:
    """Places by level and name key.

    >>> index = NameIndex([
    ...     Place("commune", "91538", "Saint-Aubin", frozenset({"departement:91"})),
    ...     Place("commune", "21541", "Saint-Aubin", frozenset({"departement:21"}))])
    >>> index.find("Saint-Aubin", "commune").reason
    'nom ambigu'
    >>> index.find("Saint-Aubin", "commune", within={"departement:91"}).code
    '91538'
    >>> index.find("Saint-Aubin-sur-Mer", "commune").reason
    'nom inconnu'
    """

    def __init__(self, places: Iterable[Place]) -> None:
        self._by_key: dict[tuple[str, str], list[Place]] = {}
        for place in places:
            self._by_key.setdefault((place.level, name_key(place.name)), []).append(place)

    def find(self, name: str, level: str, *, within: Collection[str] = ()) -> Found:
        """The code of the territory of ``level`` called ``name``: the only one of that name,
        else the only one inside ``within`` (any of those territories); a former name counts
        only when no current name matches (inside ``within`` when it is given)."""
        found = self._by_key.get((level, name_key(name)), [])
        current = [p for p in found if not p.former]
        formers = [p for p in found if p.former]
        if within:  # a former name inside the file's territories, not a namesake elsewhere
            formers = [p for p in formers if p.within & set(within)]
        in_scope = any(p.within & set(within) for p in current)
        chosen = _single(current, within)
        if chosen is not None and (in_scope or not within or not formers):
            return Found(chosen.code)
        if not current or (within and not in_scope):  # « Grigny » renamed in the Rhône
            former = _single(formers, ())
            if former is not None:
                return Found(former.code, former=former)
            if chosen is not None:
                return Found(chosen.code)
        if not found:
            return Found(None, "nom inconnu")
        candidates = sorted(current or found, key=_by_code)
        if within and not any(p.within & set(within) for p in found):
            return Found(None, "nom hors du territoire du fichier", candidates=candidates)
        return Found(None, "nom ambigu", candidates=candidates)

    def namesakes(self, name: str, level: str) -> list[Place]:
        """Every place of ``level`` called ``name``, current and former."""
        return list(self._by_key.get((level, name_key(name)), []))


def _by_code(place: Place) -> str:
    return place.code


def _single(places: list[Place], within: Collection[str]) -> Place | None:
    codes = {p.code for p in places}
    if len(codes) == 1:
        return places[0]
    if within:
        inside = {p.code: p for p in places if p.within & set(within)}
        if len(inside) == 1:
            return next(iter(inside.values()))
    return None
