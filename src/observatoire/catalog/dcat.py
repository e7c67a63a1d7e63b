"""The catalogue as open metadata: DCAT-AP in JSON-LD and Turtle, and a flat CSV.

What is described: the observatory's catalogue (``dcat:Catalog``); each dataset in force that
the public may see (a producer's series, ``dcat:Dataset``); each indicator the public may read
(a ``dcat:Dataset`` too, as DCAT-AP describes statistical indicators), with its landing page,
its CSV download (``dcat:Distribution``) and the datasets it is computed from
(``dct:source``). Every resource has a stable URL under the extranet's address that resolves:
the catalogue is served at ``/catalogue`` (its datasets and producers are fragments of it), each
indicator at its page ``/indicateurs/{id}``; a harvester (data.gouv.fr) finds the same
identifiers at every export.

The description is built once as a list of resources (:class:`Resource`), then written in each
syntax; pure: values in, text out.

>>> doc = build_catalog(base="https://obs.example.fr", title="Observatoire", publisher="CD93",
...                     datasets=[], indicators=[])
>>> to_jsonld(doc)["@graph"][0]["@type"]
'dcat:Catalog'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from observatoire.csvfile import SPREADSHEET, csv_text
from observatoire.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from observatoire.catalog.indicators import Catalogue

__all__ = [
    "CSV_COLUMNS",
    "PREFIXES",
    "Resource",
    "build_catalog",
    "catalog_of",
    "to_csv",
    "to_jsonld",
    "to_table",
    "to_turtle",
]

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    "mensuelle": "MONTHLY",
    "trimestrielle": "QUARTERLY",
    "semestrielle": "BIANNUAL",
    "annuelle": "ANNUAL",
    "biennale": "BIENNIAL",
    "ponctuelle": "NEVER",
}
LANGUAGE = "http://publications.europa.eu/resource/authority/language/FRA"
LICENCE_URLS = {
    "Licence Ouverte / Etalab 2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
}


@dataclass(frozen=True)
class Ref:
    """A link to another resource (an IRI)."""

    iri: str


@dataclass(frozen=True)
class Text:
    """A literal in French."""

    value: str


@dataclass(frozen=True)
class Plain:
    """A literal without language (an identifier)."""

    value: str


@dataclass(frozen=True)
class Typed:
    """A literal with a datatype (``xsd:date``…)."""

    value: str
    datatype: str


Value = Ref | Text | Plain | Typed


@dataclass
class Resource:
    iri: str
    kind: str  # a prefixed class, e.g. "dcat:Dataset"
    properties: dict[str, list[Value]] = field(default_factory=dict)

    def add(self, prop: str, *values: Value | None) -> Resource:
        for value in values:
            if value is not None and not (isinstance(value, Text | Plain) and not value.value):
                self.properties.setdefault(prop, []).append(value)
        return self


def _url(base: str, *parts: str) -> str:
    return base.rstrip("/") + "/" + "/".join(quote(p, safe="") for p in parts)


def catalog_of(
    *,
    base: str,
    name: str,
    datasets: pd.DataFrame,
    catalogue: Catalogue,
    fed: Mapping[str, Sequence[str]],
) -> list[Resource]:
    """The public catalogue of observatory ``name``: its datasets in force the public may see
    (``datasets``: one row per dataset, with its ``confidentiality`` and ``last_import``) and
    the indicators it can read, each with the datasets it is drawn from (``fed``), with
    stable URLs under ``base``."""
    if not base.startswith(("http://", "https://")):
        raise InputError(
            "adresse publique de l'extranet inconnue : donnez --base-url "
            "https://… ou le paramètre « url » dans observatoire.toml"
        )
    public = datasets[datasets.confidentiality == "public"]
    indicators = []
    for ident in sorted(fed):
        indicator = catalogue.get(ident)
        indicators.append(
            {
                "id": ident,
                "label": indicator.label,
                "definition": indicator.definition,
                "method": indicator.method,
                "theme": indicator.theme_label,
                "keywords": list(indicator.keywords),
                "sources": list(indicator.sources),
                "datasets": list(fed[ident]),
            }
        )
    return build_catalog(
        base=base,
        title=name,
        publisher=name,
        datasets=public.to_dict("records"),
        indicators=indicators,
        modified=str(datasets.last_import.max()) if len(datasets) else None,
    )


def build_catalog(
    *,
    base: str,
    title: str,
    publisher: str,
    datasets: Sequence[Mapping[str, Any]],
    indicators: Sequence[Mapping[str, Any]],
    modified: str | None = None,
) -> list[Resource]:
    """The resources describing the catalogue.

    ``datasets``: dicts with dataset, producer, editions, last_import, frequency, licence;
    ``indicators``: dicts with id, label, definition, method, unit, theme, keywords, sources
    (texts), datasets (identifiers of the datasets it is computed from)."""
    catalog_iri = _url(base, "catalogue")
    publisher_iri = catalog_iri + "#organisation"
    catalog = Resource(catalog_iri, "dcat:Catalog")
    catalog.add("dct:title", Text(title))
    catalog.add(
        "dct:description",
        Text(
            f"Jeux de données et indicateurs de l'observatoire « {title} » : statistiques des "
            "partenaires et indicateurs calculés pour chaque territoire."
        ),
    )
    catalog.add("dct:publisher", Ref(publisher_iri))
    catalog.add("dct:language", Ref(LANGUAGE))
    catalog.add("foaf:homepage", Ref(base.rstrip("/") + "/"))
    if modified:
        catalog.add("dct:modified", Typed(modified, "xsd:date"))
    agent = Resource(publisher_iri, "foaf:Agent").add("foaf:name", Text(publisher))
    out = [catalog, agent]
    producers: dict[str, Resource] = {}
    dataset_iri = {}
    for row in datasets:
        ident = str(row["dataset"])
        iri = f"{catalog_iri}#jeu-{quote(ident, safe='')}"
        dataset_iri[ident] = iri
        catalog.add("dcat:dataset", Ref(iri))
        producer = str(row.get("producer") or "")
        resource = Resource(iri, "dcat:Dataset")
        resource.add("dct:identifier", Plain(ident))
        resource.add("dct:title", Text(f"{ident} ({producer})" if producer else ident))
        resource.add(
            "dct:description",
            Text(
                f"Données « {ident} » de {producer or 'un producteur partenaire'}, importées dans "
                f"l'observatoire (éditions : {row.get('editions') or 'non précisées'})."
            ),
        )
        if producer:
            if producer not in producers:
                producers[producer] = Resource(
                    f"{catalog_iri}#producteur-{quote(producer, safe='')}", "foaf:Agent"
                ).add("foaf:name", Text(producer))
            resource.add("dct:publisher", Ref(producers[producer].iri))
        frequency = FREQUENCIES.get(str(row.get("frequency") or ""))
        if frequency:
            resource.add("dct:accrualPeriodicity", Ref(_FREQUENCY + frequency))
        licence = str(row.get("licence") or "")
        if licence:
            resource.add(
                "dct:license", Ref(LICENCE_URLS.get(licence, _url(base, "licences", licence)))
            )
        if row.get("last_import"):
            resource.add("dct:modified", Typed(str(row["last_import"]), "xsd:date"))
        resource.add("dcat:landingPage", Ref(_url(base, "catalogue")))
        out.append(resource)
    for row in indicators:
        ident = str(row["id"])
        iri = _url(base, "indicateurs", ident)
        catalog.add("dcat:dataset", Ref(iri))
        resource = Resource(iri, "dcat:Dataset")
        resource.add("dct:identifier", Plain(ident))
        resource.add("dct:title", Text(str(row["label"])))
        description = " ".join(
            t for t in (str(row.get("definition") or ""), str(row.get("method") or "")) if t
        )
        resource.add("dct:description", Text(description or str(row["label"])))
        resource.add(
            "dcat:keyword", *(Text(k) for k in [row.get("theme"), *row.get("keywords", ())] if k)
        )
        resource.add("dct:publisher", Ref(publisher_iri))
        resource.add("dcat:landingPage", Ref(iri))
        for source in row.get("datasets", ()):
            if source in dataset_iri:
                resource.add("dct:source", Ref(dataset_iri[source]))
        for text in row.get("sources", ()):
            resource.add("dct:provenance", Text(str(text)))
        distribution = Resource(iri + "#csv", "dcat:Distribution")
        download = _url(base, "api", "v1", "indicators", ident, "export") + "?format=csv"
        distribution.add("dct:title", Text(f"{row['label']} (CSV)"))
        distribution.add("dcat:accessURL", Ref(download))
        distribution.add("dcat:downloadURL", Ref(download))
        distribution.add(
            "dcat:mediaType", Ref("https://www.iana.org/assignments/media-types/text/csv")
        )
        distribution.add(
            "dct:format", Ref("http://publications.europa.eu/resource/authority/file-type/CSV")
        )
        resource.add("dcat:distribution", Ref(distribution.iri))
        out += [resource, distribution]
    return out + list(producers.values())


def _expand(name: str) -> str:
    prefix, _, local = name.partition(":")
    return PREFIXES[prefix] + local


def to_jsonld(resources: Sequence[Resource]) -> dict[str, Any]:
    """JSON-LD: a ``@context`` of the prefixes and one node per resource in ``@graph``."""
    graph = []
    for resource in resources:
        node: dict[str, Any] = {"@id": resource.iri, "@type": resource.kind}
        for prop, values in resource.properties.items():
            node[prop] = [_json_value(v) for v in values]
        graph.append(node)
    return {"@context": dict(PREFIXES), "@graph": graph}


def _json_value(value: Value) -> dict[str, str]:
    if isinstance(value, Ref):
        return {"@id": value.iri}
    if isinstance(value, Typed):
        return {"@value": value.value, "@type": value.datatype}
    if isinstance(value, Plain):
        return {"@value": value.value}
    return {"@value": value.value, "@language": "fr"}


def _turtle_value(value: Value) -> str:
    if isinstance(value, Ref):
        return f"<{value.iri}>"
    text = (
        value.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "")
    )
    if isinstance(value, Typed):
        return f'"{text}"^^{value.datatype}'
    if isinstance(value, Plain):
        return f'"{text}"'
    return f'"{text}"@fr'


def to_turtle(resources: Sequence[Resource]) -> str:
    """Turtle, with the same prefixes."""
    lines = [f"@prefix {p}: <{iri}> ." for p, iri in PREFIXES.items()]
    for resource in resources:
        lines.append("")
        lines.append(f"<{resource.iri}> a {resource.kind}")
        for prop, values in resource.properties.items():
            objects = ", ".join(_turtle_value(v) for v in values)
            lines[-1] += " ;"
            lines.append(f"    {prop} {objects}")
        lines[-1] += " ."
    return "\n".join(lines) + "\n"


CSV_COLUMNS = [
    "type",
    "identifiant",
    "titre",
    "description",
    "mots_cles",
    "producteur",
    "frequence",
    "licence",
    "page",
    "telechargement",
    "uri",
]


def to_table(resources: Sequence[Resource]) -> pd.DataFrame:
    """One row per dataset (:data:`CSV_COLUMNS`): type (jeu de données, indicateur),
    identifier, title, description, keywords, publisher, frequency, licence, page, download."""
    import pandas as pd

    by_iri = {r.iri: r for r in resources}

    def first(resource: Resource, prop: str) -> str:
        values = resource.properties.get(prop, [])
        if not values:
            return ""
        value = values[0]
        if isinstance(value, Ref):
            linked = by_iri.get(value.iri)
            if linked is not None and "foaf:name" in linked.properties:
                return first(linked, "foaf:name")
            return value.iri
        return value.value

    rows = []
    for resource in resources:
        if resource.kind != "dcat:Dataset":
            continue
        indicator = "/indicateurs/" in resource.iri
        distribution = by_iri.get(first(resource, "dcat:distribution"))
        rows.append(
            [
                "indicateur" if indicator else "jeu de données",
                first(resource, "dct:identifier"),
                first(resource, "dct:title"),
                first(resource, "dct:description"),
                ", ".join(
                    v.value
                    for v in resource.properties.get("dcat:keyword", [])
                    if isinstance(v, Text)
                ),
                first(resource, "dct:publisher"),
                first(resource, "dct:accrualPeriodicity").rsplit("/", 1)[-1],
                first(resource, "dct:license"),
                first(resource, "dcat:landingPage"),
                first(distribution, "dcat:downloadURL") if distribution else "",
                resource.iri,
            ]
        )
    return pd.DataFrame(rows, columns=CSV_COLUMNS, dtype=object)


def to_csv(resources: Sequence[Resource]) -> str:
    """:func:`to_table` as CSV text for a spreadsheet (``;``), formulas neutralised."""
    return csv_text(to_table(resources), SPREADSHEET)


def dumps_jsonld(resources: Sequence[Resource]) -> str:
    return json.dumps(to_jsonld(resources), ensure_ascii=False, indent=1)
