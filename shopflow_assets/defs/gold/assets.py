"""Gold: the dbt models as Dagster assets, in three steps so a run builds them in dependency order.

- `gold_reference`: seeds, staging views and the SCD2 dimensions (small, rebuilt whole);
- `gold_daily`: the incremental facts, daily-partitioned: a run replaces its window [start, end)
  through the dbt vars min_date / max_date, a range in one dbt invocation;
- `gold_marts`: the all-time business marts, rebuilt after their upstream partitions change.

All three run in the writer pool: dbt opens the DuckDB file for writing in its own subprocess while
the step holds no connection, so it never meets the file lock of another writer."""

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from shopflow_assets.defs.gold.facts import FIGURES_ON, day_numbers, fact_metrics, mark_stale_fact_days
from shopflow_assets.defs.gold.project import (
    GoldTranslator,
    dbt_project,
    dbt_resource,
    manifest_path,
    vars_arg,
)
from shopflow_assets.defs.gold.readiness import existing_relations, waiting_models
from shopflow_assets.lib.partitions import daily_partitions, partition_window
from shopflow_assets.lib.policies import WRITER_POOL
from shopflow_assets.lib.warehouse import WarehouseResource

DAILY = "config.materialized:partition_window"  # the window-replacing materialization (macros/partition_window.sql)
MARTS = "path:models/marts/business"
REFERENCE = "resource_type:seed path:models/staging path:models/intermediate path:models/marts/core/dim_*"

# DuckDB's message when another process holds the file: the one dbt failure worth retrying (a
# failing dbt test or model is not transient, so the layers' retry policy does not apply here).
LOCKED = "Could not set lock on file"

_translator = GoldTranslator()
_common: dict[str, Any] = {
    "manifest": manifest_path(),
    "project": dbt_project,
    "dagster_dbt_translator": _translator,
    "pool": WRITER_POOL,
    "backfill_policy": dg.BackfillPolicy.single_run(),
}

Event = (
    dg.Output | dg.AssetMaterialization | dg.AssetCheckResult | dg.AssetCheckEvaluation | dg.AssetObservation
)


@contextmanager
def _dbt_env(database: Path) -> Iterator[None]:
    """The environment dbt inherits: the run's warehouse (the profile reads SHOPFLOW_DUCKDB_PATH), and
    "buildable" indirect selection, so a step runs the tests whose models it builds or already has
    upstream (a relationships test from a mart to a dimension runs with the mart, not before it)."""
    wanted = {"SHOPFLOW_DUCKDB_PATH": str(database), "DBT_INDIRECT_SELECTION": "buildable"}
    old = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, args: Sequence[str]
) -> tuple[list[Event], Exception | None]:
    """Run dbt to the end, keeping its events: their metadata is completed from the warehouse
    once dbt has released the file, and a failed model still records the ones that were built."""
    events: list[Event] = []
    # dbt's per-invocation target folder (compiled SQL, run results, logs) is dropped afterwards:
    # dagster-dbt's default keeps one under dbt_project/target/ for every run, forever.
    with _dbt_env(warehouse.database), tempfile.TemporaryDirectory(prefix="shopflow-dbt-") as target:
        invocation = dbt.cli(list(args), context=context, target_path=Path(target))
        try:
            events.extend(invocation.stream())
        except DagsterDbtCliRuntimeError as exc:
            return events, exc
    return events, None


def _with_metadata(event: Event, models: dict[str, str], metadata: dict[str, dict[str, Any]]) -> Event:
    if isinstance(event, dg.Output) and (extra := metadata.get(models.get(event.output_name, ""))):
        return event.with_metadata({**event.metadata, **extra})
    return event


def _emit(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    args: Sequence[str],
    dbt: DbtCliResource,
    window: tuple[date, date] | None = None,
) -> Iterator[Event]:
    with warehouse.connect(read_only=True) as con:
        existing = existing_relations(con)
    selected = [key.path[-1] for key in context.selected_asset_keys]
    waiting = waiting_models(manifest_path(), selected, existing)
    for model, relation in sorted(waiting.items()):
        context.log.warning(
            f"gold/{model} is not built in this run: it needs {relation}, which no run has built yet "
            "(its source has delivered nothing so far, or its upstream assets were never materialized)"
        )
    if len(waiting) == len(selected):
        return
    if waiting:
        args = [*args, "--exclude", *sorted(waiting)]
    events, failure = _run_dbt(context, dbt, warehouse, args)
    models = {
        e.output_name: context.assets_def.keys_by_output_name[e.output_name].path[-1]
        for e in events
        if isinstance(e, dg.Output)
    }
    observations: list[dg.AssetObservation] = []
    with warehouse.connect() as con:
        metadata = fact_metrics(con, models.values(), window)
        if window is not None:  # also after a failed test: the facts of the window are built
            mark_stale_fact_days(con, window, context.run_id, datetime.now(UTC).replace(tzinfo=None))
            if (window[1] - window[0]).days > 1 and "fact_orders" in models.values():
                observations = [
                    dg.AssetObservation(dg.AssetKey(["gold", model]), partition=day, metadata=figures)
                    for day, figures in day_numbers(con, window).items()
                    for model in FIGURES_ON
                    if model in models.values()
                ]
    for event in events:
        yield _with_metadata(event, models, metadata)
    yield from observations
    if failure is not None and LOCKED in str(failure):
        raise dg.RetryRequested(max_retries=2, seconds_to_wait=5) from failure
    if failure is not None:
        raise failure


@dbt_assets(select=REFERENCE, name="gold_reference", **_common)
def gold_reference(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Seeds, staging views and dimensions: whole, every run (a few thousand rows)."""
    yield from _emit(context, warehouse, ["build"], dbt)


@dbt_assets(select=DAILY, name="gold_daily", partitions_def=daily_partitions, **_common)
def gold_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """The facts of the run's days; inventory_daily also corrects every later day already built."""
    start, end = partition_window(context)
    yield from _emit(context, warehouse, ["build", *vars_arg(start, end)], dbt, window=(start, end))


@dbt_assets(select=MARTS, name="gold_marts", **_common)
def gold_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """The all-time marts, rebuilt whole from the facts."""
    yield from _emit(context, warehouse, ["build"], dbt)


# The marts' AutomationCondition is evaluated by this sensor (on by default), so that a fact
# partition rebuilt by any run refreshes them without a manual step.
gold_automation = dg.AutomationConditionSensorDefinition(
    "gold_marts_automation",
    target=dg.AssetSelection.assets(gold_marts),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuilds the all-time gold marts after their upstream partitions change.",
)

defs = dg.Definitions(
    assets=[gold_reference, gold_daily, gold_marts],
    sensors=[gold_automation],
    resources={"dbt": dbt_resource()},
)
