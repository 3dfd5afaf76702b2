"""The ShopFlow code location. Importing it does no I/O: resources resolve paths when runs start."""

import warnings

import dagster as dg

from shopflow_assets.assets.bronze import bronze_assets
from shopflow_assets.assets.silver import silver_assets, silver_checks
from shopflow_assets.resources import LandingZoneResource, QualityRulesResource, WarehouseResource
from shopflow_assets.run_worker import shopflow_executor
from shopflow_assets.schedules import daily_refresh_job, daily_refresh_schedule
from shopflow_assets.sensors import alert_on_run_failure, file_jobs, file_sensors
from shopflow_assets.sensors.reaper import reap_dead_runs
from shopflow_assets.sensors.stale import stale_partitions_sensor

# Dagster's CLI resolves `--select '*'` and `--select 'group:...'` through its own beta parameter
# (AssetSelection.all/groups(include_sources=...)) and printed a BetaWarning on every such run. Filtered
# once here, where every process that loads the location passes, and only for that Dagster module.
warnings.filterwarnings(
    "ignore", category=dg.BetaWarning, module=r"dagster\._core\.definitions\.antlr_asset_selection"
)

defs = dg.Definitions(
    assets=[*bronze_assets, *silver_assets],
    asset_checks=silver_checks,
    jobs=[daily_refresh_job, *file_jobs],
    schedules=[daily_refresh_schedule],
    sensors=[*file_sensors, alert_on_run_failure, reap_dead_runs, stale_partitions_sensor],
    resources={
        "warehouse": WarehouseResource(),
        "landing": LandingZoneResource(),
        "quality": QualityRulesResource(),
    },
    # Every step writes the same DuckDB file, which admits one writing process: run steps in-process
    # (the in-process executor, recording the run worker's identity for the reaper).
    executor=shopflow_executor,
)
