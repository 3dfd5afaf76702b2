"""Versioned master data: versions open and close with the deliveries, the history does not depend
on the order days are built in, days without master data resolve against the latest versions, late
master data rebuilds exactly the days it changes, and an old snapshot-shaped warehouse is migrated."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from shopflow_assets.cli import main as shopflow
from shopflow_assets.definitions import defs
from shopflow_assets.defs.bronze.load import load_bronze
from shopflow_assets.defs.silver.build import build_silver
from shopflow_assets.defs.silver.customer_master import publish_customers
from shopflow_assets.defs.silver.products_history import publish_products
from shopflow_assets.defs.silver.sensors import JOB_NAME, SENSOR_NAME
from shopflow_assets.defs.silver.tables import SILVER_TABLES
from shopflow_assets.generator import generate
from shopflow_assets.lib.schema import ensure_schema
from shopflow_assets.lib.warehouse import QualityRulesResource, WarehouseResource, connect
from shopflow_assets.sources import SOURCES
from shopflow_assets_tests.conftest import materialize, order_line, write_csv, write_json
from shopflow_assets_tests.test_backfill import tables
from shopflow_assets_tests.test_silver_rules import customers_table

D1, D2, D3, D4, D5 = (f"2024-02-0{i}" for i in range(1, 6))
MASTER = ["silver/products", "silver/customers", "silver/customer_id_map", "silver/customer_duplicates"]
MASTER_TABLES = ["product_deliveries", "products", "customer_deliveries", "customers", "customer_id_map",
                 "customer_duplicates"]  # fmt: skip


def _q(warehouse: Path, sql: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def _product(pid: str, day: str, price: float = 10.0, active: bool = True) -> dict:
    return {"product_id": pid, "name": f"Item {pid}", "category": "food", "brand": "B", "supplier": "S",
            "cost_price": 5.0, "retail_price": price, "active": active, "last_updated": f"{day}T08:00:00Z"}  # fmt: skip


def _products(landing: Path, day: str, products: list[dict], suffix: str = "") -> None:
    write_json(
        landing / "products" / f"products_{day}{suffix}.json", {"snapshot_date": day, "products": products}
    )


def _customers(landing: Path, day: str) -> None:
    (landing / "customers").mkdir(parents=True, exist_ok=True)
    pq.write_table(
        customers_table([{"customer_id": "CUST1", "first_name": "Anna", "last_name": "Berg", "email": "anna@x.com",
                          "phone": "0301000001", "country": "DE", "registration_date": "2020-01-01"}]),
        landing / "customers" / f"customers_{day}.parquet",
    )  # fmt: skip


def _orders(landing: Path, day: str, products: list[str]) -> None:
    rows = [
        order_line(f"O{day[-2:]}{i}", day=day, customer_id="CUST1", product_id=p)
        for i, p in enumerate(products)
    ]
    write_csv(landing / "orders" / f"orders_{day}.csv", rows)


def _unknown_products(warehouse: Path) -> list[tuple]:
    return _q(warehouse, "SELECT _partition_date::VARCHAR, product_id FROM silver.orders "
                         "WHERE list_contains(_flags, 'unknown_product') ORDER BY ALL")  # fmt: skip


def test_versions_open_change_collapse_and_close(landing: Path, warehouse: Path) -> None:
    """A change opens a version, an identical re-delivery does not, active=false closes the version
    and a later active=true opens a new one; a day without a catalog file changes nothing."""
    _products(landing, D1, [_product("P1", D1), _product("P2", D1), _product("P3", D1)])
    _products(
        landing, D2, [_product("P1", D2, price=12.0), _product("P2", D1), _product("P3", D2, active=False)]
    )
    _products(landing, D3, [_product("P3", D3)])
    assert materialize(["bronze/products", "silver/products"], landing, warehouse, D1, D4).success
    assert _q(warehouse, "SELECT product_id, valid_from::VARCHAR, valid_to::VARCHAR, is_current, retail_price, "
                         "_partition_date::VARCHAR FROM silver.products ORDER BY 1, 2") == [
        ("P1", D1, D2, False, 10.0, D1),
        ("P1", D2, None, True, 12.0, D2),
        ("P2", D1, None, True, 10.0, D1),
        ("P3", D1, D2, False, 10.0, D1),
        ("P3", D3, None, True, 10.0, D3),
    ]  # fmt: skip
    # the ledger keeps every accepted delivered record, by delivery day (what reconciliation counts)
    assert _q(warehouse, "SELECT _partition_date::VARCHAR, count(*) FROM silver.product_deliveries "
                         "GROUP BY 1 ORDER BY 1") == [(D1, 3), (D2, 3), (D3, 1)]  # fmt: skip


def test_an_orders_day_without_master_data_resolves_against_the_latest_versions(
    landing: Path, warehouse: Path
) -> None:
    """Day 2 has only an orders file, built by what the orders sensor runs (bronze/orders and
    downstream): every order still resolves its customer and product."""
    _products(landing, D1, [_product("P1", D1)])
    _customers(landing, D1)
    _orders(landing, D1, ["P1"])
    assert materialize("*", landing, warehouse, D1).success
    _orders(landing, D2, ["P1", "P1", "P1"])
    assert materialize("bronze/orders*", landing, warehouse, D2).success
    (key,) = _q(warehouse, "SELECT customer_key FROM silver.customer_id_map WHERE source_id = 'CUST1'")[0]
    assert _q(warehouse, f"SELECT count(*), count(customer_key) FILTER (WHERE customer_key = '{key}'), "
                         f"count(*) FILTER (WHERE len(_flags) > 0) FROM silver.orders "
                         f"WHERE _partition_date = '{D2}'") == [(3, 3, 0)]  # fmt: skip


def stale_requests(warehouse: Path, instance: dg.DagsterInstance) -> list[tuple[str, list[str]]]:
    context = dg.build_sensor_context(
        instance=instance,
        repository_def=defs.get_repository_def(),
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
    )
    result = defs.get_sensor_def(SENSOR_NAME)(context)
    requests = result.run_requests or []
    # each rebuild carries the day through to gold: the facts downstream of the stale silver table
    assert all(dg.AssetKey(["gold", "fact_orders"]) in r.asset_selection for r in requests)
    return [
        (r.partition_key, sorted(k.to_user_string() for k in r.asset_selection if k.path[0] != "gold"))
        for r in requests
    ]


def test_a_late_catalog_file_rebuilds_exactly_the_days_it_changes(landing: Path, warehouse: Path) -> None:
    """P2 is unknown on days 3 and 5 until a late catalog file for day 2 brings it: the late file's own
    run rebuilds day 2, the sensor asks for days 3 and 5 (day 4 sells only P1) and nothing else."""
    _products(landing, D1, [_product("P1", D1)])
    _customers(landing, D1)
    for day, sold in ((D1, ["P1"]), (D2, ["P1"]), (D3, ["P1", "P2"]), (D4, ["P1"]), (D5, ["P2"])):
        _orders(landing, day, sold)
    assert materialize("*", landing, warehouse, D1, D5).success
    assert _unknown_products(warehouse) == [(D3, "P2"), (D5, "P2")]
    instance = dg.DagsterInstance.ephemeral()
    assert stale_requests(warehouse, instance) == []

    _products(landing, D2, [_product("P2", D2)], suffix="_late")
    assert materialize("bronze/products*", landing, warehouse, D2).success  # what the products sensor runs
    assert _q(warehouse, "SELECT table_name, partition_date::VARCHAR, rows_changed FROM meta.stale_partitions "
                         "ORDER BY ALL") == [("orders", D3, 1), ("orders", D5, 1)]  # fmt: skip
    # a running orders run for day 3 (a file sensor's, say) will rebuild it: only day 5 is requested
    busy = dg.DagsterInstance.ephemeral()
    busy.add_run(dg.DagsterRun(job_name="ingest_orders", run_id="running-day-3", status=dg.DagsterRunStatus.STARTED,
                                 tags={"dagster/partition": D3}))  # fmt: skip
    assert stale_requests(warehouse, busy) == [(D5, ["silver/orders"])]
    requests = stale_requests(warehouse, instance)
    assert requests == [(D3, ["silver/orders"]), (D5, ["silver/orders"])]
    job = defs.resolve_job_def(JOB_NAME)  # the daemon can launch them: the sensor's job holds the subset
    job.get_subset(asset_selection={dg.AssetKey.from_user_string("silver/orders")})
    for day, _ in requests:
        assert materialize("silver/orders", landing, warehouse, day).success
    assert _unknown_products(warehouse) == []
    assert _q(warehouse, "SELECT count(*) FROM meta.stale_partitions") == [(0,)]
    assert stale_requests(warehouse, instance) == []


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five generated days (changes, defects, people merging) loaded into bronze, silver not built."""
    root = tmp_path_factory.mktemp("history")
    landing, warehouse = root / "landing", root / "delivered.duckdb"
    generate(landing, date(2024, 1, 1), 5, 20, seed=11, defect_rate=0.05)
    with connect(warehouse) as con:
        for spec in SOURCES.values():
            load_bronze(con, spec, landing, date(2024, 1, 1), date(2024, 1, 6), "load")
    return warehouse


