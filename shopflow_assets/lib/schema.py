"""DDL for the warehouse: bronze tables from the registry, plus quarantine and meta.

`bronze.<source>` is a view. Its rows live in `bronze._<source>` with the delivered fields, the
partition date, the record number and a `_file_id`; what is the same for every record of a file
(path, sha256, ingestion time, run id) is stored once, in `bronze._files`, and joined in by the view.
Writing those four constants into a million rows cost a bulk load about a quarter of DuckDB's own
load time; the join costs readers next to nothing (one row per file on the build side).
"""

from __future__ import annotations

import duckdb

from shopflow_assets.lib.sql import ident
from shopflow_assets.lib.transaction import transaction
from shopflow_assets.sources import SOURCES, SourceSpec

# The lineage columns readers see on bronze.<source>, in order (PLATFORM.md's warehouse contract).
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_partition_date", "DATE NOT NULL"),
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_ingested_at", "TIMESTAMP"),
    ("_run_id", "VARCHAR"),
)
# Per-file lineage: view column -> bronze._files column.
FILE_LINEAGE = {
    "_source_file": "source_file",
    "_file_sha256": "file_sha256",
    "_ingested_at": "ingested_at",
    "_run_id": "run_id",
}
BRONZE_FILES = "bronze._files"
# Silver master data kept as versions (valid_from / valid_to); older warehouses held per-day snapshots.
MASTER_TABLES = ("products", "customers", "customer_id_map", "customer_duplicates")
FILE_IDS = "bronze._file_ids"

SHARED_DDL = f"""
CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SCHEMA IF NOT EXISTS silver;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SEQUENCE IF NOT EXISTS {FILE_IDS};
-- the files bronze holds now, one row each; meta.ingestion_log keeps every attempt
-- (nullable like the columns they stand for: a migrated warehouse may hold NULLs there)
CREATE TABLE IF NOT EXISTS {BRONZE_FILES} (
    file_id BIGINT NOT NULL, source VARCHAR NOT NULL, partition_date DATE NOT NULL,
    source_file VARCHAR, file_sha256 VARCHAR, ingested_at TIMESTAMP, run_id VARCHAR);
CREATE TABLE IF NOT EXISTS quarantine.rejected_records (
    source VARCHAR NOT NULL, layer VARCHAR NOT NULL, partition_date DATE NOT NULL,
    source_file VARCHAR, record_number BIGINT, record_key VARCHAR, rule VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, raw_record VARCHAR, run_id VARCHAR NOT NULL, rejected_at TIMESTAMP NOT NULL);
-- partition_date is NULL for a file whose name claims no day (every load of its source records it)
CREATE TABLE IF NOT EXISTS quarantine.rejected_files (
    source VARCHAR NOT NULL, layer VARCHAR NOT NULL, partition_date DATE,
    source_file VARCHAR NOT NULL, file_sha256 VARCHAR, bytes BIGINT, reason VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, rejected_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS meta.ingestion_log (
    run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, partition_date DATE,
    path VARCHAR NOT NULL, sha256 VARCHAR, bytes BIGINT, rows_loaded BIGINT, rows_rejected BIGINT,
    status VARCHAR NOT NULL, reason VARCHAR, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS meta.removed_duplicates (
    source VARCHAR NOT NULL, partition_date DATE NOT NULL, record_key VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL, record_number BIGINT NOT NULL,
    kept_file VARCHAR NOT NULL, kept_record_number BIGINT NOT NULL, run_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS meta.quality_results (
    run_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, partition_date DATE NOT NULL,
    rule_id VARCHAR NOT NULL, rule_name VARCHAR NOT NULL, severity VARCHAR NOT NULL,
    action VARCHAR NOT NULL, rows_checked BIGINT NOT NULL, failed BIGINT NOT NULL,
    passed BIGINT NOT NULL, failure_rate DOUBLE NOT NULL, threshold DOUBLE NOT NULL,
    breached BOOLEAN NOT NULL, evaluated_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS meta.alerts (
    raised_at TIMESTAMP NOT NULL, kind VARCHAR NOT NULL, run_id VARCHAR, job_name VARCHAR,
    partitions VARCHAR, asset_key VARCHAR, summary VARCHAR NOT NULL);
-- days of silver tables whose stored master-data lookups no longer match the versions (late master
-- data): the stale_partitions sensor rebuilds them, and a build of the day clears its row
CREATE TABLE IF NOT EXISTS meta.stale_partitions (
    table_name VARCHAR NOT NULL, partition_date DATE NOT NULL, rows_changed BIGINT NOT NULL,
    detected_by VARCHAR NOT NULL, run_id VARCHAR NOT NULL, detected_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS meta.quality_scores (
    run_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, partition_date DATE NOT NULL,
    rows_checked BIGINT NOT NULL, rows_passing BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
    rows_flagged BIGINT NOT NULL, duplicates_removed BIGINT NOT NULL, quality_score DOUBLE,
    min_quality_score DOUBLE NOT NULL, evaluated_at TIMESTAMP NOT NULL);
"""


