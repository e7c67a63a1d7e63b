"""Password policy: long enough, and not easy to guess.

A password is refused when it is shorter than :data:`MIN_PASSWORD` characters, when it contains
the local part of the account's e-mail address or the observatory's name, or when zxcvbn
(Dropbox's estimator: frequency lists of common passwords, names and words, keyboard walks,
repeats, sequences, dates) scores it below :data:`MIN_SCORE`, with :data:`FRENCH_WORDS` (the
French passwords and words that its English-centred lists miss) counted as common words. The
message says why, in French.

>>> check_password("une girafe mange des clémentines", email="camille@cd93.fr")
>>> check_password("abcabcabcabc")
Traceback (most recent call last):
...
observatoire.errors.InputError: mot de passe trop facile à deviner : il répète les mêmes \
caractères ; préférez une phrase de plusieurs mots sans rapport entre eux
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from observatoire.errors import InputError
from observatoire.text import alnum

__all__ = ["FRENCH_WORDS", "MIN_PASSWORD", "MIN_SCORE", "PLACES", "check_password"]

MIN_PASSWORD = 12
# zxcvbn's scale: 0 (< 10^3 guesses) … 3 (< 10^10: safely unguessable online) … 4.
MIN_SCORE = 3
# Only the first characters are estimated: zxcvbn's matching grows faster than the length.
ESTIMATED_LENGTH = 100

# Common French passwords and words (lower case, without accents), in the order of their
# frequency as far as the published leaks tell: zxcvbn ranks them as it ranks its own lists.
FRENCH_WORDS = (
    "azerty",
    "motdepasse",
    "soleil",
    "bonjour",
    "marseille",
    "doudou",
    "loulou",
    "chouchou",
    "coucou",
    "jetaime",
    "nicolas",
    "camille",
    "julien",
    "princesse",
    "chocolat",
    "amour",
    "bisous",
    "france",
    "paris",
    "toulouse",
    "lyon",
    "lille",
    "nantes",
    "bordeaux",
    "olympique",
    "allezlom",
    "liberte",
    "bienvenue",
    "secret",
    "confidentiel",
    "utilisateur",
    "administrateur",
    "connexion",
    "observatoire",
    "departement",
    "mairie",
    "famille",
    "maison",
    "vacances",
    "printemps",
    "automne",
    "hiver",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "papa",
    "maman",
    "bebe",
    "chien",
    "chat",
    "cheval",
    "football",
    "rugby",
)

# The names of the départements (lower case, letters only): a territory's name padded with its
# number (« Seinesaintdenis93 ») is among the first guesses against an observatory's accounts.
PLACES = frozenset(
    (
        "ain",
        "aisne",
        "allier",
        "alpesdehauteprovence",
        "alpesmaritimes",
        "ardeche",
        "ardennes",
        "ariege",
        "aube",
        "aude",
        "aveyron",
        "basrhin",
        "bouchesdurhone",
        "calvados",
        "cantal",
        "charente",
        "charentemaritime",
        "cher",
        "correze",
        "corsedusud",
        "cotedor",
        "cotesdarmor",
        "creuse",
        "deuxsevres",
        "dordogne",
        "doubs",
        "drome",
        "essonne",
        "eure",
        "eureetloir",
        "finistere",
        "gard",
        "gers",
        "gironde",
        "guadeloupe",
        "guyane",
        "hautecorse",
        "hautegaronne",
        "hauteloire",
        "hautemarne",
        "hautesalpes",
        "hautesaone",
        "hautesavoie",
        "hautespyrenees",
        "hautevienne",
        "hautrhin",
        "hautsdeseine",
        "herault",
        "illeetvilaine",
        "indre",
        "indreetloire",
        "isere",
        "jura",
        "landes",
        "lareunion",
        "loire",
        "loireatlantique",
        "loiret",
        "loiretcher",
        "lot",
        "lotetgaronne",
        "lozere",
        "maineetloire",
        "manche",
        "marne",
        "martinique",
        "mayenne",
        "mayotte",
        "meurtheetmoselle",
        "meuse",
        "morbihan",
        "moselle",
        "nievre",
        "nord",
        "oise",
        "orne",
        "paris",
        "pasdecalais",
        "puydedome",
        "pyreneesatlantiques",
        "pyreneesorientales",
        "rhone",
        "saoneetloire",
        "sarthe",
        "savoie",
        "seineetmarne",
        "seinemaritime",
        "seinesaintdenis",
        "somme",
        "tarn",
        "tarnetgaronne",
        "territoiredebelfort",
        "valdemarne",
        "valdoise",
        "var",
        "vaucluse",
        "vendee",
        "vienne",
        "vosges",
        "yonne",
        "yvelines",
    )
)

# Why a password is easy to guess, by zxcvbn's name of the pattern that covers most of it.
_REASONS = {
    "repeat": "il répète les mêmes caractères",
    "sequence": "c'est une suite de caractères (abcd, 1234…)",
    "spatial": "c'est une suite de touches voisines du clavier (azerty…)",
    "dictionary": "il repose sur un mot de passe courant ou un mot du dictionnaire",
    "date": "il repose sur une date",
    "regex": "il repose sur une année",
    "bruteforce": "il est trop court ou trop simple",
}


def check_password(password: str, *, email: str = "", observatory: str = "") -> None:
    """Refuse (:class:`InputError`, saying why) a password that is too short, that contains
    the local part of ``email`` or the name ``observatory``, or that is easy to guess."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")
    plain = alnum(password)
    local = alnum(email.partition("@")[0])
    if len(local) >= 3 and local in plain:
        raise InputError("mot de passe refusé : il contient l'adresse électronique du compte")
    name = alnum(observatory)
    if len(name) >= 3 and name in plain:
        raise InputError("mot de passe refusé : il contient le nom de l'observatoire")
    personal = [w for w in _words(email.partition("@")[0]) + _words(observatory) if len(w) >= 3]
    inputs = [*FRENCH_WORDS, *personal]
    core = "".join(c for c in plain if c.isalpha())
    padded = any(not (c.isalpha() or c.isspace()) for c in password)
    if core and padded and _one_word(core, inputs):  # one word, padded with digits or symbols
        raise InputError(
            "mot de passe trop facile à deviner : c'est un mot courant complété de chiffres ou "
            "de symboles (Soleil2024!) ; préférez une phrase de plusieurs mots sans rapport "
            "entre eux"
        )
    estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=inputs)
    if int(estimate["score"]) >= MIN_SCORE:
        return
    matches = [m for m in estimate["sequence"] if m["pattern"] != "bruteforce"]
    widest = max(matches, key=lambda m: len(m["token"]), default={"pattern": "bruteforce"})
    reason = _REASONS.get(str(widest["pattern"]), _REASONS["bruteforce"])
    raise InputError(
        f"mot de passe trop facile à deviner : {reason} ; "
        "préférez une phrase de plusieurs mots sans rapport entre eux"
    )


def _one_word(core: str, inputs: list[str]) -> bool:
    """Whether ``core`` (the letters of a password) is one word the guessers try first: a
    common password or word, a keyboard walk, or names taken from the account (``inputs``)
    put together (``seinesaintdenis``)."""
    if core in FRENCH_WORDS or core in PLACES:
        return True
    if len(core) < 4:
        return False  # a few letters among digits and symbols: zxcvbn judges the whole
    matches = zxcvbn(core[:ESTIMATED_LENGTH], user_inputs=inputs)["sequence"]
    guessed = [m for m in matches if m["pattern"] in ("dictionary", "spatial", "repeat")]
    covered = sum(len(m["token"]) for m in guessed)
    from_account = all(m.get("dictionary_name") == "user_inputs" for m in guessed)
    # one or two words (a first name and another: « Jean-Pierre1975! »), or the account's
    return covered == len(core) and (len(guessed) <= 2 or from_account)


def _words(text: str) -> list[str]:
    """The words of an address's local part or of a name, in plain form."""
    spaced = "".join(c if c.isalnum() else " " for c in text)
    return [alnum(word) for word in spaced.split()]
