"""DDL for the warehouse: bronze tables from the registry, plus quarantine and meta."""

from __future__ import annotations

import duckdb

from shopflow_assets.readers.base import ident
from shopflow_assets.sources import SOURCES, SourceSpec

# Only the loader writes these, always all of them; constraints would cost on the hot path.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_partition_date", "DATE NOT NULL"),
    ("_source_file", "VARCHAR"),
    ("_file_sha256", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_ingested_at", "TIMESTAMP"),
    ("_run_id", "VARCHAR"),
)

SHARED_DDL = """
CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SCHEMA IF NOT EXISTS silver;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS quarantine.rejected_records (
    source VARCHAR NOT NULL, layer VARCHAR NOT NULL, partition_date DATE NOT NULL,
    source_file VARCHAR, record_number BIGINT, record_key VARCHAR, rule VARCHAR NOT NULL,
    reason VARCHAR NOT NULL, raw_record VARCHAR, run_id VARCHAR NOT NULL, rejected_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine.rejected_files (
    source VARCHAR NOT NULL, layer VARCHAR NOT NULL, partition_date DATE NOT NULL,
    source_file VARCHAR NOT NULL, file_sha256 VARCHAR, bytes BIGINT, reason VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, rejected_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS meta.ingestion_log (
    run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, partition_date DATE NOT NULL,
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
CREATE TABLE IF NOT EXISTS meta.quality_scores (
    run_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, partition_date DATE NOT NULL,
    rows_checked BIGINT NOT NULL, rows_passing BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
    rows_flagged BIGINT NOT NULL, duplicates_removed BIGINT NOT NULL, quality_score DOUBLE,
    min_quality_score DOUBLE NOT NULL, evaluated_at TIMESTAMP NOT NULL);
"""


def bronze_table(spec: SourceSpec) -> str:
    return f"bronze.{ident(spec.name)}"


def bronze_columns(spec: SourceSpec) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in spec.all_columns] + list(LINEAGE_COLUMNS)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create what is missing; idempotent, so every writer can call it first."""
    con.execute(SHARED_DDL)
    for spec in SOURCES.values():
        cols = ", ".join(f"{ident(n)} {t}" for n, t in bronze_columns(spec))
        con.execute(f"CREATE TABLE IF NOT EXISTS {bronze_table(spec)} ({cols})")
