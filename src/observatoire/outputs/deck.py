"""Decks for meetings: a territory's portrait, an operator's completeness restitution, or a
whole collection's, as slides (plain data); :mod:`observatoire.outputs.deck_render` writes
them as an editable PPTX or a self-contained offline HTML deck.

A territory's deck (:func:`territory_deck`): a title slide, « L'essentiel », the key figures
against the references, one slide per theme (its map, its evolution chart, its « À retenir »
sentences), the projections with their measured error, the sources and method. Every figure
comes from the portrait (:func:`observatoire.outputs.portrait.build_portrait`), hence from the
engine, as the audience may see it.

A restitution deck (:func:`restitution_deck`): the scores, the fields most often missing, the
evolution since the last meeting, the anonymous median of the other operators; the whole
collection's the same with every operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from observatoire.catalog.indicators import THEMES
from observatoire.engine.restitution import Restitution, percent
from observatoire.errors import InputError
from observatoire.outputs.portrait import Figure, Portrait, build_portrait
from observatoire.secret.policy import PUBLIC, ReadPolicy
from observatoire.text import french_number, with_unit

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["Deck", "Slide", "portrait_deck", "restitution_deck", "territory_deck"]

MAX_BULLETS = 5
SOURCES_SHOWN = 8


@dataclass
class Slide:
    """One slide: a title, then any of bullets, a table (header row first), a picture (SVG,
    a map or a bar chart) and a chart (series of points, drawn natively in the PPTX so that
    its data can be edited)."""

    title: str
    kind: str = "content"  # « title » for the first slide
    subtitle: str = ""
    bullets: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    picture: str = ""
    caption: str = ""
    chart: dict[str, Any] | None = None  # {title, unit, series: [{name, points, projection}]}
    notes: str = ""


@dataclass
class Deck:
    title: str
    subtitle: str
    slides: list[Slide]
    footer: str
    note: str = ""  # « Démonstration : valeurs FICTIVES… »


def territory_deck(
    obs: Source, territory: str, *, theme: str | None = None, reader: ReadPolicy = PUBLIC
) -> Deck:
    """The deck of ``territory`` (``93066``, ``departement:93``, ``tas93:TAS2``) as ``reader``
    may see it; ``theme``: that theme's slides only."""
    if theme is not None and theme not in THEMES:
        raise InputError(f"thème inconnu : {theme} (possibles : {', '.join(THEMES)})")
    return portrait_deck(build_portrait(obs, territory, reader=reader), theme=theme)


def portrait_deck(portrait: Portrait, *, theme: str | None = None) -> Deck:
    """The slides of a built portrait."""
    sections = [s for s in portrait.sections if theme is None or s.theme == theme]
    if theme is not None and not sections:
        shown = ", ".join(s.theme for s in portrait.sections) or "aucun"
        raise InputError(f"thème {theme} : aucune valeur pour ce territoire et ce public "
                         f"(thèmes disponibles : {shown})")  # fmt: skip
    card = portrait.territory
    name = str(card["name"])
    slides = [
        Slide(
            title=name,
            kind="title",
            subtitle=f"{portrait.level_label} — {portrait.config.title}"
            + (f" : {THEMES[theme]}" if theme else ""),
            notes=portrait.note,
        )
    ]
    essentials = portrait.essentials() if theme is None else [
        f.sentence for s in sections for f in s.figures if f.sentence
    ][:MAX_BULLETS]  # fmt: skip
    if essentials:
        slides.append(Slide(title="L'essentiel", bullets=essentials))
    table = _key_figures(portrait, sections)
    if len(table) > 1:
        slides.append(Slide(title="Chiffres clés face aux territoires de référence", table=table))
    for section in sections:
        slides.append(_theme_slide(section.title, section.figures, section.map,
                                   section.map_caption, name))  # fmt: skip
    ahead = [f.projection for s in sections for f in s.figures if f.projection]
    if ahead:
        slides.append(Slide(
            title="Projections : si les tendances se poursuivaient",
            bullets=ahead[:MAX_BULLETS],
            notes="Tendance prolongée, pas une prévision ; l'erreur est mesurée en projetant "
                  "la dernière période à partir des précédentes (voir la page Projection de "
                  "chaque indicateur).",
        ))  # fmt: skip
    slides.append(_sources_slide(portrait))
    return Deck(
        title=f"{name} : {portrait.config.title}",
        subtitle=portrait.level_label,
        slides=slides,
        footer=_footer(
            portrait.observatory, portrait.audience, portrait.freeze_date, portrait.generated
        ),
        note=portrait.note,
    )


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return with_unit(value, unit, 1 if unit in ("%", "‰") else None)


def _key_figures(portrait: Portrait, sections: list[Any]) -> list[list[str]]:
    """The first two figures of each theme, the territory's value beside its references'."""
    header = ["Indicateur", "Période", str(portrait.territory["name"])]
    header += [str(r["name"]) for r in portrait.references]
    rows = [header]
    for section in sections:
        for figure in section.figures[:2]:
            rows.append([
                figure.label, figure.period, _shown(figure.value, figure.unit),
                *(_shown(r["value"], figure.unit) for r in figure.references),
            ])  # fmt: skip
    return rows


def _theme_slide(title: str, figures: list[Figure], picture: str, caption: str,
                 name: str) -> Slide:  # fmt: skip
    """A theme: its « À retenir » sentences, its map, the evolution of its first figure with
    a series (with the projection of the territory's line)."""
    bullets = [f.sentence + (f" {f.trend}" if f.trend else "") for f in figures if f.sentence]
    several = [f for f in figures if len(f.series[0]["points"]) > 1]
    chosen = next((f for f in several if not f.count), several[0] if several else None)
    chart = None
    if chosen is not None:
        series = [dict(line) for line in chosen.series]
        if chosen.ahead:  # the territory's own line goes on: its projection
            series[0]["projection"] = chosen.ahead
        chart = {"title": f"Évolution : {chosen.label}", "unit": chosen.unit, "series": series}
    return Slide(title=title, bullets=bullets[:MAX_BULLETS], picture=picture, caption=caption,
                 chart=chart, notes=f"À retenir pour {name}.")  # fmt: skip


