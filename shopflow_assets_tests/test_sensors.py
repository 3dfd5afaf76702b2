"""File-arrival sensors evaluated with build_sensor_context against a temp landing folder and instance."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.definitions import defs
from shopflow_assets.lib.warehouse import LandingZoneResource, WarehouseResource
from shopflow_assets.sources import SOURCES
from shopflow_assets_tests.conftest import order_line, write_csv, write_json, write_lock_held

SENSOR = "orders_files"


def _age(path: Path, seconds: float = 60) -> Path:
    """Pretend the writer finished a while ago (the sensor waits for files to settle)."""
    past = time.time() - seconds
    os.utime(path, (past, past))
    return path


def _orders(landing: Path, day: str, n: int = 2, suffix: str = "", aged: bool = True) -> Path:
    path = write_csv(landing / "orders" / f"orders_{day}{suffix}.csv", [order_line(f"{day}{suffix}-{i}", day=day)
                                                                         for i in range(n)])  # fmt: skip
    return _age(path) if aged else path


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def make_tick(
    landing: Path, instance: dg.DagsterInstance, sensor_name: str = SENSOR, warehouse: Path | None = None
):
    """Evaluate a sensor once per call, carrying the cursor from tick to tick like the daemon does.
    The warehouse defaults to the `warehouse` fixture's path beside `landing`."""
    sensor = defs.get_sensor_def(sensor_name)
    database = warehouse or landing.parent / "warehouse" / "shopflow.duckdb"
    state: dict[str, str | None] = {"cursor": None}

    def _tick() -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=state["cursor"],
            repository_def=defs.get_repository_def(),
            resources={
                "landing": LandingZoneResource(path=str(landing)),
                "warehouse": WarehouseResource(path=str(database)),
            },
        )
        result = sensor(context)
        if result.cursor is not None:  # None: the tick left the cursor as it was
            state["cursor"] = result.cursor
        return result

    return _tick


@pytest.fixture
def tick(landing: Path, instance: dg.DagsterInstance):
    return make_tick(landing, instance)


def _requests(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [(r.partition_key, r.run_key) for r in result.run_requests or []]


def test_a_new_file_requests_its_partition_once(landing: Path, tick) -> None:
    _orders(landing, "2024-01-05")
    first = tick()
    ((partition, key),) = _requests(first)
    assert partition == "2024-01-05" and key.startswith("orders:2024-01-05:")
    # the run covers bronze and everything downstream of it, through to the gold facts and marts
    job = defs.resolve_job_def(defs.get_sensor_def(SENSOR).job_name)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {k for k in keys if not k.startswith("gold/")} == {"bronze/orders", "silver/orders"}
    assert {"gold/stg_orders", "gold/fact_orders", "gold/daily_sales", "gold/monthly_revenue"} <= keys
    assert "gold/dim_products" not in keys  # not downstream of orders
    second = tick()
    assert _requests(second) == [] and "no new or changed orders files" in (
        second.skip_reason.skip_message or ""
    )


def test_a_changed_file_requests_again_and_the_same_content_does_not(landing: Path, tick) -> None:
    path = _orders(landing, "2024-01-05", n=2)
    (first,) = _requests(tick())
    path.write_bytes(path.read_bytes())  # dropped again, same content: new mtime, same hash
    _age(path, 30)
    assert _requests(tick()) == []
    _orders(landing, "2024-01-05", n=3)  # corrected file, same name
    (second,) = _requests(tick())
    assert second[0] == "2024-01-05" and second[1] != first[1]


def test_a_file_still_being_written_waits_until_complete(landing: Path, tick) -> None:
    part = landing / "orders" / "orders_2024-01-06.csv.part"
    part.parent.mkdir(parents=True)
    part.write_text("order_id\n")
    assert _requests(tick()) == []
    growing = _orders(landing, "2024-01-06", n=2, aged=False)  # fresh mtime: not settled
    result = tick()
    assert _requests(result) == [] and "still being written" in result.skip_reason.skip_message
    with growing.open("a") as fh:  # still growing at the next tick
        fh.write(",".join(order_line("late-line", day="2024-01-06")) + "\n")
    assert _requests(tick()) == []
    # unchanged since the previous tick: complete
    assert [p for p, _ in _requests(tick())] == ["2024-01-06"]


def test_a_late_file_requests_only_its_old_partition(landing: Path, tick) -> None:
    for day in ("2024-01-03", "2024-01-09", "2024-01-10"):
        _orders(landing, day)
    assert [p for p, _ in _requests(tick())] == ["2024-01-03", "2024-01-09", "2024-01-10"]
    _orders(landing, "2024-01-03", suffix="_late")
    assert [p for p, _ in _requests(tick())] == ["2024-01-03"]


def test_all_new_files_of_a_day_go_into_one_run(landing: Path, tick) -> None:
    _orders(landing, "2024-01-04")
    _orders(landing, "2024-01-04", suffix="_part2")
    _orders(landing, "2024-01-04", suffix="_store-ST004")
    assert [p for p, _ in _requests(tick())] == ["2024-01-04"]


def test_badly_named_files_are_skipped_with_a_reason(landing: Path, tick) -> None:
    bad = landing / "orders" / "orders-2024-01-05.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("x")
    _age(bad)
    (landing / "orders" / "orders_2024-13-45.csv").write_text("x")
    result = tick()
    assert _requests(result) == []
    message = result.skip_reason.skip_message
    assert "orders-2024-01-05.csv: name does not match" in message
    assert "orders_2024-13-45.csv: 2024-13-45 is not a valid date" in message


def test_a_file_for_a_day_that_is_not_a_partition_yet_is_held_back(landing: Path, tick) -> None:
    _orders(landing, "2099-01-01")
    result = tick()
    assert _requests(result) == [] and "is not a partition (yet)" in result.skip_reason.skip_message


def test_a_master_data_file_also_refreshes_what_looks_it_up() -> None:
    """A products file re-runs the day's catalog, the silver tables that resolve products, and the
    gold dimension and facts built on them."""
    job = defs.resolve_job_def(defs.get_sensor_def("products_files").job_name)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {k for k in keys if not k.startswith("gold/")} == {
        "bronze/products", "silver/products", "silver/orders", "silver/inventory_movements",
    }  # fmt: skip
    assert {
        "gold/dim_products",
        "gold/fact_orders",
        "gold/inventory_daily",
        "gold/product_performance",
    } <= keys


def test_a_late_master_data_file_requests_only_its_own_day(
    landing: Path, instance: dg.DagsterInstance
) -> None:
    """Products of day 3 after days 1..10 were built: master data are versioned, so only day 3 gets a
    run (the later days it changes are the stale_partitions sensor's, from the warehouse)."""
    for day in range(1, 11):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(dg.AssetKey(["silver", "products"]), partition=f"2024-01-{day:02d}")
        )
    path = landing / "products" / "products_2024-01-03_late.json"
    write_json(path, {"snapshot_date": "2024-01-03", "products": [{"product_id": "P9", "name": "Late"}]})
    _age(path)
    (day_run,) = make_tick(landing, instance, "products_files")().run_requests
    assert day_run.partition_key == "2024-01-03" and day_run.asset_selection is None  # the sensor's target