def _build(warehouse: Path, first: int, last: int) -> None:
    """The master assets' own build (validation, ledger, versions) for days first..last, in one
    transaction each, as a run of silver/products and the customer master does."""
    config = QualityRulesResource().load()
    start, end = date(2024, 1, 1) + timedelta(days=first), date(2024, 1, 1) + timedelta(days=last + 1)
    with connect(warehouse) as con:
        ensure_schema(con)
        build_silver(con, SILVER_TABLES["products"], config, start, end, "r", publish_products)
        build_silver(con, SILVER_TABLES["customers"], config, start, end, "r", publish_customers)


def _master(warehouse: Path) -> dict[str, list[tuple]]:
    return {
        name: rows
        for name, rows in tables(warehouse).items()
        if name.removeprefix("silver.") in MASTER_TABLES
    }


ORDERS = [
    [(i, i) for i in range(5)],  # in order
    [(i, i) for i in reversed(range(5))],  # reverse
    [(2, 4), (0, 0), (1, 1), (3, 3), (0, 0)],  # a range run, then old days late, then a replayed day
]


def test_the_history_is_the_same_whatever_order_days_are_built_in(delivered: Path, tmp_path: Path) -> None:
    """Master data built day by day in order, in reverse, shuffled, or with range runs, late days and
    replays equals one range run, table for table."""
    ranged = tmp_path / "ranged.duckdb"
    shutil.copy(delivered, ranged)
    _build(ranged, 0, 4)
    expected = _master(ranged)
    assert set(expected) == {f"silver.{t}" for t in MASTER_TABLES}
    for n, order in enumerate(ORDERS):
        built = tmp_path / f"built{n}.duckdb"
        shutil.copy(delivered, built)
        for first, last in order:
            _build(built, first, last)
        actual = _master(built)
        for name in expected:
            assert actual[name] == expected[name], (order, name)
    # a real history: products changed, people merged, and no two versions of an entity overlap
    assert _q(ranged, "SELECT count(*) > count(DISTINCT product_id) FROM silver.products") == [(True,)]
    assert _q(ranged, "SELECT count(*) FROM silver.customer_duplicates WHERE is_current")[0][0] > 0
    for table, key in (
        ("products", "product_id"),
        ("customer_id_map", "source_id"),
        ("customers", "customer_key"),
    ):
        assert _q(ranged, f"SELECT count(*) FROM silver.{table} a JOIN silver.{table} b ON a.{key} = b.{key} "
                          f"AND a.valid_from < b.valid_from AND (a.valid_to IS NULL OR a.valid_to > b.valid_from)") == [
            (0,)
        ], table  # fmt: skip


