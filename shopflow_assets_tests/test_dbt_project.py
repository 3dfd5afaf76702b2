"""The dbt project is valid and builds against a bronze warehouse (profiles.yml inside the project)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shopflow_assets.lib.warehouse import REPO_ROOT, connect
from shopflow_assets_tests.conftest import order_line, write_csv


def test_dbt_build_over_bronze(landing: Path, warehouse: Path, load, tmp_path: Path) -> None:
    write_csv(landing / "orders" / "orders_2024-01-01.csv", [order_line("O1"), order_line("O2")])
    load("orders", "2024-01-01")
    env = {**os.environ, "SHOPFLOW_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    project = REPO_ROOT / "dbt_project"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(project),
         "--profiles-dir", str(project), "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    with connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT order_id FROM staging.stg_bronze_orders ORDER BY 1").fetchall() == [
            ("O1",),
            ("O2",),
        ]
