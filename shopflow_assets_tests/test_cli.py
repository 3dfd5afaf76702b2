"""The real CLIs in subprocesses: `dagster asset materialize` and `shopflow summary`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import order_line, write_csv, write_json, write_lock_held

BIN = Path(sys.executable).parent
MODULE = ["-m", "shopflow_assets.definitions"]


@pytest.fixture
def env(tmp_path: Path, landing: Path, warehouse: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {**os.environ, "DAGSTER_HOME": str(home), "SHOPFLOW_LANDING_DIR": str(landing),
            "SHOPFLOW_DUCKDB_PATH": str(warehouse)}  # fmt: skip


@pytest.fixture
def three_days(landing: Path) -> None:
    for day, n in (("2024-01-01", 2), ("2024-01-02", 3), ("2024-01-03", 4)):
        write_csv(
            landing / "orders" / f"orders_{day}.csv", [order_line(f"{day}-{i}", day=day) for i in range(n)]
        )
    write_csv(
        landing / "orders" / "orders_2024-01-02_late.csv", [order_line("L1", day="2024-01-02", quantity="x")]
    )
    write_json(landing / "products" / "products_2024-01-01.json", {"snapshot_date": "2024-01-01", "products": [
        {"product_id": "P1", "name": "Tee", "cost_price": 1, "retail_price": 2}]})  # fmt: skip


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _counts(warehouse: Path) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            "SELECT _partition_date::VARCHAR, count(*) FROM bronze.orders GROUP BY 1 ORDER BY 1"
        ).fetchall()


def test_materialize_one_partition(env, three_days, warehouse: Path) -> None:
    _run(
        env,
        "dagster",
        "asset",
        "materialize",
        *MODULE,
        "--select",
        "group:bronze",
        "--partition",
        "2024-01-02",
    )
    assert _counts(warehouse) == [("2024-01-02", 3)]
    with connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT record_key, rule FROM quarantine.rejected_records").fetchall() == [
            ("L1", "type_cast")
        ]
    with dg.instance_for_test(temp_dir=env["DAGSTER_HOME"]) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["bronze", "orders"]))
        assert event is not None
        materialization = event.asset_materialization
        assert materialization.partition == "2024-01-02"
        assert materialization.metadata["dagster/row_count"].value == 3
        assert materialization.metadata["rows_rejected"].value == 1
        assert materialization.metadata["files_read"].value == 2
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["bronze", "products"]), "partition_has_data")]
        )
        assert next(iter(checks.values())).evaluation.passed is False  # no products file on 2024-01-02


def test_materialize_a_range_in_one_run(env, three_days, warehouse: Path) -> None:
    proc = _run(
        env, "dagster", "asset", "materialize", *MODULE,
        "--select", "group:bronze", "--partition-range", "2024-01-01...2024-01-03",
    )  # fmt: skip
    assert _counts(warehouse) == [("2024-01-01", 2), ("2024-01-02", 3), ("2024-01-03", 4)]
    with dg.instance_for_test(temp_dir=env["DAGSTER_HOME"]) as instance:
        assert len(instance.get_runs()) == 1
        keys = instance.get_materialized_partitions(dg.AssetKey(["bronze", "orders"]))
        assert keys == {"2024-01-01", "2024-01-02", "2024-01-03"}
    assert "RUN_SUCCESS" in proc.stdout + proc.stderr

    summary = _run(env, "shopflow", "summary").stdout.splitlines()
    assert [line.split() for line in summary if line.startswith(("2024-", "total"))] == [
        ["2024-01-01", "2", "1"],  # orders, products
        ["2024-01-02", "3"],
        ["2024-01-03", "4"],
        ["total", "9", "1"],
    ]
    assert ["orders", "bronze", "type_cast", "1"] in [line.split() for line in summary]


def test_summary_while_a_run_holds_the_write_lock_says_so_in_one_line(env, warehouse: Path) -> None:
    from shopflow_assets.lib.schema import ensure_schema

    with connect(warehouse) as con:
        ensure_schema(con)
    with write_lock_held(warehouse):  # another process, as a run in progress would be
        proc = subprocess.run(
            [str(BIN / "shopflow"), "summary", "--lock-timeout", "1"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (1, "")
    (line,) = proc.stderr.splitlines()
    assert line.startswith(
        f"Cannot open the warehouse at {warehouse}: {warehouse} is locked by another process"
    )
    assert "(waited 1 s)" in line
