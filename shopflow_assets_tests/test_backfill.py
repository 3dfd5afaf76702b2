"""A range run (one single-run backfill) gives exactly the warehouse that day-by-day runs give, in
any order: ten day runs in shuffled order (what ten queued sensor runs may do), once the stale days
they leave behind are rebuilt by the stale-partitions sensor's requests."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.generator import generate
from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import materialize

START, DAYS = date(2024, 1, 1), 10
# Columns that name the run or the clock, not the data.
RUN_COLUMNS = {"_run_id", "_ingested_at", "_processed_at", "run_id", "rejected_at", "evaluated_at",
               "started_at", "finished_at", "raised_at"}  # fmt: skip
COMPARED = ["bronze", "silver", "quarantine"]


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    with connect(warehouse, read_only=True) as con:
        tables = con.execute(
            # bronze through its views: the stored rows differ in internal file ids
            "SELECT table_schema, table_name FROM information_schema.tables WHERE (table_schema IN ('bronze', "
            "'silver', 'quarantine') AND NOT starts_with(table_name, '_'))"
            " OR (table_schema = 'meta' AND table_name = 'removed_duplicates') ORDER BY ALL"
        ).fetchall()
        out = {}
        for schema, table in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [schema, table]
            ).fetchall() if c not in RUN_COLUMNS]  # fmt: skip
            out[f"{schema}.{table}"] = con.execute(
                f"SELECT {', '.join(columns)} FROM {schema}.{table} ORDER BY ALL"
            ).fetchall()
        return out


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("backfill") / "landing"
    generate(root, START, DAYS, 15, seed=5, defect_rate=0.05, late_files=True)
    return root


def test_ten_shuffled_day_runs_equal_one_range_run(landing: Path, tmp_path: Path) -> None:
    from shopflow_assets_tests.test_master_history import stale_requests

    ranged, daily = tmp_path / "ranged.duckdb", tmp_path / "daily.duckdb"
    days = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]
    assert materialize("*", landing, ranged, days[0], days[-1]).success
    random.Random(7).shuffle(days)
    for day in days:
        assert materialize("*", landing, daily, day).success
    instance = dg.DagsterInstance.ephemeral()
    requests = stale_requests(daily, instance)
    assert requests  # some orders were resolved before their catalog or CRM day was built
    for day, keys in requests:
        assert materialize(keys, landing, daily, day).success
    assert stale_requests(daily, instance) == []
    a, b = tables(ranged), tables(daily)
    assert set(a) == set(b) and len(a) >= 15
    for name in a:
        assert a[name] == b[name], name
    assert len(a["silver.orders"]) > 100 and len(a["quarantine.rejected_records"]) > 0
