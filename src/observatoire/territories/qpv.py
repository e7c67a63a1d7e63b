"""Quartiers prioritaires de la politique de la ville (QPV): codes, generations, names.

Two generations coexist in producers' files: the QPV of 2015 (décret 2014-1750, codes
``QP`` + département on three characters + three digits: ``QP093005``) and those of 2024
(décret 2023-1314, codes ``QN`` + département + two digits + a letter: ``QN09301M``; the
overseas QPV were renewed on 1 January 2025). A QPV belongs to one département and may span
several communes. The QPV of one generation in one département make the *ensemble des QPV* of
the département (``QPV2015-93``), the aggregate the politique de la ville compares a quartier
with. Pure functions.
"""

from __future__ import annotations

import re

from observatoire.errors import InvalidValueError
from observatoire.territories.names import of_place

__all__ = [
    "GENERATIONS",
    "communes_of_label",
    "departement_of",
    "ensemble_code",
    "ensemble_name",
    "generation",
    "is_qpv_code",
    "qpv_name",
]

GENERATIONS = {"QP": "2015", "QN": "2024"}
_CODE = re.compile(r"^(?P<prefix>QP|QN)(?P<dep>\d{3}|02[AB])(?P<rest>\d{3}|\d{2}[A-Z])$")


def is_qpv_code(text: str) -> bool:
    """Whether ``text`` reads as a QPV code of a known generation.

    >>> is_qpv_code("QP093005"), is_qpv_code("QN09301M"), is_qpv_code("QP93005")
    (True, True, False)
    """
    match = _CODE.match(str(text).strip().upper())
    if match is None:
        return False
    return (match["prefix"] == "QP") == match["rest"].isdigit()


def _parts(code: str) -> re.Match[str]:
    match = _CODE.match(code)
    if match is None or not is_qpv_code(code):
        raise InvalidValueError(
            f"code QPV « {code} » d'une génération inconnue (attendu QP + département sur 3 "
            "caractères + 3 chiffres pour 2015, ex. QP093005 ; QN + département + 2 chiffres "
            "+ une lettre pour 2024, ex. QN09301M)"
        )
    return match


def generation(code: str) -> str:
    """The generation of a QPV: « 2015 » or « 2024 ».

    >>> generation("QP093005"), generation("QN09301M")
    ('2015', '2024')
    """
    return GENERATIONS[_parts(code)["prefix"]]


def departement_of(code: str) -> str:
    """The département a QPV lies in.

    >>> departement_of("QP093005"), departement_of("QP02A001"), departement_of("QP974049")
    ('93', '2A', '974')
    """
    dep = _parts(code)["dep"]
    return dep[1:] if dep.startswith("0") else dep


def ensemble_code(code: str) -> str:
    """The code of the ensemble of the QPV of ``code``'s generation in its département.

    >>> ensemble_code("QP093005"), ensemble_code("QN97401A")
    ('QPV2015-93', 'QPV2024-974')
    """
    return f"QPV{generation(code)}-{departement_of(code)}"


def ensemble_name(generation_year: str, departement: str, tncc: str | None) -> str:
    """« Ensemble des QPV 2015 de la Seine-Saint-Denis ».

    >>> ensemble_name("2015", "Seine-Saint-Denis", "3")
    'Ensemble des QPV 2015 de la Seine-Saint-Denis'
    """
    return f"Ensemble des QPV {generation_year} {of_place(departement, 'departement', tncc)}"


def communes_of_label(label: str) -> list[str]:
    """The commune names of a QPV file's commune label (« Bobigny, Drancy »).

    >>> communes_of_label("Aubervilliers, Bobigny, Pantin")
    ['Aubervilliers', 'Bobigny', 'Pantin']
    """
    return [part.strip() for part in str(label).split(",") if part.strip()]


def qpv_name(code: str, communes: list[str]) -> str:
    """The name given to a QPV known only from a data file (no list of names imported):
    its code and its communes.

    >>> qpv_name("QP093005", ["Bobigny", "Drancy"])
    'QP093005 – Bobigny, Drancy'
    """
    return f"{code} – {', '.join(communes)}" if communes else code