def test_a_snapshot_shaped_warehouse_fails_clearly_and_migrates(
    landing: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """silver.products / customer_id_map from an older ShopFlow (one copy per day): a silver build
    fails naming the command; `shopflow migrate-master-data` rebuilds the versions from bronze."""
    _products(landing, D1, [_product("P1", D1), _product("P2", D1)])
    _customers(landing, D1)
    _orders(landing, D1, ["P1"])
    assert materialize("*", landing, warehouse, D1, D2).success
    versions = _master(warehouse)
    with connect(warehouse) as con:  # the old shape: the state copied onto every day
        for table in ("products", "customer_id_map"):
            con.execute(f"CREATE TABLE silver.old_{table} AS SELECT d.day AS _partition_date, v.* EXCLUDE "
                        f"(valid_from, valid_to, is_current, _partition_date) FROM silver.{table} v, "
                        f"(VALUES (DATE '{D1}'), (DATE '{D2}')) d(day)")  # fmt: skip
            con.execute(f"DROP TABLE silver.{table}")
            con.execute(f"ALTER TABLE silver.old_{table} RENAME TO {table}")
    failed = materialize("*", landing, warehouse, D2, raise_on_error=False)
    assert not failed.success
    messages = [str(e.step_failure_data.error) for e in failed.all_events if e.is_step_failure]
    assert messages and all("shopflow migrate-master-data" in m for m in messages), messages

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert shopflow(["migrate-master-data", "--db", str(warehouse)]) == 0
    assert _master(warehouse) == versions
    assert _q(
        warehouse, "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '_snapshot_')"
    ) == [(0,)]
    assert materialize("*", landing, warehouse, D2).success
    assert shopflow(["migrate-master-data", "--db", str(warehouse)]) == 0  # nothing left to do