def test_an_orders_file_does_not_carry_forward(landing: Path, instance: dg.DagsterInstance, tick) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(dg.AssetKey(["silver", "orders"]), partition="2024-01-09")
    )
    _orders(landing, "2024-01-03")
    assert [r.partition_key for r in tick().run_requests] == ["2024-01-03"]


def test_each_source_has_a_named_job_that_its_sensor_starts() -> None:
    """Runs show `ingest_<source>` and the source's tag in the Runs list, not an anonymous job."""
    for source in SOURCES:
        sensor = defs.get_sensor_def(f"{source}_files")
        assert sensor.job_name == f"ingest_{source}"
        job = defs.resolve_job_def(f"ingest_{source}")
        assert job.tags == {"shopflow/source": source}
        assert dg.AssetKey(["bronze", source]) in job.asset_layer.executable_asset_keys
        assert job.partitions_def == defs.get_assets_def(dg.AssetKey(["bronze", source])).partitions_def


def test_the_first_tick_takes_files_already_in_bronze_as_done(landing: Path, load, tick) -> None:
    """Turned on after `make demo`: days already loaded start nothing; a new day and a corrected
    file still do."""
    for day in ("2024-01-03", "2024-01-04", "2024-01-05"):
        _orders(landing, day)
    _orders(landing, "2024-01-04", suffix="_late")
    assert len(load("orders", "2024-01-03", days=3).files) == 4
    _orders(landing, "2024-01-06")  # not loaded yet
    first = tick()
    assert [r.partition_key for r in first.run_requests] == ["2024-01-06"]
    assert first.run_requests[0].tags["shopflow/files"] == "1"
    assert _requests(tick()) == []
    _orders(landing, "2024-01-04", n=5)  # a corrected file for a loaded day
    (again,) = tick().run_requests
    assert again.partition_key == "2024-01-04" and again.tags["shopflow/files"] == "2"


def test_a_first_tick_while_a_run_holds_the_warehouse_tries_again_next_tick(
    landing: Path, warehouse: Path, load, tick, monkeypatch: pytest.MonkeyPatch
) -> None:

    from shopflow_assets.defs.bronze import sensors as files

    monkeypatch.setattr(files, "LOCK_WAIT_SECONDS", 0.5)
    _orders(landing, "2024-01-03")
    load("orders", "2024-01-03")
    _orders(landing, "2024-01-04")
    with write_lock_held(warehouse):  # a run in progress holds the write lock
        locked = tick()
    assert _requests(locked) == [] and locked.cursor is None  # nothing taken, nothing forgotten
    assert "a run holds the warehouse" in locked.skip_reason.skip_message
    assert [r.partition_key for r in tick().run_requests] == ["2024-01-04"]
