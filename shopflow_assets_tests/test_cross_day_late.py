"""Cross-day uniqueness when the earlier day's file arrives after the later day was built: the later day
is recorded as stale, and rebuilding it (as the stale_partitions sensor does) gives the same history as
delivering the days in date order."""

from __future__ import annotations

import shutil
from pathlib import Path

from shopflow_assets_tests.conftest import materialize
from shopflow_assets_tests.test_silver_rule_semantics import D1, D2, _land_two_days, _orders_outcome, _q


def test_a_late_earlier_delivery_makes_the_later_day_stale_and_its_rebuild_matches_date_order(
    tmp_path: Path,
) -> None:
    landing, late = tmp_path / "landing", tmp_path / "late"
    _land_two_days(landing)
    in_date_order = tmp_path / "in_order.duckdb"
    assert materialize("*", landing, in_date_order, D1, D2).success

    late_files = [f for f in landing.rglob(f"*_{D1}.*")]
    for f in late_files:  # D1's files have not arrived yet
        (late / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(f, late / f.parent.name / f.name)
    warehouse = tmp_path / "late.duckdb"
    assert materialize("*", landing, warehouse, D2).success
    assert _q(warehouse, "SELECT count(*) FROM silver.orders WHERE order_id = 'O1'") == [
        (1,)
    ]  # kept, for now
    assert _q(warehouse, "SELECT count(*) FROM meta.stale_partitions") == [(0,)]

    for f in late_files:  # D1 arrives and is built: D2's verdict on O1 is now out of date
        shutil.move(late / f.parent.name / f.name, f)
    assert materialize("*", landing, warehouse, D1).success
    assert _q(warehouse, "SELECT table_name, partition_date::VARCHAR, rows_changed, detected_by "
                         "FROM meta.stale_partitions") == [("orders", D2, 1, "order_id_unique")]  # fmt: skip

    assert materialize("group:silver", landing, warehouse, D2).success  # the stale day's rebuild
    assert _q(warehouse, "SELECT count(*) FROM meta.stale_partitions") == [(0,)]
    assert _orders_outcome(warehouse) == _orders_outcome(in_date_order)
