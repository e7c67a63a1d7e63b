"""Partner files described by the user (TOML descriptors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatoire.errors import InputError, MissingColumnError
from observatoire.ingest.descriptors import DescriptorConnector, load_descriptor
from observatoire.observatory import Observatory

from .conftest import run

DESCRIPTOR = """
[dataset]
id = "cpam.c2s"
label = "Complémentaire santé solidaire"
producer = "CPAM de la Seine-Saint-Denis"
confidentiality = "membres"

[geography]
level = "commune"
code_column = "Code commune"

[period]
value = "2024"

[markers]
empty = "missing"
secret = ["<5"]

[[variables]]
column = "Assurés"
code = "ASSURES"
kind = "count"

[[variables]]
column = "Bénéficiaires C2S"
code = "C2S"
label = "Bénéficiaires de la complémentaire santé solidaire"
kind = "count"
total = "Assurés"

[[variables]]
column = "Taux de recours (%)"
code = "TX_RECOURS"
kind = "rate"
"""

# As a CPAM would send it: a title, CP1252, decimal comma, "<5" for small counts, a code that lost
# its zero… and three mistakes the report must catch.
PARTNER_FILE = (
    "Extraction CPAM 93 - décembre 2024\n"
    "\n"
    "Code commune;Commune;Assurés;Bénéficiaires C2S;Taux de recours (%)\n"
    "93066;Saint-Denis;120 500;21 300;71,5\n"
    "93001;Aubervilliers;80 200;<5;65,0\n"
    "93008;Bobigny;50 000;60 000;70,2\n"
    "93048;Montreuil;95 000;9 800;131,0\n"
    "93999;Nulle-part;10;1;50\n"
)


@pytest.fixture
def described(tmp_path: Path) -> tuple[Path, Path]:
    descriptor = tmp_path / "cpam_c2s.toml"
    descriptor.write_text(DESCRIPTOR, encoding="utf-8")
    data = tmp_path / "c2s_2024.csv"
    data.write_bytes(PARTNER_FILE.encode("cp1252"))
    return descriptor, data


def test_partner_file_with_a_descriptor(home93: Path, described: tuple[Path, Path]) -> None:
    descriptor, data = described
    code, out = run("import", str(data), "--descriptor", str(descriptor), home=home93)
    assert code == 3, out  # rejections reported, the rest imported
    assert "partie supérieure à son total (Assurés)" in out  # Bobigny: 60,000 > 50,000
    assert "valeur hors de l'intervalle [0 ; 100]" in out  # Montreuil: 131 %
    assert "code inconnu" in out  # 93999
    with Observatory.open(home93) as obs:
        values = obs.values("cpam.C2S", period="2024").set_index("code")
        rate = obs.values("cpam.TX_RECOURS").set_index("code")
        batch = obs.imports().iloc[0]
        details = obs.import_details(int(batch.id))
        label = obs.variables(source="cpam").set_index("id").at["cpam.C2S", "label"]
    assert values.at["93066", "value"] == 21300
    assert values.at["93001", "status"] == "secret"  # "<5" declared as a secret marker
    assert values.at["93008", "status"] == "missing"  # rejected cell
    assert rate.at["93066", "value"] == 71.5 and rate.at["93048", "status"] == "missing"
    assert str(details["descriptor"]).startswith("cpam_c2s.toml@")
    assert label == "Bénéficiaires de la complémentaire santé solidaire"


def test_period_column(home93: Path, tmp_path: Path) -> None:
    descriptor = tmp_path / "d.toml"
    descriptor.write_text(
        DESCRIPTOR.replace('value = "2024"', 'column = "Année"'), encoding="utf-8"
    )
    data = tmp_path / "series.csv"
    data.write_text(
        "Année;Code commune;Assurés;Bénéficiaires C2S;Taux de recours (%)\n"
        "2023;93066;120000;21000;70\n2024;93066;120500;21300;71,5\n",
        encoding="utf-8",
    )
    with Observatory.open(home93, write=True) as obs:
        report = obs.import_file(data, connector=DescriptorConnector(load_descriptor(descriptor)))
        series = obs.values("cpam.C2S")
    assert report.periods == ["2023", "2024"]
    assert series.set_index("period").value.to_dict() == {"2023": 21000.0, "2024": 21300.0}


def test_descriptor_errors_name_the_field(tmp_path: Path, described: tuple[Path, Path]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(DESCRIPTOR.replace('kind = "rate"', 'kind = "ratio"'), encoding="utf-8")
    with pytest.raises(InputError, match="ratio") as info:
        load_descriptor(broken)
    assert info.value.column == "variables[3].kind" and info.value.path == str(broken)
    broken.write_text(DESCRIPTOR.replace('level = "commune"', 'level = "canton"'), encoding="utf-8")
    with pytest.raises(InputError, match="canton"):
        load_descriptor(broken)
    broken.write_text("[dataset\nid=", encoding="utf-8")
    with pytest.raises(InputError, match="illisible"):
        load_descriptor(broken)


def test_descriptor_and_file_disagree(
    home93: Path, described: tuple[Path, Path], tmp_path: Path
) -> None:
    descriptor, _ = described
    other = tmp_path / "other.csv"
    other.write_text("Code commune;Autre\n93066;1\n", encoding="utf-8")
    with (
        Observatory.open(home93, write=True) as obs,
        pytest.raises(MissingColumnError, match="Assurés"),
    ):
        obs.import_file(other, connector=DescriptorConnector(load_descriptor(descriptor)))


def test_partners_agreements_and_their_datasets(home93: Path, described: tuple[Path, Path]) -> None:
    descriptor, data = described
    code, out = run(
        "import", str(data), "--descriptor", str(descriptor), "--partner", "cpam93", home=home93
    )
    assert code == 2 and "partenaire inconnu" in out  # nothing imported for an unknown partner
    assert (
        run(
            "partners",
            "add",
            "cpam93",
            "--name",
            "CPAM de la Seine-Saint-Denis",
            "--kind",
            "CPAM",
            home=home93,
        )[0]
        == 0
    )
    code, out = run(
        "partners",
        "agreement",
        "cpam93",
        "--reference",
        "CONV-2024-03",
        "--scope",
        "C2S par commune",
        "--from",
        "2024-01-01",
        "--to",
        "2023-12-31",
        home=home93,
    )
    assert code == 2 and "finit avant" in out
    assert (
        run(
            "partners",
            "agreement",
            "cpam93",
            "--reference",
            "CONV-2024-03",
            "--scope",
            "C2S par commune",
            "--from",
            "2024-01-01",
            home=home93,
        )[0]
        == 0
    )
    code, out = run(
        "import", str(data), "--descriptor", str(descriptor), "--partner", "cpam93", home=home93
    )
    assert code == 3, out
    code, out = run("partners", "list", "--format", "json", home=home93)
    import json

    (partner,) = json.loads(out)
    assert partner == {
        "code": "cpam93",
        "name": "CPAM de la Seine-Saint-Denis",
        "kind": "CPAM",
        "agreements": 1,
        "imports": 1,
    }
    code, out = run("partners", "show", "cpam93", home=home93)
    assert "CONV-2024-03" in out and "cpam.c2s" in out


YAML_DESCRIPTOR = """
dataset:
  id: departement.apa
  label: Bénéficiaires de l'APA à domicile
  producer: Département de la Seine-Saint-Denis
  confidentiality: partenaire
  licence: Convention d'échange 2025-07
  frequency: annuelle
