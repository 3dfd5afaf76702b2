"""Silver asset factory: one asset per silver table (a multi-asset for the customer master),
each with its rule checks and a reconciliation check built from the same registry."""

import json
import warnings
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from shopflow_assets.defs.silver.reconcile import Reconciliation, reconcile
from shopflow_assets.defs.silver.tables import SILVER_TABLES, SilverTable, column_descriptions
from shopflow_assets.lib.metadata import (
    OWNERS,
    markdown_table,
    partition_check_events,
    table_schema,
)
from shopflow_assets.lib.partitions import daily_partitions, days_in, partition_label, partition_window
from shopflow_assets.lib.policies import TRANSIENT_RETRIES, WRITER_POOL
from shopflow_assets.lib.schema import ensure_schema
from shopflow_assets.lib.sql import ident
from shopflow_assets.lib.warehouse import QualityRulesResource, WarehouseResource

CHECK_CRITICAL = "critical_rules"
CHECK_QUALITY = "quality_rules"
CHECK_RECONCILIATION = "reconciliation"
CUSTOMER_OUTPUTS = ("customers", "customer_id_map", "customer_duplicates")

if TYPE_CHECKING:
    from shopflow_assets.defs.silver.build import DayScore, RuleOutcome, SilverBuild


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["silver", name])


def _check_specs(table: SilverTable) -> list[dg.AssetCheckSpec]:
    key = _key(table.name)
    return [
        dg.AssetCheckSpec(
            CHECK_CRITICAL, asset=key, blocking=True,
            description="No critical rule fails for more than its threshold (rules.yaml) of a partition's records.",
        ),
        dg.AssetCheckSpec(
            CHECK_QUALITY, asset=key,
            description="No high/medium/low rule above its threshold; quality score at least the minimum.",
        ),
    ]  # fmt: skip


def _rule_checks(
    table: SilverTable, build: "SilverBuild", day: date | None = None
) -> list[dg.AssetCheckResult]:
    """The rule checks over the whole run, or over one day of it."""
    rules = [r for r in build.rules if day is None or r.day == day]
    scores = [s for s in build.scores if day is None or s.day == day]
    return [_critical_check(table, rules), _quality_check(table, rules, scores, build.min_quality_score)]


def _samples(rules: Sequence["RuleOutcome"]) -> dg.MetadataValue:
    """A few failing records per rule and day, with their keys, as JSON the UI can expand."""
    samples = {f"{r.day} {r.rule_id}": r.samples for r in rules if r.samples}
    return dg.MetadataValue.json(json.loads(json.dumps(samples, default=str)))


def _critical_check(table: SilverTable, rules: Sequence["RuleOutcome"]) -> dg.AssetCheckResult:
    """Fails when a critical rule's failure rate in a partition is above its threshold: a
    systematically broken delivery. Below it, records a critical rule rejected are quarantined."""
    critical = [r for r in rules if r.severity == "critical"]
    breached = [r for r in critical if r.blocking]
    rejected = sum(r.failed for r in critical if r.action == "reject")
    if breached:
        description = "critical rules above their threshold: " + ", ".join(
            f"{r.day} {r.rule_id} ({r.failed} of {r.rows_checked}, {r.failure_rate:.2%} > {r.threshold:.2%})"
            for r in breached
        )
    else:
        description = (
            f"no critical rule above its threshold; {rejected} record(s) quarantined by critical rules"
        )
    return dg.AssetCheckResult(
        asset_key=_key(table.name),
        check_name=CHECK_CRITICAL,
        passed=not breached,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "critical_failures_rejected": rejected,
            "critical_failures_kept": sum(r.failed for r in critical if r.action == "flag"),
            "critical_rules_breached": len(breached),
            "samples": _samples(critical),
        },
    )


def _quality_check(
    table: SilverTable, rules: Sequence["RuleOutcome"], scores: Sequence["DayScore"], min_score: float
) -> dg.AssetCheckResult:
    breached = sorted({r.rule_id for r in rules if r.severity != "critical" and r.breached})
    low_days = [
        s.day.isoformat() for s in scores if s.quality_score is not None and s.quality_score < min_score
    ]
    checked = sum(s.rows_checked for s in scores)
    score = sum(s.rows_passing for s in scores) / checked if checked else None
    description = f"quality score {score:.2%}" if score is not None else "no records"
    if breached:
        description += f"; breached: {', '.join(breached)}"
    if low_days:
        description += f"; score below {min_score:.0%} on {', '.join(low_days)}"
    rules_md = markdown_table(
        ["day", "rule", "severity", "action", "failed", "rate", "threshold", "status"],
        [
            (r.day, r.rule_id, r.severity, r.action, r.failed, f"{r.failure_rate:.2%}", f"{r.threshold:.0%}",
             "BREACHED" if r.breached else "ok")
            for r in rules
            if r.failed
        ],
    )  # fmt: skip
    return dg.AssetCheckResult(
        asset_key=_key(table.name),
        check_name=CHECK_QUALITY,
        passed=not breached and not low_days,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "quality_score": dg.MetadataValue.float(round(score, 6) if score is not None else float("nan")),
            "rules": dg.MetadataValue.md(rules_md),
            "samples": _samples(rules),
        },
    )


