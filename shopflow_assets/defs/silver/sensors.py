"""Rebuild the days that late deliveries changed (meta.stale_partitions).

A products or customer-master build records the already-built days of silver/orders and
silver/inventory_movements whose stored lookups no longer match the versions (an unknown product that
is now known, a customer id that now has a key); other builds may record days too (cross-day rules).
This sensor requests one run per such day of exactly the stale tables (and what reads them); the
run's build clears the day. It reads the warehouse read-only and skips the tick while a run holds
the write lock.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import duckdb

from shopflow_assets.defs.bronze.sensors import INTERVAL_SECONDS, LOCK_WAIT_SECONDS
from shopflow_assets.lib.warehouse import WarehouseLockedError, WarehouseResource

SENSOR_NAME = "stale_partitions"
JOB_NAME = "rebuild_stale_days"


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["silver", table])


rebuild_stale_days_job = dg.define_asset_job(
    JOB_NAME,
    # any silver table may be recorded stale (orders and stock movements by late master data, other
    # tables by cross-day rules): the job holds them all, each run selects the stale ones
    selection=dg.AssetSelection.groups("silver").downstream(),
    description="Days of silver tables whose stored lookups or cross-day verdicts late deliveries changed.",
    tags={"shopflow/reason": "stale partitions"},
)


def stale_days(warehouse: WarehouseResource) -> list[tuple[str, list[str], str]]:
    """(day, stale tables, detected_at) per day, oldest first; read-only."""
    if not warehouse.database.exists():
        return []
    with warehouse.connect(read_only=True, lock_timeout=LOCK_WAIT_SECONDS) as con:
        try:
            rows = con.execute(
                """SELECT partition_date::VARCHAR, list(table_name ORDER BY table_name),
                          max(detected_at)::VARCHAR
                   FROM meta.stale_partitions GROUP BY 1 ORDER BY 1"""
            ).fetchall()
        except duckdb.CatalogException:  # a warehouse from before versioned master data
            return []
    return [(day, tables, at) for day, tables, at in rows]


def _rebuilt(context: dg.SensorEvaluationContext, tables: list[str]) -> list[dg.AssetKey]:
    """The stale tables (a whole multi-asset, for the customer master) and what reads them."""
    selection = dg.AssetSelection.assets(*(_key(t) for t in tables)).required_multi_asset_neighbors()
    if context.repository_def is None:
        return [_key(t) for t in tables]
    keys = selection.downstream().resolve(context.repository_def.asset_graph)
    return sorted(keys, key=lambda k: k.to_user_string())


PENDING = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _days(tags: dict[str, str]) -> list[str]:
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    first, last = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    if not (first and last):
        return []
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def pending_builds(context: dg.SensorEvaluationContext) -> set[tuple[str, dg.AssetKey]]:
    """(day, asset) that runs not yet finished will build: those days need no rebuild of their own
    (a file sensor's run for the day, say, resolves against the versions as they are by then)."""
    repo = context.repository_def
    out: set[tuple[str, dg.AssetKey]] = set()
    for run in context.instance.get_runs(filters=dg.RunsFilter(statuses=PENDING)):
        keys = run.asset_selection
        if keys is None and repo is not None and repo.has_job(run.job_name):
            keys = repo.get_job(run.job_name).asset_layer.executable_asset_keys
        out |= {(day, key) for day in _days(run.tags) for key in keys or ()}
    return out


@dg.sensor(
    name=SENSOR_NAME,
    description="Rebuilds exactly the silver days that late deliveries changed (meta.stale_partitions): orders / "
    "inventory days whose customer or product lookups late master data changed, and the like.",
    job=rebuild_stale_days_job,
    minimum_interval_seconds=INTERVAL_SECONDS,
    # on by default: rebuilding what late deliveries changed is what keeps silver a function of them
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def stale_partitions_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult:
    try:
        days = stale_days(warehouse)
    except WarehouseLockedError:
        return dg.SensorResult(skip_reason="a run holds the warehouse; looking for stale days next tick")
    pending = pending_builds(context)
    requests, waiting = [], []
    for day, tables, detected_at in days:
        if all((day, _key(t)) in pending for t in tables):
            waiting.append(day)
            continue
        requests.append(
            dg.RunRequest(
                # one request per detection: a day made stale again later is rebuilt again
                run_key=f"{day}|{','.join(tables)}|{detected_at}",
                partition_key=day,
                asset_selection=_rebuilt(context, tables),
                tags={"shopflow/stale_tables": ",".join(tables)},
            )
        )
    skip = None
    if not requests:
        skip = (
            f"stale days {', '.join(waiting)} are rebuilt by runs already queued or running"
            if waiting
            else "no day resolves master data differently"
        )
    return dg.SensorResult(run_requests=requests, skip_reason=skip)