geography:
  level: commune
  code_column: Commune
period:
  column: Année
dimensions:
  columns: [Sexe, GIR]
markers:
  secret: ["<5"]
variables:
  - column: Bénéficiaires
    code: APA_DOM
    kind: count
    unit: personnes
  - column: Montant moyen
    code: APA_MONTANT_MOYEN
    kind: amount
    unit: euros par mois
"""


def test_yaml_descriptor_with_dimensions(home93: Path, tmp_path: Path) -> None:
    """A long partner file (one row per commune × year × sex × GIR), described in YAML: values
    per dimension, kind and unit on the variables, the dataset's audience and update rhythm."""
    descriptor = tmp_path / "apa.yaml"
    descriptor.write_text(YAML_DESCRIPTOR, encoding="utf-8")
    lines = ["Année;Commune;Sexe;GIR;Bénéficiaires;Montant moyen"]
    for code in ("93066", "93001"):
        for sex in ("F", "H"):
            for gir in ("1-2", "3-4"):
                count = "<5" if (code, sex, gir) == ("93001", "H", "1-2") else "120"
                lines.append(f"2025;{code};{sex};{gir};{count};512,5")
    data = tmp_path / "apa_2025.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run("import", str(data), "--descriptor", str(descriptor), home=home93)
    assert code == 0, out
    with Observatory.open(home93) as obs:
        women = obs.values("departement.APA_DOM", dims="Sexe=F, GIR=3-4").set_index("code")
        secret = obs.values("departement.APA_DOM", dims="GIR=1-2|Sexe=H").set_index("code")
        variables = obs.variables(source="departement").set_index("id")
        datasets = obs.datasets().set_index("dataset")
    assert women.at["93066", "value"] == 120 and women.at["93066", "period"] == "2025"
    assert secret.at["93001", "status"] == "secret"
    assert variables.at["departement.APA_MONTANT_MOYEN", "unit"] == "euros par mois"
    assert variables.at["departement.APA_DOM", "kind"] == "count"
    apa = datasets.loc["departement.apa"]
    assert (apa.confidentiality, apa.frequency, apa.state) == ("partenaire", "annuelle", "à jour")
    assert apa.licence == "Convention d'échange 2025-07" and apa.editions == "2025"
    code, out = run("datasets", "--format", "csv", home=home93)
    assert code == 0 and "departement.apa" in out and "partenaire" in out


def test_yaml_and_frequency_errors_name_the_place(tmp_path: Path) -> None:
    broken = tmp_path / "apa.yaml"
    broken.write_text(YAML_DESCRIPTOR.replace("  - column: Montant", "  -column: [Montant"))
    with pytest.raises(InputError, match="YAML") as info:
        load_descriptor(broken)
    assert info.value.line is not None and info.value.line > 20
    broken.write_text(YAML_DESCRIPTOR.replace("frequency: annuelle", "frequency: yearly"))
    with pytest.raises(InputError, match="yearly") as info:
        load_descriptor(broken)
    assert info.value.column == "dataset.frequency"


def test_datasets_fall_due() -> None:
    from datetime import date

    from observatoire.catalog.datasets import due_date

    assert due_date(date(2025, 11, 30), "trimestrielle") == date(2026, 3, 30)
    assert due_date(date(2025, 12, 31), "mensuelle") == date(2026, 2, 28)
    assert due_date(date(2025, 1, 1), "inconnue") is None
