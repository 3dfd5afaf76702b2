"""The ShopFlow code location. Importing it does no I/O: resources resolve paths when runs start."""

import dagster as dg

from shopflow_assets.assets.bronze import bronze_assets
from shopflow_assets.assets.silver import silver_assets, silver_checks
from shopflow_assets.resources import LandingZoneResource, QualityRulesResource, WarehouseResource
from shopflow_assets.schedules import daily_refresh_job, daily_refresh_schedule
from shopflow_assets.sensors import alert_on_run_failure, file_sensors

defs = dg.Definitions(
    assets=[*bronze_assets, *silver_assets],
    asset_checks=silver_checks,
    jobs=[daily_refresh_job],
    schedules=[daily_refresh_schedule],
    sensors=[*file_sensors, alert_on_run_failure],
    resources={
        "warehouse": WarehouseResource(),
        "landing": LandingZoneResource(),
        "quality": QualityRulesResource(),
    },
    # Every step writes the same DuckDB file, which admits one writing process: run steps in-process.
    executor=dg.in_process_executor,
)
