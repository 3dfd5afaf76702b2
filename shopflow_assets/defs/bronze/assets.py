"""The bronze asset factory: one partitioned asset per registry entry."""

import warnings
from collections.abc import Iterator
from datetime import date

import dagster as dg

from shopflow_assets.defs.bronze.load import LoadResult, load_bronze
from shopflow_assets.lib.metadata import (
    OWNERS,
    markdown_table,
    partition_check_events,
    table_schema,
)
from shopflow_assets.lib.partitions import daily_partitions, days_in, partition_label, partition_window
from shopflow_assets.lib.policies import TRANSIENT_RETRIES, WRITER_POOL
from shopflow_assets.lib.schema import bronze_columns, bronze_table
from shopflow_assets.lib.warehouse import LandingZoneResource, WarehouseResource
from shopflow_assets.sources import SOURCES, SourceSpec

CHECK_FILES_READABLE = "files_readable"
CHECK_HAS_DATA = "partition_has_data"


# The lineage columns every bronze.<source> view adds (warehouse/schema.py's LINEAGE_COLUMNS).
LINEAGE_DESCRIPTIONS = {
    "_partition_date": "Business day (partition) the file was delivered for.",
    "_source_file": "Landing file the record came from, relative to the landing root.",
    "_file_sha256": "SHA-256 of the landing file's bytes.",
    "_record_number": "Record number within its file (1-based, records not lines).",
    "_ingested_at": "When the file was loaded (UTC).",
    "_run_id": "Dagster run that loaded the file.",
}


def _column_schema(spec: SourceSpec) -> dg.TableSchema:
    return table_schema(bronze_columns(spec), {**spec.column_descriptions, **LINEAGE_DESCRIPTIONS})


def _check_results(key: dg.AssetKey, result: LoadResult, day: date) -> list[dg.AssetCheckResult]:
    """The bronze checks of one day of the run."""
    files = [f for f in result.files if f.partition in (day, None)]  # None: a refused name with no day
    rejected = [f for f in files if f.status == "rejected"]
    has_data = day in result.rows_by_partition
    return [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_FILES_READABLE,
            passed=not rejected,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(rejected)} of {len(files)} files could not be read",
            metadata={
                "rejected_files": dg.MetadataValue.json(
                    [{"path": f.path, "reason": f.reason} for f in rejected]
                )
            },
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_HAS_DATA,
            passed=has_data,
            severity=dg.AssetCheckSeverity.WARN,
            description="the partition has rows" if has_data else f"no rows for {day.isoformat()}",
            metadata={"empty_partitions": dg.MetadataValue.json([] if has_data else [day.isoformat()])},
        ),
    ]


def build_bronze_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    key = dg.AssetKey(["bronze", spec.name])

    @dg.asset(
        key=key,
        group_name="bronze",
        description=f"{spec.description} Raw and typed, with lineage columns; unreadable records are quarantined.",
        owners=OWNERS,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"duckdb", spec.format},
        pool=WRITER_POOL,
        retry_policy=TRANSIENT_RETRIES,
        check_specs=[
            dg.AssetCheckSpec(
                CHECK_FILES_READABLE,
                asset=key,
                description="Every landing file of the partition could be read.",
            ),
            dg.AssetCheckSpec(CHECK_HAS_DATA, asset=key, description="The partition has rows."),
        ],
        metadata={
            "dagster/table_name": f"bronze.{spec.name}",
            "dagster/column_schema": _column_schema(spec),
            "source_format": spec.format,
            "business_key": spec.key,
        },
    )
    def _bronze(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingZoneResource
    ) -> Iterator[dg.MaterializeResult | dg.Output | dg.AssetCheckEvaluation]:
        start, end = partition_window(context)
        with warehouse.connect() as con:
            try:
                result = load_bronze(con, spec, landing.root, start, end, context.run.run_id)
            except Exception as exc:
                raise RuntimeError(f"bronze/{spec.name} for {partition_label(start, end)}: {exc}") from exc
            preview = con.execute(
                f"SELECT * EXCLUDE (_file_sha256, _run_id) FROM {bronze_table(spec)} "
                "WHERE _partition_date >= ? AND _partition_date < ? LIMIT 5",
                [start, end],
            )
            preview_md = markdown_table([d[0] for d in preview.description], preview.fetchall())
        for f in result.files_rejected:
            context.log.warning(f"{spec.name}: file {f.path} rejected: {f.reason}")
        if not result.files:
            context.log.warning(f"{spec.name}: no landing files for {partition_label(start, end)}")
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(result.rows_by_partition.values()),
                "dagster/column_schema": _column_schema(spec),
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "files_read": len(result.files),
                "files_rejected": len(result.files_rejected),
                "files": dg.MetadataValue.md(
                    markdown_table(
                        ["file", "partition", "rows", "rejected", "status", "reason"],
                        [
                            (f.path, f.partition, f.rows_loaded, f.rows_rejected, f.status, f.reason or "")
                            for f in result.files
                        ],
                    )
                ),
                "preview": dg.MetadataValue.md(preview_md),
            },
        )
        # One evaluation per day, after the materialization it is evaluated against.
        yield from partition_check_events(
            context, [(d.isoformat(), c) for d in days_in(start, end) for c in _check_results(key, result, d)]
        )

    return _bronze


with warnings.catch_warnings():
    # BackfillPolicy is marked beta in Dagster 1.13; it is the documented way to get single-run backfills.
    warnings.simplefilter("ignore", dg.BetaWarning)
    bronze_assets: list[dg.AssetsDefinition] = [build_bronze_asset(spec) for spec in SOURCES.values()]
