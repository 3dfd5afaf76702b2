"""The ShopFlow code location. Importing it does no I/O: resources resolve paths when runs start."""

import dagster as dg

from shopflow_assets.assets.bronze import bronze_assets
from shopflow_assets.assets.silver import silver_assets, silver_checks
from shopflow_assets.resources import LandingZoneResource, QualityRulesResource, WarehouseResource

defs = dg.Definitions(
    assets=[*bronze_assets, *silver_assets],
    asset_checks=silver_checks,
    resources={
        "warehouse": WarehouseResource(),
        "landing": LandingZoneResource(),
        "quality": QualityRulesResource(),
    },
    # Every step writes the same DuckDB file, which admits one writing process: run steps in-process.
    executor=dg.in_process_executor,
)