def _reconciliation_result(table: SilverTable, rows: Sequence[Reconciliation]) -> dg.AssetCheckResult:
    bad = [r for r in rows if not r.ok]
    return dg.AssetCheckResult(
        asset_key=_key(table.name), check_name=CHECK_RECONCILIATION, passed=not bad,
        severity=dg.AssetCheckSeverity.ERROR,
        description="reconciled" if not bad else "records unaccounted for on " + ", ".join(
            f"{r.day} ({r.difference:+d})" for r in bad),
        metadata={"partitions": dg.MetadataValue.md(markdown_table(
            ["day", "bronze", "silver", "quarantined", "duplicates", "difference"],
            [(r.day, r.bronze, r.silver, r.quarantined, r.duplicates, r.difference) for r in rows]))},
    )  # fmt: skip


def _record_reconciliation(
    con: duckdb.DuckDBPyConnection, table: SilverTable, rows: Sequence[Reconciliation], run_id: str
) -> None:
    con.executemany(
        "INSERT INTO meta.quality_results VALUES (?, ?, ?, 'reconciliation', "
        "'bronze rows = silver + quarantined + removed duplicates', 'critical', 'check', ?, ?, ?, ?, 0, ?, now())",
        [
            [run_id, table.name, r.day, r.bronze, abs(r.difference), r.bronze - abs(r.difference),
             abs(r.difference) / r.bronze if r.bronze else 0.0, not r.ok]
            for r in rows
        ],
    )  # fmt: skip


def _table_metadata(con: duckdb.DuckDBPyConnection, name: str, start: date, end: date) -> dict:
    table = f"silver.{ident(name)}"
    window = [start, end]
    (rows,) = con.execute(
        f"SELECT count(*) FROM {table} WHERE _partition_date >= ? AND _partition_date < ?", window
    ).fetchone()
    # Header and rows are read before the next execute: a connection holds one result at a time.
    preview = con.execute(
        f"SELECT * EXCLUDE (_run_id, _processed_at) FROM {table} "
        "WHERE _partition_date >= ? AND _partition_date < ? LIMIT 5",
        window,
    )
    preview_md = markdown_table([d[0] for d in preview.description], preview.fetchall())
    columns = con.execute(f"DESCRIBE {table}").fetchall()
    return {
        "dagster/row_count": rows,
        "dagster/table_name": f"silver.{name}",
        "dagster/column_schema": table_schema([(c[0], c[1]) for c in columns], column_descriptions(name)),
        "preview": dg.MetadataValue.md(preview_md),
    }


def _build_metadata(build: "SilverBuild") -> dict:
    return {
        "rows_checked": build.total("rows_checked"),
        "rows_rejected": build.total("rows_rejected"),
        "rows_flagged": build.total("rows_flagged"),
        "duplicates_removed": build.total("duplicates_removed"),
        "quality_score": dg.MetadataValue.float(
            round(build.quality_score, 6) if build.quality_score is not None else float("nan")
        ),
        "partitions": dg.MetadataValue.md(
            markdown_table(
                ["day", "checked", "passing", "rejected", "flagged", "duplicates", "score"],
                [
                    (s.day, s.rows_checked, s.rows_passing, s.rows_rejected, s.rows_flagged, s.duplicates_removed,
                     f"{s.quality_score:.2%}" if s.quality_score is not None else "")
                    for s in build.scores
                ],
            )
        ),
    }  # fmt: skip


