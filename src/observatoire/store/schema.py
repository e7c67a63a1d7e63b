"""The warehouse schema, declared once and rendered for each SQL dialect.

Column types are abstract (``text``, ``double``, ``int``, ``bool``, ``blob``); each backend maps
them. Migrations are numbered steps, each a list of tables to create and of portable SQL
statements to run after (to move data); the applied version is kept in ``meta``.
Geometries are stored as WKB in EPSG:4326 (``geom``) with a simplified copy for display
(``geom_display``), so no spatial extension is needed on either engine.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LINKED_VALUES", "MIGRATIONS", "RESULT_COLUMNS", "SCHEMA_VERSION", "TABLES", "TableDef",
           "create_sql"]  # fmt: skip


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[tuple[str, str], ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    # A key whose first column is a batch number need only be checked within the new batch.
    scoped_by: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        TableDef("meta", (("key", "text"), ("value", "text")), ("key",)),
        # Every territory of every level, official or custom zoning (level = zoning name).
        TableDef(
            "territory",
            (
                ("level", "text"),
                ("code", "text"),
                ("name", "text"),
                ("population", "double"),
                ("population_year", "int"),
                ("area_km2", "double"),
                ("kind", "text"),  # EPCI type (CC, CA, CU, ME), IRIS type (H, A, D, Z)…
            ),
            ("level", "code"),
        ),
        # Each territory's parents at every upper level (transitive), with a weight for
        # zonings whose units are shared between zones.
        TableDef(
            "territory_parent",
            (
                ("level", "text"),
                ("code", "text"),
                ("parent_level", "text"),
                ("parent_code", "text"),
                ("weight", "double"),
            ),
            ("level", "code", "parent_level", "parent_code"),
            (("parent_level", "parent_code"),),
        ),
        TableDef(
            "territory_geometry",
            (("level", "text"), ("code", "text"), ("geom", "blob"), ("geom_display", "blob")),
            ("level", "code"),
        ),
        # Custom zonings and their versions.
        TableDef(
            "zoning",
            (("name", "text"), ("label", "text"), ("fictitious", "bool")),
            ("name",),
        ),
        TableDef(
            "zoning_version",
            (
                ("zoning", "text"),
                ("version", "int"),
                ("unit_level", "text"),
                ("valid_from", "text"),
                ("valid_to", "text"),
                ("imported_at", "text"),
                ("source", "text"),
                ("checksum", "text"),
            ),
            ("zoning", "version"),
        ),
        TableDef(
            "zoning_zone",
            (("zoning", "text"), ("version", "int"), ("code", "text"), ("name", "text")),
            ("zoning", "version", "code"),
        ),
        TableDef(
            "zoning_member",
            (
                ("zoning", "text"),
                ("version", "int"),
                ("zone_code", "text"),
                ("unit_code", "text"),
                ("weight", "double"),
            ),
            ("zoning", "version", "zone_code", "unit_code"),
        ),
        # Former communes now déléguées or associées, with the commune they belong to
        # (from the referential source; lets codes be routed before a COG is imported).
        TableDef(
            "commune_part",
            (("code", "text"), ("typecom", "text"), ("name", "text"), ("current_code", "text")),
            ("code", "typecom"),
        ),
        # The COG: every commune code since 1943 and the mouvements.
        TableDef(
            "cog_commune",
            (
                ("typecom", "text"),
                ("code", "text"),
                ("name", "text"),
                ("date_start", "text"),
                ("date_end", "text"),
            ),
            indexes=(("code",),),
        ),
        TableDef(
            "cog_event",
            (
                ("mod", "text"),
                ("date_eff", "text"),
                ("typecom_av", "text"),
                ("com_av", "text"),
                ("name_av", "text"),
                ("typecom_ap", "text"),
                ("com_ap", "text"),
                ("name_ap", "text"),
            ),
            indexes=(("com_av",),),
        ),
    )
}

_VALUES_TABLES = (
    TableDef("partner", (("code", "text"), ("name", "text"), ("kind", "text")), ("code",)),
    # Data-sharing agreements: what a partner shares, from when to when, at which level of
    # confidentiality.
    TableDef(
        "agreement",
        (
            ("partner", "text"),
            ("reference", "text"),
            ("scope", "text"),
            ("valid_from", "text"),
            ("valid_to", "text"),
            ("confidentiality", "text"),
        ),
        ("partner", "reference"),
    ),
    # Who owns each dataset (schema 8): its first importer (partner NULL: the observatory),
    # kept when imports are withdrawn; changed only by an administrator.
    TableDef(
        "dataset_owner",
        (("dataset", "text"), ("partner", "text"), ("since", "text"), ("decided_by", "text")),
        ("dataset",),
    ),
    # One import of one file: its provenance and its validation report (JSON).
    TableDef(
        "import_batch",
        (
            ("id", "bigint"),
            ("dataset", "text"),
            ("edition", "text"),
            ("connector", "text"),
            ("producer", "text"),
            ("partner", "text"),
            ("level", "text"),
            ("periods", "text"),
            ("file_name", "text"),
            ("sha256", "text"),
            ("size", "bigint"),
            ("descriptor", "text"),
            ("imported_by", "text"),
            ("imported_at", "text"),
            ("status", "text"),  # active, replaced, rolled_back
            ("rows_read", "bigint"),
            ("rows_imported", "bigint"),
            ("rows_rejected", "bigint"),
            ("geography_year", "int"),
            ("report", "text"),
            # Added by schema 4: the dataset's confidentiality (public, membres, partenaire),
            # licence, and publication frequency (annuelle, trimestrielle…)
            ("confidentiality", "text"),
            ("licence", "text"),
            ("frequency", "text"),
            # Added by schema 12: the day the file was received when it was imported later
            # (an operator's extract mailed on time, imported a week after: it was on time)
            ("received_at", "text"),
            # Added by schema 13: where the file was fetched from (a producer's service: the
            # remote and the edition, see observatoire.remote), None for a file given by hand
            ("origin", "text"),
        ),
        ("id",),
    ),
    TableDef(
        "variable",
        (
            ("id", "text"),
            ("source", "text"),
            ("code", "text"),
            ("label", "text"),
            ("additive", "bool"),
            ("producer", "text"),
            # Added by schema 4: count, amount, rate, share, median, index, code; and the unit
            ("kind", "text"),
            ("unit", "text"),
        ),
        ("id",),
    ),
    TableDef(
        "batch_column",
        (("batch", "bigint"), ("column_name", "text"), ("variable", "text"), ("period", "text")),
        ("batch", "column_name"),
        scoped_by="batch",
    ),
    # Labels from producers' dictionaries (INSEE meta_* files), by column name.
    TableDef(
        "variable_label",
        (("column_name", "text"), ("label", "text"), ("long_label", "text")),
        ("column_name",),
    ),
    # Schema 2 kept every value in this one table; schema 3 moved them to series/series_value
    # (step 3 below) and dropped it. Its definition stays for step 2 on a fresh warehouse.
    TableDef(
        "observation",
        (
            ("batch", "bigint"),
            ("variable", "text"),
            ("level", "text"),
            ("code", "text"),
            ("period", "text"),
            # Dimensions of a long layout, canonical: "age=25-49|categorie=A|sexe=F" ("" if none)
            ("dims", "text"),
            ("value", "double"),
            ("status", "text"),
            ("geography", "text"),
            ("note", "text"),
        ),
        ("batch", "variable", "level", "code", "period", "dims", "geography"),
        scoped_by="batch",
    ),
)
# A series: the values of one variable, at one level, for one period and one combination of
# dimensions, in one geography, brought by one import. Its values are in series_value, one row
# per territory: compact to write and to scan (the repetitive text is stored once per series).
_SERIES_TABLES = (
    TableDef(
        "series",
        (
            ("id", "bigint"),
            ("batch", "bigint"),
            ("variable", "text"),
            ("level", "text"),
            ("period", "text"),
            # Dimensions of a long layout, canonical: "age=25-49|categorie=A|sexe=F" ("" if none)
            ("dims", "text"),
            # 'published': as published in a past geography; 'current': in today's geography
            ("geography", "text"),
        ),
        ("id",),
        indexes=(("variable", "level"), ("batch",)),
    ),
    TableDef(
        "series_value",
        (
            ("series", "bigint"),
            ("code", "text"),
            ("value", "double"),
            ("status", "text"),
            ("note", "text"),
        ),
        ("series", "code"),
        indexes=(("code",),),
        scoped_by="series",
    ),
)
# Indicators computed for every territory (observatoire compute), read back without computing.
# A rollback or a new zoning version deletes the rows it makes stale; an import marks them
# (indicator_stale): they are read until `compute` replaces them, all at once.
_COMPUTED_TABLES = (
    TableDef(
        "indicator_value",
        (
            ("indicator", "text"),
            ("level", "text"),
            ("code", "text"),
            ("period", "text"),
            ("value", "double"),
            ("status", "text"),
            ("coverage", "double"),
            ("ci_low", "double"),
            ("ci_high", "double"),
            ("note", "text"),
            ("computed_at", "text"),
            # Added by schema 7: for an indicator drawn from operators' records, the share (%)
            # of the records behind the value whose fields it needs were filled.
            ("completeness", "double"),
        ),
        ("indicator", "level", "code", "period"),
        indexes=(("level", "code"),),
    ),
    # The variables each stored indicator was computed from (to find what an import makes stale)
    TableDef(
        "indicator_variable",
        (("indicator", "text"), ("variable", "text")),
        ("indicator", "variable"),
    ),
    # Added by schema 9: the stored indicators whose data changed since they were computed
    TableDef("indicator_stale", (("indicator", "text"), ("since", "text")), ("indicator",)),
    # Added by schema 10: the periods of a stale indicator an import changed (none listed: all)
    TableDef(
        "indicator_stale_period",
        (("indicator", "text"), ("period", "text")),
        ("indicator", "period"),
    ),
    # Added by schema 10: the levels each indicator was computed for, rows or none (an
    # indicator that gives nothing at a level is not tried again at every compute)
    TableDef(
        "indicator_computed",
        (("indicator", "text"), ("level", "text")),
        ("indicator", "level"),
    ),
    # Added by schema 11: an indicator whose values at a level are those of stored series
    # (a count published for the territories themselves) is not copied: each of its series is
    # linked here, and its values are read where they are stored (view ``indicator_result``).
    TableDef(
        "indicator_link",
        (("indicator", "text"), ("level", "text"), ("series", "bigint"), ("computed_at", "text")),
        ("indicator", "level", "series"),
    ),
    # Statistical secret: the cells each audience may not see (primary or secondary
    # suppression), and, per indicator and audience, that the masks are up to date: a value
    # of an indicator under secret is shown to a restricted audience only when they are.
    TableDef(
        "value_mask",
        (
            ("indicator", "text"),
            ("level", "text"),
            ("code", "text"),
            ("period", "text"),
            ("audience", "text"),
            ("reason", "text"),
        ),
        ("indicator", "level", "code", "period", "audience"),
        indexes=(("level", "code"),),
    ),
    TableDef(
        "secret_state",
        (("indicator", "text"), ("audience", "text"), ("rule", "text"), ("computed_at", "text")),
        ("indicator", "audience"),
    ),
)
_GROUP = (("batch", "bigint"), ("operator", "text"), ("commune", "text"), ("month", "text"))
# Operators' records (issue 7): an import of records is an import_batch (connector
# 'enregistrements', dataset 'enregistrements.<collection>'); its cube of counts by operator,
# commune and month is computed once, at import, against the collection's schema; the records
# themselves are kept with their keys only (duplicates, drill-down).
_RECORD_TABLES = (
    TableDef(
        "record",
        (
            ("batch", "bigint"),
            ("line", "bigint"),
            ("operator", "text"),
            ("commune", "text"),
            ("day", "text"),
            ("person", "text"),
        ),
        ("batch", "line"),
        indexes=(("person",),),
        scoped_by="batch",
    ),
    # The (operator, month) each import covers: a new import replaces those it covers whole.
    TableDef(
        "record_scope",
        (("batch", "bigint"), ("collection", "text"), ("operator", "text"), ("month", "text")),
        ("batch", "operator", "month"),
        indexes=(("collection",),),
        scoped_by="batch",
    ),
    TableDef(
        "record_group",
        (*_GROUP, ("records", "bigint")),
        ("batch", "operator", "commune", "month"),
        scoped_by="batch",
    ),
    TableDef(
        "record_cell",
        (
            *_GROUP,
            ("field", "text"),
            ("expected", "bigint"),
            ("filled", "bigint"),
            ("invalid", "bigint"),
        ),
        ("batch", "operator", "commune", "month", "field"),
        scoped_by="batch",
    ),
    TableDef(
        "record_rule",
        (*_GROUP, ("rule", "text"), ("judged", "bigint"), ("violated", "bigint")),
        ("batch", "operator", "commune", "month", "rule"),
        scoped_by="batch",
    ),
    TableDef(
        "record_measure",
        (*_GROUP, ("measure", "text"), ("value", "double"), ("evaluable", "bigint")),
        ("batch", "operator", "commune", "month", "measure"),
        scoped_by="batch",
    ),
    # Operators of a collection: their name, and the partner organisation that may read them.
    TableDef(
        "record_operator",
        (("collection", "text"), ("code", "text"), ("name", "text"), ("partner", "text")),
        ("collection", "code"),
    ),
    # Restitution meetings: completeness is compared before and after each.
    TableDef(
        "record_meeting",
        (
            ("collection", "text"),
            ("day", "text"),
            ("level", "text"),
            ("code", "text"),
            ("label", "text"),
        ),
        ("collection", "day", "level", "code"),
    ),
)
TABLES.update(
    {t.name: t for t in (*_VALUES_TABLES, *_SERIES_TABLES, *_COMPUTED_TABLES, *_RECORD_TABLES)}
)

_SERIES_KEY = "batch, variable, level, period, dims, geography"
# Every value of every indicator: the rows computed and stored (indicator_value) and the values
# of the linked series (indicator_link), read where the import stored them. Readers read this;
# only ``compute`` writes the two tables behind it.
RESULT_COLUMNS = ("indicator, level, code, period, value, status, coverage, ci_low, ci_high, "
                  "note, computed_at, completeness")  # fmt: skip
LINKED_VALUES = (
    "SELECT l.indicator, l.level, v.code, s.period, v.value, v.status, "
    "CASE WHEN v.status = 'ok' THEN CAST(1 AS FLOAT8) END AS coverage, "
    "CAST(NULL AS FLOAT8) AS ci_low, CAST(NULL AS FLOAT8) AS ci_high, "
    "CAST(NULL AS TEXT) AS note, l.computed_at, CAST(NULL AS FLOAT8) AS completeness "
    "FROM indicator_link l JOIN series s ON s.id = l.series "
    "JOIN series_value v ON v.series = l.series"
)
RESULT_VIEW = (
    f"CREATE VIEW indicator_result AS SELECT {RESULT_COLUMNS} FROM indicator_value "
    f"UNION ALL {LINKED_VALUES}"
)
# Version N applies MIGRATIONS[N-1]: table names to create, then SQL statements (portable between
# DuckDB and PostgreSQL). Append, never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    tuple(
        t
        for t in TABLES
        if t
        not in {
            v.name for v in (*_VALUES_TABLES, *_SERIES_TABLES, *_COMPUTED_TABLES, *_RECORD_TABLES)
        }
    ),
    tuple(t.name for t in _VALUES_TABLES),
    (
        "series",
        "series_value",
        f"INSERT INTO series (id, {_SERIES_KEY}) SELECT ROW_NUMBER() OVER (ORDER BY "
        f"{_SERIES_KEY}), {_SERIES_KEY} FROM (SELECT DISTINCT {_SERIES_KEY} FROM observation) k",
        "INSERT INTO series_value (series, code, value, status, note) "
        "SELECT s.id, o.code, o.value, o.status, o.note FROM observation o JOIN series s "
        "ON " + " AND ".join(f"s.{c} IS NOT DISTINCT FROM o.{c}" for c in _SERIES_KEY.split(", ")),
        "DROP TABLE observation",
    ),
    (
        "ALTER TABLE import_batch ADD COLUMN IF NOT EXISTS confidentiality TEXT",
        "ALTER TABLE import_batch ADD COLUMN IF NOT EXISTS licence TEXT",
        "ALTER TABLE import_batch ADD COLUMN IF NOT EXISTS frequency TEXT",
        "UPDATE import_batch SET confidentiality = 'public' WHERE confidentiality IS NULL",
        "ALTER TABLE variable ADD COLUMN IF NOT EXISTS kind TEXT",
        "ALTER TABLE variable ADD COLUMN IF NOT EXISTS unit TEXT",
    ),
    ("indicator_value", "indicator_variable"),
    ("value_mask", "secret_state"),
    (
        *(t.name for t in _RECORD_TABLES),
        "ALTER TABLE indicator_value ADD COLUMN IF NOT EXISTS completeness FLOAT8",
    ),
    (
        "dataset_owner",
        "INSERT INTO dataset_owner (dataset, partner, since, decided_by) "
        "SELECT b.dataset, b.partner, b.imported_at, b.imported_by FROM import_batch b JOIN "
        "(SELECT dataset, MIN(id) AS id FROM import_batch GROUP BY dataset) f ON f.id = b.id",
    ),
    ("indicator_stale",),
    ("indicator_stale_period", "indicator_computed"),
    ("indicator_link", "DROP VIEW IF EXISTS indicator_result", RESULT_VIEW),
    ("ALTER TABLE import_batch ADD COLUMN IF NOT EXISTS received_at TEXT",),
    ("ALTER TABLE import_batch ADD COLUMN IF NOT EXISTS origin TEXT",),
)
SCHEMA_VERSION = len(MIGRATIONS)

_TYPES = {
    "duckdb": {
        "bigint": "BIGINT",
        "text": "VARCHAR",
        "double": "DOUBLE",
        "int": "INTEGER",
        "bool": "BOOLEAN",
        "blob": "BLOB",
    },
    "postgres": {
        "bigint": "BIGINT",
        "text": "TEXT",
        "double": "DOUBLE PRECISION",
        "int": "INTEGER",
        "bool": "BOOLEAN",
        "blob": "BYTEA",
    },
}


def create_sql(table: TableDef, dialect: str) -> list[str]:
    """``CREATE TABLE`` and ``CREATE INDEX`` statements for ``table`` in ``dialect``.

    DuckDB gets neither primary keys nor indexes: its ART indexes on text keys weigh ten times
    the data (30 MB for territory_parent) and a columnar scan needs none. Its backend checks
    the keys at write time instead (:meth:`DuckDBWarehouse` transactions), so both engines
    refuse a duplicate key the same way.
    """
    types = _TYPES[dialect]
    columns = [f"{name} {types[kind]}" for name, kind in table.columns]
    if table.primary_key and dialect != "duckdb":
        columns.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    statements = [f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"]
    if dialect == "duckdb":
        return statements
    for index in table.indexes:
        name = f"idx_{table.name}_{'_'.join(index)}"
        statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} ({', '.join(index)})")
    return statements
