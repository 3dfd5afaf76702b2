"""The code location's shape, as the UI and CLI see it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg

from shopflow_assets.definitions import defs
from shopflow_assets.defs.silver.tables import SILVER_TABLES
from shopflow_assets.sources import SOURCES

SILVER_KEYS = {dg.AssetKey(["silver", n]) for n in [*SILVER_TABLES, "customer_id_map", "customer_duplicates"]}


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


def test_silver_assets_depend_on_their_sources_and_carry_blocking_checks() -> None:
    graph = defs.get_repository_def().asset_graph
    assert {k for k in graph.get_all_asset_keys() if k.path[0] == "silver"} == SILVER_KEYS
    parents = {k.path[1]: {p.to_user_string() for p in graph.get(k).parent_keys} for k in SILVER_KEYS}
    assert parents["orders"] == {"bronze/orders", "silver/customer_id_map", "silver/products"}
    assert parents["customers"] == {"bronze/customers", "bronze/accounts"}
    for name in SILVER_TABLES:
        node = graph.get(dg.AssetKey(["silver", name]))
        assert node.group_name == "silver"
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        specs = {c.name: c.blocking for c in defs.get_assets_def(node.key).check_specs}
        assert specs == {"critical_rules": True, "quality_rules": False}
    reconciliation = {
        spec.asset_key.path[1]: spec.blocking
        for checks in defs.asset_checks
        for spec in checks.check_specs
        if spec.name == "reconciliation"
    }
    assert reconciliation == dict.fromkeys(SILVER_TABLES, True)


def test_importing_the_code_location_does_no_data_io(tmp_path) -> None:
    """Import in a clean process pointed at paths that do not exist: nothing is created or read."""
    env = {
        "SHOPFLOW_DUCKDB_PATH": str(tmp_path / "nope" / "x.duckdb"),
        "SHOPFLOW_LANDING_DIR": str(tmp_path / "l"),
    }
    code = (
        "import sys, shopflow_assets.definitions as d; "
        "print(len(d.defs.resolve_all_asset_keys()), "
        "any(m.split('.')[0] in ('pandera', 'polars') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # the validation libraries (Pandera, Polars) load in runs only
    gold = sum(1 for k in defs.resolve_all_asset_keys() if k.path[0] == "gold")
    assert gold >= 20
    assert out.stdout.split() == [str(len(SOURCES) + len(SILVER_KEYS) + gold), "False"]
    assert list(tmp_path.iterdir()) == []


def test_the_0200_schedule_runs_yesterdays_partition_of_every_asset() -> None:
    schedule = defs.get_schedule_def("daily_refresh_0200_utc")
    assert schedule.cron_schedule == "0 2 * * *"
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2024, 1, 5, 2, 0, tzinfo=UTC))
    assert [r.partition_key for r in schedule.evaluate_tick(context).run_requests] == ["2024-01-04"]
    job = defs.resolve_job_def("daily_refresh")
    assert set(job.asset_layer.selected_asset_keys) == set(defs.resolve_asset_graph().get_all_asset_keys())


def test_every_asset_has_an_owner_and_described_columns_and_the_schedule_a_description() -> None:
    from shopflow_assets.defs.silver.tables import COLUMN_DESCRIPTIONS
    from shopflow_assets.quality.contracts import CONTRACTS

    graph = defs.resolve_asset_graph()
    assert {k.to_user_string(): graph.get(k).owners for k in graph.get_all_asset_keys()} == {
        k.to_user_string(): ["team:data-platform"] for k in graph.get_all_asset_keys()
    }
    for name in SOURCES:  # bronze: the registry's descriptions, known before any run
        columns = graph.get(dg.AssetKey(["bronze", name])).metadata["dagster/column_schema"].columns
        assert [c.name for c in columns if not c.description] == [], name
    for name, contract in CONTRACTS.items():  # silver: the contracts carry the same descriptions
        fields = contract.columns
        assert {c: f.description for c, f in fields.items()} == {
            c: COLUMN_DESCRIPTIONS[name][c] for c in fields
        }
    description = defs.get_schedule_def("daily_refresh_0200_utc").description
    assert description is not None and "02:00 UTC" in description and "yesterday" in description


def test_the_cli_prints_no_warning_once_the_code_location_is_loaded(tmp_path) -> None:
    """`--select 'group:...'` went through Dagster's beta selection API: a BetaWarning on every run.
    The one warning left is the CLI command's own SupersessionWarning, raised by `dagster asset
    materialize` itself before it loads any code location (so nothing in definitions.py can reach it)."""
    import os
    import re
    import shutil
    from pathlib import Path

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[1] / ".dagster_home" / "dagster.yaml", home)
    env = {**os.environ, "DAGSTER_HOME": str(home), "SHOPFLOW_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
           "SHOPFLOW_LANDING_DIR": str(tmp_path / "landing")}  # fmt: skip
    (tmp_path / "landing").mkdir()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "shopflow_assets.definitions",
         "--select", "group:bronze", "--partition", "2024-01-03"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = re.findall(r"^(\S+?):\d+: (\w+Warning): (.*)$", proc.stderr, re.MULTILINE)
    assert [(Path(f).name, w) for f, w, _ in warnings] == [("core.py", "SupersessionWarning")]
    assert warnings[0][2].startswith("Function `asset_materialize_command` is superseded")
