"""Conditions written in a collection's schema, evaluated on a whole column at once.

A condition compares fields with each other or with constants::

    0 <= age <= 110
    date_sortie >= date_entree
    nb_enfants <= taille_menage
    composition dans ("couple_avec_enfants", "famille_monoparentale")
    issue == "sans_solution" et nb_enfants > 0
    non (statut == "annule") ou date_demande >= 2024-01-01

Operands: field names, numbers (``1.5``), dates (``2024-01-01``), strings in quotes.
Comparisons: ``== != < <= > >=`` (chains allowed), ``dans (…)``; connectives ``et``, ``ou``,
``non`` and parentheses. Evaluation is vectorised: a condition gives, for each record, its truth
and whether it could be judged at all — a record whose referenced fields are not all filled is
*not judged* (its missing fields are counted by the completeness measures, not as a violation).

>>> cond = parse_condition("0 <= age <= 110", "regles[0]")
>>> sorted(cond.fields)
['age']
>>> import pandas as pd
>>> truth, judged = cond.evaluate(pd.DataFrame({"age": [5.0, 130.0, None]}))
>>> truth.tolist(), judged.tolist()
([True, False, False], [True, True, False])
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.errors import InputError

__all__ = ["Condition", "parse_condition"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<date>\d{4}-\d{2}-\d{2})
      | (?P<number>-?\d+(?:[.,]\d+)?)
      | (?P<string>"[^"]*"|'[^']*')
      | (?P<op><=|>=|==|!=|<|>|=)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_À-ÿ][A-Za-z0-9_À-ÿ]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"et", "ou", "non", "dans", "and", "or", "not", "in"}
_ALIASES = {"and": "et", "or": "ou", "not": "non", "in": "dans", "=": "=="}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str, where: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise InputError(
                f"{where} : condition « {text} » illisible à partir de « {stripped[position:]} »"
            )
        kind = match.lastgroup or ""
        value, start = match.group(kind), match.start(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "keyword", _ALIASES.get(value.lower(), value.lower())
        elif kind == "op":
            value = _ALIASES.get(value, value)
        out.append(_Token(kind, value, start))
        position = match.end()
    return out


# -- the tree --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Const:
    value: object


@dataclass(frozen=True)
class _Compare:
    terms: tuple[_Field | _Const, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class _In:
    term: _Field
    values: tuple[object, ...]


@dataclass(frozen=True)
class _Not:
    inner: _Node


@dataclass(frozen=True)
class _Bool:
    op: str  # "et" or "ou"
    left: _Node
    right: _Node


_Node = _Compare | _In | _Not | _Bool


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.tokens = _tokens(text, where)
        self.i = 0

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.where} : condition « {self.text} » : {message}")

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail("fin inattendue")
        if (kind and token.kind != kind) or (text and token.text != text):
            raise self.fail(f"« {token.text} » inattendu (position {token.position + 1})")
        self.i += 1
        return token

    def parse(self) -> _Node:
        node = self.disjunction()
        if self.peek() is not None:
            token = self.tokens[self.i]
            raise self.fail(f"« {token.text} » inattendu (position {token.position + 1})")
        return node

    def disjunction(self) -> _Node:
        node = self.conjunction()
        while (t := self.peek()) is not None and t.kind == "keyword" and t.text == "ou":
            self.i += 1
            node = _Bool("ou", node, self.conjunction())
        return node

    def conjunction(self) -> _Node:
        node = self.negation()
        while (t := self.peek()) is not None and t.kind == "keyword" and t.text == "et":
            self.i += 1
            node = _Bool("et", node, self.negation())
        return node

    def negation(self) -> _Node:
        token = self.peek()
        if token is not None and token.kind == "keyword" and token.text == "non":
            self.i += 1
            return _Not(self.negation())
        if token is not None and token.text == "(":
            self.i += 1
            node = self.disjunction()
            self.take("punct", ")")
            return node
        return self.comparison()

    def comparison(self) -> _Node:
        first = self.operand()
        token = self.peek()
        if token is not None and token.kind == "keyword" and token.text == "dans":
            if not isinstance(first, _Field):
                raise self.fail("« dans » suit un nom de champ")
            self.i += 1
            self.take("punct", "(")
            values = [self.constant()]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.i += 1
                values.append(self.constant())
            self.take("punct", ")")
            return _In(first, tuple(values))
        terms, ops = [first], []
        while (t := self.peek()) is not None and t.kind == "op":
            self.i += 1
            ops.append(t.text)
            terms.append(self.operand())
        if not ops:
            raise self.fail("comparaison attendue (==, !=, <, <=, >, >= ou dans)")
        if not any(isinstance(t, _Field) for t in terms):
            raise self.fail("la comparaison ne porte sur aucun champ")
        return _Compare(tuple(terms), tuple(ops))

    def operand(self) -> _Field | _Const:
        token = self.take()
        if token.kind == "word":
            return _Field(token.text)
        if token.kind in ("number", "date", "string"):
            return _Const(_constant(token))
        raise self.fail(f"« {token.text} » inattendu (position {token.position + 1})")

    def constant(self) -> object:
        token = self.take()
        if token.kind not in ("number", "date", "string"):
            raise self.fail(f"valeur attendue, pas « {token.text} »")
        return _constant(token)


def _constant(token: _Token) -> object:
    if token.kind == "number":
        return float(token.text.replace(",", "."))
    if token.kind == "date":
        return np.datetime64(dt.date.fromisoformat(token.text), "ns")
    return token.text[1:-1]


def _fields(node: _Node) -> set[str]:
    if isinstance(node, _Compare):
        return {t.name for t in node.terms if isinstance(t, _Field)}
    if isinstance(node, _In):
        return {node.term.name}
    if isinstance(node, _Not):
        return _fields(node.inner)
    return _fields(node.left) | _fields(node.right)


_OPS = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


@dataclass(frozen=True)
class Condition:
    """A parsed condition; :meth:`evaluate` judges every record of a frame of typed fields."""

    text: str
    tree: _Node

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(_fields(self.tree))

    def check_fields(self, kinds: Mapping[str, str], where: str) -> None:
        """Every referenced field exists, and is compared with something of its kind."""
        unknown = sorted(self.fields - set(kinds))
        if unknown:
            raise InputError(
                f"{where} : condition « {self.text} » : champ(s) inconnu(s) "
                f"{', '.join(unknown)} ; champs déclarés : {', '.join(sorted(kinds))}"
            )
        _check_kinds(self.tree, kinds, f"{where} : condition « {self.text} »")

    def evaluate(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(truth, judged) for each row of ``frame`` (typed columns, missing as NaN/NaT/None).

        A row is judged when every field the condition names is present in it."""
        judged = np.ones(len(frame), dtype=bool)
        for name in self.fields:
            judged &= frame[name].notna().to_numpy()
        with np.errstate(invalid="ignore"):
            truth = _eval(self.tree, frame) & judged
        return truth, judged