def _materialize(
    context: dg.AssetExecutionContext,
    table: SilverTable,
    warehouse: WarehouseResource,
    quality: QualityRulesResource,
) -> Iterator[dg.MaterializeResult | dg.Output | dg.AssetCheckEvaluation]:
    # Pandera and polars load in the run, on a thread while DuckDB stages (build_silver), not when
    # the code location is imported; nothing here may import quality.validate.
    from shopflow_assets.defs.silver.build import QualityRulesError, build_silver, publish_rows
    from shopflow_assets.defs.silver.customer_master import publish_customers
    from shopflow_assets.defs.silver.products_history import publish_products
    from shopflow_assets.defs.silver.versions import MasterDataShapeError
    from shopflow_assets.quality.errors import ContractError

    start, end = partition_window(context)
    from shopflow_assets.quality.config import QualityConfigError

    try:
        config = quality.load()
    except QualityConfigError as exc:  # not transient: retrying cannot fix a bad rules file
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    publish = {"products": publish_products, "customers": publish_customers}.get(table.name) or publish_rows(
        table.name
    )
    with warehouse.connect() as con:
        ensure_schema(con)
        try:
            build = build_silver(con, table, config, start, end, context.run.run_id, publish)
        except (QualityRulesError, ContractError, MasterDataShapeError) as exc:  # retrying cannot fix these
            raise dg.Failure(
                description=f"silver/{table.name} for {partition_label(start, end)}: {exc}",
                allow_retries=False,
            ) from exc
        except Exception as exc:
            raise RuntimeError(f"silver/{table.name} for {partition_label(start, end)}: {exc}") from exc
        checks = _rule_checks(table, build)
        outputs = CUSTOMER_OUTPUTS if table.name == "customers" else (table.name,)
        metadata = {name: _table_metadata(con, name, start, end) for name in outputs}
    for check in checks:
        if not check.passed:
            context.log.warning(f"silver/{table.name} check {check.check_name} failed: {check.description}")
    for i, name in enumerate(outputs):
        yield dg.MaterializeResult(
            asset_key=_key(name), metadata={**metadata[name], **(_build_metadata(build) if i == 0 else {})}
        )
    # One evaluation per day, after the materializations they are evaluated against.
    yield from partition_check_events(
        context,
        [
            (day.isoformat(), check)
            for day in days_in(start, end)
            for check in _rule_checks(table, build, day)
        ],
    )


def build_silver_asset(table: SilverTable) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(["bronze", b]) for b in table.bronze] + [_key(d) for d in table.silver_deps]
    outputs = CUSTOMER_OUTPUTS if table.name == "customers" else (table.name,)
    descriptions = {
        "customer_id_map": "Every CRM and web-shop id mapped to its customer_key, as versions (valid_from/valid_to).",
        "customer_duplicates": "Merged people: kept id, merged ids, match reason and source systems, as versions.",
    }
    specs = [
        dg.AssetSpec(
            _key(name),
            deps=deps,
            group_name="silver",
            owners=OWNERS,
            description=descriptions.get(name, table.description),
            partitions_def=daily_partitions,
            kinds={"duckdb", "pandera"} if name == table.name else {"duckdb"},
            metadata={"dagster/table_name": f"silver.{name}", "business_key": table.key},
        )
        for name in outputs
    ]

    @dg.multi_asset(
        name=f"silver_{table.name}",
        specs=specs,
        check_specs=_check_specs(table),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WRITER_POOL,
        retry_policy=TRANSIENT_RETRIES,
    )
    def _silver(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, quality: QualityRulesResource
    ) -> Iterator[dg.MaterializeResult | dg.Output | dg.AssetCheckEvaluation]:
        yield from _materialize(context, table, warehouse, quality)

    return _silver


def build_reconciliation_check(table: SilverTable) -> dg.AssetChecksDefinition:
    """Counts every partition of the run independently from the persisted tables, read-only, so it
    can also be re-run on its own from the UI after anything touched the tables."""

    @dg.asset_check(
        asset=_key(table.name),
        name=CHECK_RECONCILIATION,
        blocking=True,
        pool=WRITER_POOL,
        partitions_def=daily_partitions,
        description="bronze rows = silver rows + quarantined rows + removed duplicates, per partition.",
    )
    def _reconciliation(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
        keys = context.partition_key_range
        start, end = date.fromisoformat(keys.start), date.fromisoformat(keys.end) + timedelta(days=1)
        with warehouse.connect(read_only=True) as con:
            rows = reconcile(con, table, start, end)
        with warehouse.connect() as con:
            _record_reconciliation(con, table, rows, context.run.run_id)
        yield from partition_check_events(
            context, [(r.day.isoformat(), _reconciliation_result(table, [r])) for r in rows]
        )

    return _reconciliation


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    warnings.simplefilter("ignore", dg.PreviewWarning)
    silver_assets: list[dg.AssetsDefinition] = [build_silver_asset(t) for t in SILVER_TABLES.values()]
    silver_checks: list[dg.AssetChecksDefinition] = [
        build_reconciliation_check(t) for t in SILVER_TABLES.values()
    ]