def _sources_slide(portrait: Portrait) -> Slide:
    """The sources of the figures shown (the first :data:`SOURCES_SHOWN`), their vintages,
    what the marks mean."""
    table = [["Indicateur", "Sources", "Millésimes"]]
    for source in portrait.sources[:SOURCES_SHOWN]:
        periods = [p.strip() for p in str(source["periods"]).split(",") if p.strip()]
        shown = ", ".join(periods) if len(periods) <= 3 else f"{periods[0]} à {periods[-1]}"
        table.append([source["label"], source["sources"], shown])
    bullets = [
        f"Données arrêtées le {portrait.freeze_date}." if portrait.freeze_date else "",
        f"Public : {portrait.audience} (secret statistique appliqué). Écart significatif : la "
        "référence sort de l'intervalle de confiance à 95 % du territoire.",
    ]
    more = len(portrait.sources) - SOURCES_SHOWN
    if more > 0:
        bullets.append(f"Et {more} autres indicateurs : voir le portrait complet.")
    return Slide(title="Sources et méthode", table=table, bullets=[b for b in bullets if b])


def _footer(observatory: str, audience: str, frozen: str | None, generated: str) -> str:
    when = f" · données au {frozen}" if frozen else ""
    return f"{observatory} · public : {audience}{when} · produit le {generated}"


# -- completeness restitution ----------------------------------------------------------------------
def restitution_deck(report: Restitution) -> Deck:
    """The deck of a completeness restitution meeting (an operator's, a territory's or the
    whole collection's): scores, fields most missing, evolution since the last meeting,
    the anonymous median of the others."""
    from observatoire.outputs.restitution import charts_of

    who = (report.operator or {}).get("name") or (report.territory or {}).get("name")
    subject = who or "ensemble de la collection"
    charts = report.charts or charts_of(report)
    slides = [Slide(
        title=f"Complétude des saisies : {report.label}", kind="title",
        subtitle=f"{subject} — {report.first_month} à {report.last_month}",
        notes="Données FICTIVES (démonstration)." if report.fictitious else "",
    )]  # fmt: skip
    facts = [[str(f["label"]), str(f["value"])] for f in report.facts]
    slides.append(Slide(title="Le score et ce qu'il faut retenir", bullets=report.findings[:6],
                        table=[["Repère", "Valeur"], *facts] if facts else []))  # fmt: skip
    missing = sorted(report.fields, key=lambda f: f["completeness"] if f["completeness"]
                     is not None else 101)[:8]  # fmt: skip
    table = [
        ["Champ", "Attendus", "Manquants", "Complétude"]
        + (["Médiane des autres"] if report.benchmark else [])
    ]
    for f in missing:
        table.append([str(f["label"]), french_number(f["expected"]), french_number(f["missing"]),
                      percent(f["completeness"])]
                     + ([percent(f["benchmark"])] if report.benchmark else []))  # fmt: skip
    slides.append(Slide(title="Les champs les plus souvent manquants", table=table,
                        picture=charts["fields"], caption="Complétude de chaque champ"
                        + (" face à la médiane anonyme des autres opérateurs"
                           if report.benchmark else "")))  # fmt: skip
    meeting = report.meeting
    bullets = []
    if meeting and meeting.get("change") is not None:
        change = float(meeting["change"])
        sign = "+" if change >= 0 else "−"
        bullets.append(
            f"Depuis la réunion du {meeting['day']} : score {percent(meeting['before'])} les "
            f"trois mois précédents, {percent(meeting['after'])} ensuite "
            f"({sign}{french_number(abs(change), 1)} points)."
        )
    slides.append(Slide(title="Évolution du score", bullets=bullets,
                        chart={"title": "Score de complétude par mois", "unit": "%",
                               "series": report.series}))  # fmt: skip
    if report.timeliness:
        table = [["Opérateur", "Attendues", "À temps", "En retard", "Manquantes", "Ponctualité"]]
        for t in report.timeliness:
            table.append([str(t["operator"]), str(t["expected"]), str(t["on_time"]),
                          str(t["late"]), str(t["missing"]), percent(t["timeliness"])
                          + (" ⚠" if t["alert"] else "")])  # fmt: skip
        slides.append(Slide(
            title="Les transmissions des extractions", table=table,
            caption=f"Extractions reçues à la date due du calendrier de la collection ; ⚠ : "
            f"sous le seuil d'alerte de {percent(report.timeliness_alert)}",
        ))  # fmt: skip
    if report.operators and report.operator is None:
        table = [["Opérateur", "Enregistrements", "Score", "Rang"]]
        for o in report.operators:
            rank = f"{o['rank']} / {o['rank_of']}" if o.get("rank") and o.get("rank_of") else ""
            records = "" if o.get("records") is None else french_number(o["records"])
            table.append([str(o["name"]), records, percent(o["score"]), rank])
        slides.append(Slide(title="Les opérateurs", table=table))
    return Deck(
        title=f"Complétude des saisies : {report.label} — {subject}",
        subtitle=f"{report.first_month} à {report.last_month}",
        slides=slides,
        footer=f"{report.observatory} · {report.records} enregistrements · produit le "
        f"{report.built}",
        note="Démonstration : données FICTIVES." if report.fictitious else "",
    )