def bronze_table(spec: SourceSpec) -> str:
    """The view readers use: delivered fields plus every lineage column."""
    return f"bronze.{ident(spec.name)}"


def bronze_rows_table(spec: SourceSpec) -> str:
    """The stored rows behind the view; only the bronze loader writes it."""
    return f"bronze.{ident('_' + spec.name)}"


def _delivered(spec: SourceSpec) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in spec.all_columns]


def bronze_columns(spec: SourceSpec) -> list[tuple[str, str]]:
    """Columns of the bronze.<source> view."""
    return [*_delivered(spec), *LINEAGE_COLUMNS]


def bronze_row_columns(spec: SourceSpec) -> list[tuple[str, str]]:
    """Columns of the stored rows table."""
    return [
        *_delivered(spec),
        ("_partition_date", "DATE NOT NULL"),
        ("_file_id", "BIGINT"),
        ("_record_number", "BIGINT"),
    ]


def _view_sql(spec: SourceSpec) -> str:
    cols = [
        f"f.{FILE_LINEAGE[n]} AS {n}" if n in FILE_LINEAGE else f"r.{ident(n)}"
        for n, _ in bronze_columns(spec)
    ]
    return (
        f"SELECT {', '.join(cols)} FROM {bronze_rows_table(spec)} r "
        f"JOIN {BRONZE_FILES} f ON f.file_id = r._file_id"
    )


# Columns that became nullable: a refused landing file whose name claims no day has no partition.
_NOW_NULLABLE = (
    ("quarantine", "rejected_files", "partition_date"),
    ("meta", "ingestion_log", "partition_date"),
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create what is missing; idempotent, so every writer can call it first."""
    con.execute(SHARED_DDL)
    for schema, table, column in _NOW_NULLABLE:
        (nullable,) = con.execute(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? AND column_name = ?",
            [schema, table, column],
        ).fetchone()
        if nullable == "NO":
            con.execute(f"ALTER TABLE {schema}.{table} ALTER COLUMN {column} DROP NOT NULL")
    legacy = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'bronze' AND NOT starts_with(table_name, '_')"
        ).fetchall()
    }
    for spec in SOURCES.values():
        cols = ", ".join(f"{ident(n)} {t}" for n, t in bronze_row_columns(spec))
        con.execute(f"CREATE TABLE IF NOT EXISTS {bronze_rows_table(spec)} ({cols})")
        if spec.name in legacy:
            _migrate_bronze_table(con, spec)
        else:
            con.execute(f"CREATE VIEW IF NOT EXISTS {bronze_table(spec)} AS {_view_sql(spec)}")


def _migrate_bronze_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Move a bronze.<source> table from before the file split into rows + files, keeping every row;
    the view replaces the table in the same transaction."""
    old = bronze_table(spec)
    file_key = ["_partition_date", "_source_file", "_file_sha256", "_ingested_at", "_run_id"]
    with transaction(con):
        con.execute(
            f"""INSERT INTO {BRONZE_FILES}
            SELECT nextval('{FILE_IDS}'), ?, _partition_date, _source_file, _file_sha256, _ingested_at, _run_id
            FROM (SELECT DISTINCT {", ".join(file_key)} FROM {old})""",
            [spec.name],
        )
        match = " AND ".join(
            f"f.{FILE_LINEAGE.get(c, 'partition_date')} IS NOT DISTINCT FROM o.{c}" for c in file_key
        )
        con.execute(
            f"""INSERT INTO {bronze_rows_table(spec)}
            SELECT {", ".join(f"o.{ident(c.name)}" for c in spec.all_columns)}, o._partition_date, f.file_id,
                   o._record_number
            FROM {old} o JOIN {BRONZE_FILES} f ON f.source = ? AND {match}""",
            [spec.name],
        )
        con.execute(f"DROP TABLE {old}")
        con.execute(f"CREATE VIEW {old} AS {_view_sql(spec)}")