def _kind_of(term: _Field | _Const, kinds: Mapping[str, str]) -> str:
    if isinstance(term, _Field):
        return kinds[term.name]
    if isinstance(term.value, float):
        return "number"
    if isinstance(term.value, np.datetime64):
        return "date"
    return "text"


def _check_kinds(node: _Node, kinds: Mapping[str, str], where: str) -> None:
    if isinstance(node, _Compare):
        found = {_kind_of(t, kinds) for t in node.terms}
        if len(found) > 1:
            raise InputError(f"{where} : compare des valeurs de natures différentes ({found})")
        if found == {"text"} and any(op not in ("==", "!=") for op in node.ops):
            raise InputError(f"{where} : un texte se compare avec == ou != seulement")
    elif isinstance(node, _In):
        kind = kinds[node.term.name]
        if any(_kind_of(_Const(v), kinds) != kind for v in node.values):
            raise InputError(f"{where} : les valeurs de « dans » ne sont pas de nature {kind}")
    elif isinstance(node, _Not):
        _check_kinds(node.inner, kinds, where)
    elif isinstance(node, _Bool):
        _check_kinds(node.left, kinds, where)
        _check_kinds(node.right, kinds, where)


def _values(term: _Field | _Const, frame: pd.DataFrame) -> np.ndarray | object:
    if isinstance(term, _Field):
        column = frame[term.name]
        if column.dtype == object:
            return np.asarray(column.to_numpy(dtype=object))
        return np.asarray(column.to_numpy())
    return term.value


def _eval(node: _Node, frame: pd.DataFrame) -> np.ndarray:
    n = len(frame)
    if isinstance(node, _Compare):
        result = np.ones(n, dtype=bool)
        for first, op, second in zip(node.terms, node.ops, node.terms[1:], strict=False):
            a, b = _values(first, frame), _values(second, frame)
            compared = _OPS[op](a, b)  # type: ignore[call-overload]
            result &= np.asarray(compared, dtype=bool) if np.ndim(compared) else bool(compared)
        return result
    if isinstance(node, _In):
        return np.asarray(frame[node.term.name].isin(list(node.values)), dtype=bool)
    if isinstance(node, _Not):
        return ~_eval(node.inner, frame)
    one, two = _eval(node.left, frame), _eval(node.right, frame)
    return np.asarray(one & two if node.op == "et" else one | two, dtype=bool)


def parse_condition(text: object, where: str) -> Condition:
    """Parse ``text``; an error names ``where`` (the schema entry) and the faulty part."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where} : condition attendue (texte), ex. « age <= 110 »")
    return Condition(text.strip(), _Parser(text.strip(), where).parse())
