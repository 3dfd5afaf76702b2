"""The code location's shape, as the UI and CLI see it."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from shopflow_assets.definitions import defs
from shopflow_assets.sources import SOURCES


def test_one_bronze_asset_per_source_with_daily_single_run_partitions() -> None:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    bronze = {k for k in graph.get_all_asset_keys() if k.path[0] == "bronze"}
    assert bronze == {dg.AssetKey(["bronze", s]) for s in SOURCES}
    for key in bronze:
        node = graph.get(key)
        assert node.group_name == "bronze"
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert node.partitions_def.start.strftime("%Y-%m-%d") == "2024-01-01"
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.metadata["dagster/table_name"] == f"bronze.{key.path[1]}"
        assert {c.name for c in node.check_keys} == {"files_readable", "partition_has_data"}


def test_importing_the_code_location_does_no_data_io(tmp_path) -> None:
    """Import in a clean process pointed at paths that do not exist: nothing is created or read."""
    env = {
        "SHOPFLOW_DUCKDB_PATH": str(tmp_path / "nope" / "x.duckdb"),
        "SHOPFLOW_LANDING_DIR": str(tmp_path / "l"),
    }
    code = (
        "import sys, shopflow_assets.definitions as d; "
        "print(len(list(d.defs.assets)), any(m.split('.')[0] in ('dbt', 'pandera') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(SOURCES)), "False"]  # and no dbt / pandera import on load
    assert list(tmp_path.iterdir()) == []
