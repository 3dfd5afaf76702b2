"""The resources every layer's assets, checks and sensors share, and the run executor."""

import dagster as dg

from shopflow_assets.lib.run_worker import shopflow_executor
from shopflow_assets.lib.warehouse import LandingZoneResource, QualityRulesResource, WarehouseResource

defs = dg.Definitions(
    resources={
        "warehouse": WarehouseResource(),
        "landing": LandingZoneResource(),
        "quality": QualityRulesResource(),
    },
    # Every step writes the same DuckDB file, which admits one writing process: run steps in-process
    # (the in-process executor, recording the run worker's identity for the reaper).
    executor=shopflow_executor,
)
