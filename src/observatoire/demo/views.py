"""The demo's analyst views, on its SYNTHETIC CAF figures over the real communes of the 93: the
funnel plot of the RSA share, the significance heatmap of the social theme, the social gradient
of the AAH share, the FICTITIOUS QPV against the rest of their communes, maps side by side
(see docs/analyses.md)."""

from __future__ import annotations

from observatoire.engine.qpv_gaps import QpvGaps
from observatoire.observatory import Observatory
from observatoire.text import french_number

__all__ = ["analyst_views"]


def analyst_views(obs: Observatory) -> str:
    """What each view shows on the demo, with the page and the command that show it."""
    funnel = obs.views.funnel("part_allocataires_rsa", level="commune", within="93")
    heatmap = obs.views.heatmap(level="commune", within="93", theme="social")
    gradient = obs.views.gradient("part_allocataires_aah", level="commune", within="93", groups=5)
    gaps = obs.views.qpv_gaps("part_allocataires_monoparents", within="93")
    counts = heatmap.cells.category.value_counts()
    above = int((funnel.points.position > 0).sum())
    below = int((funnel.points.position < 0).sum())
    return "\n".join([
        "Vues d'analyse (valeurs CAF SYNTHÉTIQUES sur les communes réelles du 93)",
        f"  Entonnoir de la part d'allocataires du RSA ({funnel.period}) : "
        f"{len(funnel.points)} communes autour de la Seine-Saint-Denis "
        f"({french_number(funnel.target, 1)} %), {above} au-dessus et {below} en dessous des "
        "limites à 95 % (observatoire funnel part_allocataires_rsa --within 93 ; page "
        "/indicateurs/part_allocataires_rsa/entonnoir)",
        f"  Tableau des écarts du thème social : {len(heatmap.territories)} communes × "
        f"{len(heatmap.indicators)} indicateurs, {int(counts.get('worse', 0))} cases "
        f"significativement moins favorables, {int(counts.get('better', 0))} plus favorables "
        "(observatoire heatmap --within 93 ; page /ecarts)",
        f"  Gradient de la part d'allocataires de l'AAH selon « {gradient.ranking.label} » "
        f"(5 groupes) : indice de pente {french_number(gradient.fit.sii, 2)} points "
        f"[{french_number(gradient.sii_interval[0], 2)} ; "
        f"{french_number(gradient.sii_interval[1], 2)}] (observatoire gradient "
        "part_allocataires_aah --within 93 --groups 5 ; page "
        "/indicateurs/part_allocataires_aah/gradient?dans=93)",
        *_qpv_lines(gaps),
        "  Cartes côte à côte, bivariée, d'évolution : page /cartes (observatoire maps)",
    ])  # fmt: skip


def _qpv_lines(gaps: QpvGaps) -> list[str]:
    compared = gaps.quartiers[gaps.quartiers.rest_value.notna()]
    lines = [f"  QPV FICTIFS et reste de leurs communes (part des allocataires monoparents, "
             f"{gaps.period}) : {len(compared)} quartiers sur {len(gaps.quartiers)} comparés, "
             f"{int((compared.assessment != 'écart non significatif').sum())} écarts "
             "significatifs (observatoire qpv part_allocataires_monoparents --within 93 ; page "
             "/indicateurs/part_allocataires_monoparents/qpv)"]  # fmt: skip
    for _, row in gaps.ensembles[gaps.ensembles.rest_value.notna()].iterrows():
        lines.append(f"    {row['name']} : {french_number(float(row.value), 1)} %, reste du "
                     f"département {french_number(float(row.rest_value), 1)} %")  # fmt: skip
    return lines
