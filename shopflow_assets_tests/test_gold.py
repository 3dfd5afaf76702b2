"""Gold correctness: the dbt models, run by the real Dagster code location over generated data, equal
numbers computed here straight from silver with independent SQL; a late orders file and a late price
change change exactly what they must; a range run equals day-by-day runs; the business analyses run.

One gold build (a range run over the session's generated days) is shared by the module; a test that
changes the warehouse works on its own copy of the DuckDB file (and of the landing folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import (
    GENERATED_DAYS,
    GENERATED_START,
    REPO,
    materialize,
    order_line,
    write_csv,
    write_json,
)

DAYS = [(GENERATED_START + timedelta(days=i)).isoformat() for i in range(GENERATED_DAYS)]
D1, D2, D3, D4 = DAYS
DAILY = ["gold/fact_orders", "gold/fact_inventory_movements", "gold/inventory_daily", "gold/daily_sales"]
MARTS = [f"gold/{m}" for m in ("customer_metrics", "product_performance", "monthly_revenue",
                               "channel_performance", "campaign_performance", "inventory_valuation")]  # fmt: skip
CHANNELS = "('web', 'mobile', 'store', 'marketplace')"
# the moment a silver record looks its master-data version up: its timestamp, else its day's 00:00
ORDER_AT = "coalesce(o.order_timestamp, o._partition_date::TIMESTAMP)"
VALID = "{a}.valid_from <= {t} AND ({a}.valid_to IS NULL OR {t} < {a}.valid_to)"


def _aov(total: str, count: str) -> str:
    """total / count to the cent, half up, in exact integer arithmetic (a DOUBLE quotient such as
    106.57 / 2 = 53.28499... rounds a half cent down); NULL without orders."""
    return (
        f"((2 * (({total}) * 100)::HUGEINT + ({count})) // nullif(2 * ({count}), 0))::DECIMAL(18, 0) * 0.01"
    )


def _within_half_cent(value: str, total: str, count: str) -> str:
    """`value` is total / count rounded to the cent, either way at an exact half cent: the models round
    their DOUBLE quotients (see test_aov_rounds_half_cents_up), so a tie may come out half down."""
    return f"abs(({value})::DECIMAL(18, 2) * ({count}) - ({total})) * 200 <= ({count})"


def _q(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _copy(warehouse: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse, target)
    return target


def _drop(warehouse: Path, keys: list[str]) -> None:
    """Forget gold tables, so the next runs build them from nothing."""
    with connect(warehouse) as con:
        for key in keys:
            con.execute(f"DROP TABLE IF EXISTS gold.{key.removeprefix('gold/')}")


def _gold_tables(warehouse: Path, names: list[str] | None = None) -> dict[str, list[tuple]]:
    """Every gold table (or the named ones), all columns (gold has no run-id or clock column), sorted."""
    with connect(warehouse, read_only=True) as con:
        found = [
            n
            for (n,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'gold' ORDER BY 1"
            ).fetchall()
        ]
        return {n: con.execute(f"SELECT * FROM gold.{n} ORDER BY ALL").fetchall() for n in names or found}


def _except(warehouse: Path, other: Path, table: str, where: str = "true") -> tuple[int, int]:
    """(rows only in `warehouse`, rows only in `other`) of gold.<table> WHERE `where`: EXCEPT ALL both
    ways over every column, i.e. the rows are identical to the byte when both are 0."""
    with connect(warehouse, read_only=True) as con:
        con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
        mine, theirs = (
            f"(SELECT * FROM gold.{table} WHERE {where})",
            f"(SELECT * FROM other.gold.{table} WHERE {where})",
        )
        out = con.execute(
            f"SELECT (SELECT count(*) FROM ({mine} EXCEPT ALL {theirs})), "
            f"(SELECT count(*) FROM ({theirs} EXCEPT ALL {mine}))"
        ).fetchone()
        con.execute("DETACH other")
        return out


@pytest.fixture(scope="module")
def built(generated: tuple[Path, Path, dict], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The session's generated days (silver built) with gold built by one range run: the shared,
    read-only warehouse of this module."""
    landing, silver, _ = generated
    warehouse = _copy(silver, tmp_path_factory.mktemp("gold") / "built.duckdb")
    assert materialize("group:gold", landing, warehouse, D1, D4, gold=True).success
    return landing, warehouse


def _own_copy(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A mutating test's own landing folder and warehouse (bronze records landing-relative paths)."""
    landing, warehouse = built
    shutil.copytree(landing, tmp_path / "landing")
    return tmp_path / "landing", _copy(warehouse, tmp_path / "warehouse" / "shopflow.duckdb")


# --- 1. gold equals silver ----------------------------------------------------------------------------

DONE = "o.status = 'completed'"
SILVER_DAYS = f"""
    SELECT o._partition_date, count(*), count(*) FILTER (WHERE {DONE}), sum(o.quantity),
           coalesce(sum(o.quantity) FILTER (WHERE {DONE}), 0),
           coalesce(sum(o.net_amount) FILTER (WHERE {DONE}), 0)::DECIMAL(18, 2),
           {_aov(f"sum(o.net_amount) FILTER (WHERE {DONE})", f"count(*) FILTER (WHERE {DONE})")}
    FROM silver.orders o GROUP BY 1 ORDER BY 1"""  # fmt: skip


def test_daily_net_revenue_units_and_aov_equal_silver(built: tuple[Path, Path]) -> None:
    """Per day: orders, completed orders, units, completed units, net revenue of completed orders and
    AOV (revenue / completed orders), from daily_sales and from fact_orders, equal silver's."""
    _, warehouse = built
    expected = _q(warehouse, SILVER_DAYS)
    assert [r[0].isoformat() for r in expected] == DAYS and all(r[1] > 250 and r[2] > 200 for r in expected)
    from_daily_sales = _q(warehouse, f"""
        SELECT partition_date, sum(orders), sum(completed_orders), sum(units), sum(completed_units),
               sum(net_revenue)::DECIMAL(18, 2), {_aov("sum(net_revenue)", "sum(completed_orders)")}
        FROM gold.daily_sales GROUP BY 1 ORDER BY 1""")  # fmt: skip
    from_facts = _q(warehouse, f"""
        SELECT partition_date, count(*), count(*) FILTER (WHERE is_completed), sum(quantity),
               coalesce(sum(quantity) FILTER (WHERE is_completed), 0),
               coalesce(sum(net_amount) FILTER (WHERE is_completed), 0)::DECIMAL(18, 2),
               {_aov("sum(net_amount) FILTER (WHERE is_completed)", "count(*) FILTER (WHERE is_completed)")}
        FROM gold.fact_orders GROUP BY 1 ORDER BY 1""")  # fmt: skip
    assert from_daily_sales == expected
    assert from_facts == expected


def test_daily_sales_groups_equal_silver(built: tuple[Path, Path]) -> None:
    """Every daily_sales row (day x store x channel x category of the product version valid at the
    order time) has silver's orders, units, net revenue, completed orders, refunds and cancellations,
    no group is missing or extra, and its AOV is its revenue / completed orders to the cent."""
    _, warehouse = built
    expected = f"""
        SELECT o._partition_date, coalesce(o.store_id, 'unknown'),
               CASE WHEN o.sales_channel IN {CHANNELS} THEN o.sales_channel ELSE 'unknown' END,
               coalesce(p.category, 'Unknown'), count(*), sum(o.quantity)::BIGINT,
               coalesce(sum(o.net_amount) FILTER (WHERE {DONE}), 0)::DECIMAL(18, 2),
               count(*) FILTER (WHERE {DONE}),
               count(*) FILTER (WHERE o.status = 'refunded'), count(*) FILTER (WHERE o.status = 'cancelled'),
               coalesce(sum(o.net_amount) FILTER (WHERE o.status = 'cancelled'), 0)::DECIMAL(18, 2)
        FROM silver.orders o LEFT JOIN silver.products p ON p.product_id = o.product_id AND {VALID.format(a="p", t=ORDER_AT)}
        GROUP BY ALL"""  # fmt: skip
    gold = """SELECT partition_date, store_id, sales_channel, category, orders, units, net_revenue::DECIMAL(18, 2),
                     completed_orders, refunds_count, cancellations_count, cancellations_amount::DECIMAL(18, 2)
              FROM gold.daily_sales"""  # fmt: skip
    assert _q(warehouse, f"SELECT count(*) FROM (({expected}) EXCEPT ALL ({gold}))") == [(0,)]
    assert _q(warehouse, f"SELECT count(*) FROM (({gold}) EXCEPT ALL ({expected}))") == [(0,)]
    assert _q(warehouse, f"""
        SELECT count(*) > 100, count(*) FILTER (WHERE completed_orders > 0) > 100,
               count(*) FILTER (WHERE (average_order_value IS NULL) <> (completed_orders = 0)
                    OR NOT {_within_half_cent("average_order_value", "net_revenue", "completed_orders")})
        FROM gold.daily_sales""") == [(True, True, 0)]  # fmt: skip


def test_fact_rows_are_silver_orders_and_join_their_dimensions(built: tuple[Path, Path]) -> None:
    """fact_orders holds exactly silver's orders; every fact row joins a customer, product, store and
    date row, and its product version (and cost) is the silver version valid at the order time."""
    _, warehouse = built
    assert _q(warehouse, "SELECT count(*) FROM (SELECT order_id, _partition_date FROM silver.orders "
                         "EXCEPT ALL SELECT order_id, partition_date FROM gold.fact_orders)") == [(0,)]  # fmt: skip
    assert _q(warehouse, "SELECT count(*) FROM (SELECT order_id, partition_date FROM gold.fact_orders "
                         "EXCEPT ALL SELECT order_id, _partition_date FROM silver.orders)") == [(0,)]  # fmt: skip
    orphans = _q(warehouse, """SELECT
        (SELECT count(*) FROM gold.fact_orders f ANTI JOIN gold.dim_customers d USING (customer_sk)),
        (SELECT count(*) FROM gold.fact_orders f ANTI JOIN gold.dim_products d USING (product_sk)),
        (SELECT count(*) FROM gold.fact_orders f ANTI JOIN gold.dim_stores d USING (store_id)),
        (SELECT count(*) FROM gold.fact_orders f ANTI JOIN gold.dim_date d ON d.date_day = f.order_date),
        (SELECT count(*) FROM gold.fact_orders f ANTI JOIN gold.dim_date d ON d.date_day = f.partition_date),
        (SELECT count(*) FROM gold.fact_inventory_movements f ANTI JOIN gold.dim_products d USING (product_sk)),
        (SELECT count(*) FROM gold.fact_inventory_movements f ANTI JOIN gold.dim_stores d USING (store_id)),
        (SELECT count(*) FROM gold.fact_inventory_movements f ANTI JOIN gold.dim_date d ON d.date_day = f.movement_date),
        (SELECT count(*) FROM gold.inventory_daily f ANTI JOIN gold.dim_products d USING (product_sk)),
        (SELECT count(*) FROM gold.inventory_daily f ANTI JOIN gold.dim_stores d USING (store_id)),
        (SELECT count(*) FROM gold.inventory_daily f ANTI JOIN gold.dim_date d USING (date_day))""")  # fmt: skip
    assert orphans == [(0,) * 11]
    at = "coalesce(f.order_timestamp, f.partition_date::TIMESTAMP)"
    wrong_version = _q(warehouse, f"""
        SELECT count(*), count(*) FILTER (WHERE s.product_id IS NOT NULL) FROM gold.fact_orders f
        LEFT JOIN silver.products s ON s.product_id = f.product_id AND {VALID.format(a="s", t=at)}
        LEFT JOIN gold.dim_products d ON d.product_sk = f.product_sk
        WHERE (s.product_id IS NULL) <> (f.product_sk = 'unknown')
           OR d.product_id <> f.product_id OR d.valid_from <> s.valid_from
           OR f.cost_amount IS DISTINCT FROM (f.quantity * s.cost_price)::DECIMAL(18, 2)""")  # fmt: skip
    assert wrong_version == [(0, 0)]
    # customers: the version of the order's customer_key valid at the order time, else 'unknown'
    wrong_customer = _q(warehouse, f"""
        SELECT count(*) FROM gold.fact_orders f
        LEFT JOIN silver.customers s ON s.customer_key = f.customer_key AND {VALID.format(a="s", t=at)}
        LEFT JOIN gold.dim_customers d ON d.customer_sk = f.customer_sk
        WHERE (s.customer_key IS NULL) <> (f.customer_sk = 'unknown')
           OR d.customer_key <> f.customer_key OR d.valid_from <> s.valid_from""")  # fmt: skip
    assert wrong_customer == [(0,)]


CUSTOMERS = f"""
    WITH known AS (SELECT DISTINCT customer_key FROM silver.customers),
    o AS (SELECT o.customer_key, coalesce(o.order_timestamp::DATE, o._partition_date) AS day,
                 o.status = 'completed' AS done, o.net_amount
          FROM silver.orders o SEMI JOIN known USING (customer_key)),
    as_of AS (SELECT max(coalesce(order_timestamp::DATE, _partition_date)) AS as_of_day FROM silver.orders)
    SELECT customer_key, min(day) AS first_day, max(day) AS last_day, count(*) AS orders,
           count(*) FILTER (WHERE done) AS completed,
           coalesce(sum(net_amount) FILTER (WHERE done), 0)::DECIMAL(18, 2) AS revenue,
           round(count(*) FILTER (WHERE done) * 30 / greatest(date_diff('day', min(day), any_value(as_of_day)) + 1, 30)::DOUBLE, 4)
               AS frequency,
           {_aov("sum(net_amount) FILTER (WHERE done)", "count(*) FILTER (WHERE done)")} AS aov
    FROM o, as_of GROUP BY 1"""  # fmt: skip


def test_customer_lifetime_value_and_frequency_equal_silver(built: tuple[Path, Path]) -> None:
    """customer_metrics, every customer: first / last order, orders, completed orders, revenue (= the
    lifetime value so far), purchase frequency (completed orders per 30 observed days, at least 30) and
    AOV as business.yml defines them, from silver; the projected lifetime value is revenue + AOV x
    frequency x 12."""
    _, warehouse = built
    gold = """SELECT customer_key, first_order_date, last_order_date, orders, completed_orders,
                     lifetime_value_historical::DECIMAL(18, 2), purchase_frequency FROM gold.customer_metrics"""
    mine = (
        f"SELECT customer_key, first_day, last_day, orders, completed, revenue, frequency FROM ({CUSTOMERS})"
    )
    assert _q(warehouse, f"SELECT count(*) FROM (({mine}) EXCEPT ALL ({gold}))") == [(0,)]
    assert _q(warehouse, f"SELECT count(*) FROM (({gold}) EXCEPT ALL ({mine}))") == [(0,)]
    assert _q(warehouse, f"""
        SELECT count(*) > 500, count(*) FILTER (WHERE g.revenue <> g.lifetime_value_historical
            OR (g.average_order_value IS NULL) <> (e.completed = 0)
            OR NOT {_within_half_cent("g.average_order_value", "e.revenue", "e.completed")}
            OR g.lifetime_value_projected <> round(e.revenue::DOUBLE + coalesce(g.average_order_value, 0)
                                                   * e.frequency * 12, 2))
        FROM gold.customer_metrics g JOIN ({CUSTOMERS}) e USING (customer_key)""") == [(True, 0)]  # fmt: skip
    # a few customers by hand: the three with the most orders (several days each)
    top = _q(warehouse, f"SELECT customer_key, orders, revenue, frequency FROM ({CUSTOMERS}) "
                        "ORDER BY orders DESC, customer_key LIMIT 3")  # fmt: skip
    assert all(orders >= 3 for _, orders, _, _ in top)
    for key, orders, revenue, frequency in top:
        assert _q(warehouse, "SELECT orders, revenue, lifetime_value_historical, purchase_frequency "
                             "FROM gold.customer_metrics WHERE customer_key = ?", [key]) == [
            (orders, revenue, revenue, frequency)]  # fmt: skip


def test_aov_rounds_half_cents_up(built: tuple[Path, Path]) -> None:
    """DuckDB divides DECIMALs in DOUBLE, and rounding that quotient took some exact half cents down
    (106.57 / 2 = 53.285 gave 53.28 in customer_metrics): every AOV is now exact, half up
    (macros/master_data.sql `money_per`)."""
    _, warehouse = built
    assert _q(warehouse, f"""
        SELECT (SELECT count(*) FILTER (WHERE g.average_order_value::DECIMAL(18, 2) <> e.aov)
                FROM gold.customer_metrics g JOIN ({CUSTOMERS}) e USING (customer_key)),
               (SELECT count(*) FILTER (WHERE average_order_value <> {_aov("net_revenue", "completed_orders")})
                FROM gold.daily_sales)""") == [(0, 0)]  # fmt: skip


STOCK = f"""
    WITH m AS (SELECT _partition_date AS day, store_id, product_id, quantity_change FROM silver.inventory_movements),
    pairs AS (SELECT store_id, product_id, min(day) AS first_day FROM m GROUP BY ALL),
    grid AS (SELECT store_id, product_id, unnest(generate_series(first_day, DATE '{D4}', INTERVAL 1 DAY))::DATE AS day
             FROM pairs)
    SELECT g.day, g.store_id, g.product_id, coalesce(sum(m.quantity_change), 0)::BIGINT AS stock
    FROM grid g LEFT JOIN m ON m.store_id = g.store_id AND m.product_id = g.product_id AND m.day <= g.day
    GROUP BY ALL"""  # fmt: skip


def test_stock_levels_are_cumulative_silver_movements(built: tuple[Path, Path]) -> None:
    """inventory_daily: every store x product from its first movement to the last day, its stock the
    sum of its silver movements up to that day, no row missing or extra."""
    _, warehouse = built
    gold = "SELECT date_day, store_id, product_id, stock_level FROM gold.inventory_daily"
    assert _q(warehouse, f"SELECT count(*) FROM (({STOCK}) EXCEPT ALL ({gold}))") == [(0,)]
    assert _q(warehouse, f"SELECT count(*) FROM (({gold}) EXCEPT ALL ({STOCK}))") == [(0,)]
    # a few pairs moved on several days: their level is a running sum, not the day's movements
    moved = _q(warehouse, """SELECT store_id, product_id FROM silver.inventory_movements GROUP BY ALL
                             HAVING count(DISTINCT _partition_date) >= 2 ORDER BY ALL LIMIT 3""")  # fmt: skip
    assert len(moved) == 3
    for store, product in moved:
        assert _q(warehouse, "SELECT date_day::VARCHAR, stock_level FROM gold.inventory_daily "
                             "WHERE store_id = ? AND product_id = ? ORDER BY 1", [store, product]) == _q(
            warehouse, f"SELECT day::VARCHAR, stock FROM ({STOCK}) WHERE store_id = ? AND product_id = ? ORDER BY 1",
            [store, product])  # fmt: skip


# --- 2. a late orders file for an old day -------------------------------------------------------------


def _late_orders(warehouse: Path, landing: Path) -> tuple[str, str, list[str]]:
    """Three new orders for D2 (two completed: 2 x 10.00 and 3 x 10.00, one cancelled) by a known
    customer, of a known product, in a new file for that day."""
    customer_id, key, product, store = _q(warehouse, f"""
        SELECT o.customer_id, o.customer_key, o.product_id, o.store_id FROM silver.orders o
        SEMI JOIN gold.customer_metrics m USING (customer_key)
        WHERE o.status = 'completed' AND o._partition_date = '{D1}' AND o.store_id IS NOT NULL
          AND o.product_id IN (SELECT product_id FROM gold.product_performance)
        ORDER BY o.order_id LIMIT 1""")[0]  # fmt: skip
    ids = [f"ORD-LATE-{i}" for i in range(3)]
    common = {"customer_id": customer_id, "product_id": product, "store_id": store, "day": D2}
    rows = [
        order_line(ids[0], quantity="2", order_timestamp=f"{D2} 21:00:00", **common),
        order_line(ids[1], quantity="3", order_timestamp=f"{D2} 22:00:00", **common),
        order_line(ids[2], quantity="1", status="cancelled", order_timestamp=f"{D2} 23:00:00", **common),
    ]
    write_csv(landing / "orders" / f"orders_{D2}_late2.csv", rows)
    return key, product, ids


def test_a_late_orders_file_changes_its_day_and_the_all_time_marts_and_nothing_else(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    before = built[1]
    landing, warehouse = _own_copy(built, tmp_path)
    key, product, ids = _late_orders(warehouse, landing)
    # what the orders sensor runs for the new file: the day's orders and everything downstream (the
    # staging view included: without it the facts have no path to silver/orders and may run first)
    assert materialize("bronze/orders*", landing, warehouse, D2, gold=True).success
    # the day: exactly the three new fact rows, its daily_sales revenue + 50.00 (+ 6 units, 3 orders)
    assert _q(warehouse, f"SELECT count(*) FROM silver.orders WHERE _partition_date = '{D2}'") == _q(
        warehouse, f"SELECT count(*) FROM gold.fact_orders WHERE partition_date = '{D2}'")  # fmt: skip
    assert _except(warehouse, before, "fact_orders") == (3, 0)
    assert _q(warehouse, "SELECT order_id, status, quantity, net_amount::VARCHAR FROM gold.fact_orders "
                         "WHERE order_id LIKE 'ORD-LATE-%' ORDER BY 1") == [
        (ids[0], "completed", 2, "20.00"), (ids[1], "completed", 3, "30.00"), (ids[2], "cancelled", 1, "10.00")]  # fmt: skip
    day = "SELECT sum(orders), sum(units), sum(net_revenue)::VARCHAR FROM gold.daily_sales WHERE partition_date = ?"
    (o0, u0, r0), (o1, u1, r1) = _q(before, day, [D2])[0], _q(warehouse, day, [D2])[0]
    assert (o1 - o0, u1 - u0, float(r1) - float(r0)) == (3, 6, 50.0)
    # other days: fact rows and daily sales identical to the byte; inventory untouched
    for table in ("fact_orders", "daily_sales"):
        assert _except(warehouse, before, table, f"partition_date <> '{D2}'") == (0, 0), table
    for table in ("fact_inventory_movements", "inventory_daily", "inventory_valuation"):
        assert _except(warehouse, before, table) == (0, 0), table
    # the all-time marts: the customer, the product and January gain exactly the late orders
    customer = (
        "SELECT orders, completed_orders, revenue::VARCHAR FROM gold.customer_metrics WHERE customer_key = ?"
    )
    (c0, cc0, cr0), (c1, cc1, cr1) = _q(before, customer, [key])[0], _q(warehouse, customer, [key])[0]
    assert (c1 - c0, cc1 - cc0, round(float(cr1) - float(cr0), 2)) == (3, 2, 50.0)
    other = "SELECT customer_key, orders, completed_orders, revenue FROM gold.customer_metrics WHERE customer_key <> ?"
    assert _q(before, other + " ORDER BY 1", [key]) == _q(warehouse, other + " ORDER BY 1", [key])
    produce = "SELECT units, orders, revenue::VARCHAR FROM gold.product_performance WHERE product_id = ?"
    (pu0, po0, pr0), (pu1, po1, pr1) = _q(before, produce, [product])[0], _q(warehouse, produce, [product])[0]
    assert (pu1 - pu0, po1 - po0, round(float(pr1) - float(pr0), 2)) == (5, 2, 50.0)
    month = "SELECT sum(orders), sum(completed_orders), sum(revenue)::VARCHAR FROM gold.monthly_revenue"
    (m0, mc0, mr0), (m1, mc1, mr1) = _q(before, month)[0], _q(warehouse, month)[0]
    assert (m1 - m0, mc1 - mc0, round(float(mr1) - float(mr0), 2)) == (3, 2, 50.0)


# --- 3. a late price change ---------------------------------------------------------------------------


def _product_sold_every_day(warehouse: Path) -> dict:
    """A product with a single version since D1 and orders on every day."""
    row = _q(warehouse, """
        SELECT p.product_id, p.name, p.category, p.brand, p.supplier, p.cost_price::DOUBLE, p.retail_price::DOUBLE
        FROM silver.products p JOIN silver.orders o USING (product_id)
        WHERE p.product_id IN (SELECT product_id FROM silver.products GROUP BY 1 HAVING count(*) = 1)
          AND p.active
        GROUP BY ALL HAVING count(DISTINCT o._partition_date) = 4 ORDER BY 1 LIMIT 1""")[0]  # fmt: skip
    names = ["product_id", "name", "category", "brand", "supplier", "cost_price", "retail_price"]
    return dict(zip(names, row, strict=True))


def _versions_of(warehouse: Path, product_id: str) -> list[tuple]:
    """Per fact day: the versions (valid_from) and unit costs its orders of the product carry."""
    return _q(warehouse, """
        SELECT f.partition_date::VARCHAR, list(DISTINCT d.valid_from::VARCHAR),
               list(DISTINCT (f.cost_amount / f.quantity)::DECIMAL(18, 2)::VARCHAR)
        FROM gold.fact_orders f JOIN gold.dim_products d USING (product_sk)
        WHERE f.product_id = ? GROUP BY 1 ORDER BY 1""", [product_id])  # fmt: skip


def test_a_late_price_change_versions_the_orders_on_each_side_and_rebuilds_the_later_days(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    from shopflow_assets_tests.test_master_history import stale_requests

    landing, warehouse = _own_copy(built, tmp_path)
    product = _product_sold_every_day(warehouse)
    pid, old_cost, new_cost = (
        product["product_id"],
        product["cost_price"],
        round(product["cost_price"] + 1.25, 2),
    )
    assert _versions_of(warehouse, pid) == [(d, [D1], [f"{old_cost:.2f}"]) for d in DAYS]
    changed = product | {"cost_price": new_cost, "retail_price": round(product["retail_price"] + 2, 2),
                         "active": True, "last_updated": f"{D2}T06:00:00Z"}  # fmt: skip
    write_json(
        landing / "products" / f"products_{D2}_late.json", {"snapshot_date": D2, "products": [changed]}
    )

    # what the products sensor runs for the late file's day (the marts aside: not compared here)
    late_run = dg.AssetSelection.assets("bronze/products").downstream() - dg.AssetSelection.assets(*MARTS)
    assert materialize(late_run, landing, warehouse, D2, gold=True).success
    assert _q(warehouse, "SELECT valid_from::VARCHAR, valid_to::VARCHAR, cost_price::DOUBLE FROM gold.dim_products "
                         "WHERE product_id = ? ORDER BY 1", [pid]) == [(D1, D2, old_cost), (D2, None, new_cost)]  # fmt: skip
    # D1 keeps the old version, D2 (rebuilt) has the new one; D3 and D4 are out of date, and recorded
    assert _versions_of(warehouse, pid)[:2] == [
        (D1, [D1], [f"{old_cost:.2f}"]),
        (D2, [D2], [f"{new_cost:.2f}"]),
    ]
    expected_stale = _q(warehouse, f"""
        SELECT 'orders', _partition_date::VARCHAR, count(*) FROM silver.orders
        WHERE product_id = $p AND _partition_date > '{D2}' GROUP BY ALL
        UNION ALL
        SELECT 'inventory_movements', _partition_date::VARCHAR, count(*) FROM silver.inventory_movements
        WHERE product_id = $p AND _partition_date > '{D2}' GROUP BY ALL ORDER BY ALL""".replace("$p", "?"), [pid, pid])  # fmt: skip
    assert [r[:2] for r in expected_stale if r[0] == "orders"] == [("orders", D3), ("orders", D4)]
    stale = _q(warehouse, "SELECT table_name, partition_date::VARCHAR, rows_changed, detected_by "
                          "FROM meta.stale_partitions ORDER BY ALL")  # fmt: skip
    assert stale == [(*r, "gold versions") for r in expected_stale]

    # the stale_partitions sensor asks for D3 and D4 (silver and everything downstream, gold included);
    # their rebuild here: what they request (the marts aside), both days in one run
    # (stale_requests checks that each request reaches gold/fact_orders and lists its silver keys)
    requests = stale_requests(warehouse, dg.DagsterInstance.ephemeral())
    assert requests == [
        (day, sorted(f"silver/{t}" for t, d, _ in expected_stale if d == day)) for day in (D3, D4)
    ]
    stale_tables = sorted({f"silver/{t}" for t, _, _ in expected_stale})
    rebuilt = dg.AssetSelection.assets(*stale_tables).downstream() - dg.AssetSelection.assets(*MARTS)
    assert materialize(rebuilt, landing, warehouse, D3, D4, gold=True).success
    assert _q(warehouse, "SELECT count(*) FROM meta.stale_partitions") == [(0,)]
    assert _versions_of(warehouse, pid) == [(D1, [D1], [f"{old_cost:.2f}"])] + [
        (d, [D2], [f"{new_cost:.2f}"]) for d in (D2, D3, D4)
    ]

    # the facts equal a from-scratch build on the same silver
    scratch = _copy(warehouse, tmp_path / "scratch" / "shopflow.duckdb")
    _drop(scratch, DAILY)
    assert materialize(DAILY, landing, scratch, D1, D4, gold=True).success
    facts = [k.removeprefix("gold/") for k in DAILY]
    assert _gold_tables(warehouse, facts) == _gold_tables(scratch, facts)


# --- 4. a range run equals day-by-day runs ------------------------------------------------------------


def test_a_range_run_equals_day_by_day_runs(built: tuple[Path, Path], tmp_path: Path) -> None:
    """The facts built day by day in shuffled order (each day's run creates or replaces its window),
    then the marts, equal the shared range build, table for table, for every gold table."""
    landing, ranged = built
    daily = _copy(ranged, tmp_path / "daily.duckdb")
    _drop(daily, DAILY + MARTS)
    for day in (D3, D1, D4, D2):
        assert materialize(DAILY, landing, daily, day, gold=True).success
    assert materialize(MARTS, landing, daily, D1, D4, gold=True).success  # unpartitioned: no partition key
    a, b = _gold_tables(ranged), _gold_tables(daily)
    assert set(a) == set(b) and len(a) == 14
    for name in a:
        assert a[name] == b[name], name


# --- 5. the analyses ----------------------------------------------------------------------------------

ANALYSES = ["top_10_customers_by_spending", "best_selling_products_by_category", "monthly_revenue_trend",
            "average_order_value_by_country", "revenue_per_product", "sales_by_channel",
            "customer_purchase_frequency", "inventory_valuation"]  # fmt: skip

TOP_10 = f"""
    WITH known AS (SELECT customer_key, country, trim(concat_ws(' ', first_name, last_name)) AS name, is_current,
                          row_number() OVER (PARTITION BY customer_key ORDER BY valid_from DESC) AS latest
                   FROM silver.customers),
    spent AS (SELECT o.customer_key, count(*) AS completed, sum(o.net_amount) AS revenue
              FROM silver.orders o WHERE {DONE} AND o.customer_key IN (SELECT customer_key FROM known)
              GROUP BY 1)
    SELECT s.customer_key, n.name, k.country, s.completed, s.revenue::DECIMAL(18, 2)
    FROM spent s JOIN known k ON k.customer_key = s.customer_key AND k.latest = 1
    LEFT JOIN known n ON n.customer_key = s.customer_key AND n.is_current
    ORDER BY s.revenue DESC, s.customer_key LIMIT 10"""  # fmt: skip

AOV_BY_COUNTRY = f"""
    SELECT c.country, count(DISTINCT o.customer_key), count(*), sum(o.net_amount)::DECIMAL(18, 2)
    FROM silver.orders o JOIN silver.customers c ON c.customer_key = o.customer_key AND {VALID.format(a="c", t=ORDER_AT)}
    WHERE {DONE} GROUP BY 1"""  # fmt: skip


def _compile_analyses(warehouse: Path, target: Path) -> dict[str, str]:
    """dbt compile of the analyses against the warehouse (in a target folder of its own, starting from
    the prepared manifest's partial-parse state); their compiled SQL by name."""
    dbt_dir = REPO / "dbt_project"
    target.mkdir(parents=True)
    if (state := dbt_dir / "target" / "partial_parse.msgpack").exists():
        shutil.copy(state, target / state.name)
    env = {**os.environ, "SHOPFLOW_DUCKDB_PATH": str(warehouse)}
    subprocess.run(
        [Path(sys.executable).with_name("dbt"), "compile", "--quiet", "--profiles-dir", ".",
         "--select", "resource_type:analysis", "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=dbt_dir, env=env, check=True,
    )  # fmt: skip
    folder = target / "compiled" / "shopflow" / "analyses"
    return {p.stem: p.read_text() for p in folder.glob("*.sql")}


def _to_the_cent(aov: float, total: Decimal, count: int) -> bool:
    """aov is total / count rounded to the cent (either way at an exact half cent: the analyses check to the cent only)."""
    return abs(Decimal(str(aov)) * count - total) * 200 <= count


def test_the_analyses_compile_run_and_answer_right(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Every analysis compiles and returns rows; the top 10 customers by spending and the AOV by
    country are exactly silver's."""
    warehouse = _copy(built[1], tmp_path / "shopflow.duckdb")
    compiled = _compile_analyses(warehouse, tmp_path / "dbt_target")
    assert sorted(compiled) == sorted(ANALYSES)
    answers = {name: _q(warehouse, sql) for name, sql in compiled.items()}
    assert all(len(rows) > 0 for rows in answers.values()), {n: len(r) for n, r in answers.items()}

    top = answers["top_10_customers_by_spending"]  # key, name, country, tier, completed, spent, aov, segment
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in top] == _q(warehouse, TOP_10)
    assert len(top) == 10 and all(_to_the_cent(r[6], r[5], r[4]) for r in top)

    by_country = answers["average_order_value_by_country"]  # country, customers, completed, revenue, aov
    expected = {r[0]: r[1:] for r in _q(warehouse, AOV_BY_COUNTRY)}
    assert len(by_country) == len(expected) >= 3
    assert {r[0]: (r[1], r[2], r[3]) for r in by_country} == expected
    assert all(_to_the_cent(r[4], r[3], r[2]) for r in by_country)
    aovs = [(-Decimal(str(r[4])), r[0]) for r in by_country]
    assert aovs == sorted(aovs)  # by AOV, highest first


def test_a_corrected_cost_with_the_same_version_key_makes_the_days_built_with_it_stale(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """A corrected catalog that changes a version's cost but not its valid_from keeps the version's
    key: the days whose facts copied the old cost are still recorded stale (outside the run's window)."""
    from datetime import UTC, date, datetime

    from shopflow_assets.defs.gold.facts import mark_stale_fact_days

    warehouse = _copy(built[1], tmp_path / "shopflow.duckdb")
    (pid,) = _q(warehouse, f"""SELECT product_id FROM gold.fact_orders WHERE product_sk <> 'unknown'
        GROUP BY 1 HAVING count(DISTINCT partition_date) FILTER (WHERE partition_date > '{D1}') >= 2
        ORDER BY 1 LIMIT 1""")[0]  # fmt: skip
    expected = _q(warehouse, f"""
        SELECT 'inventory_movements', _partition_date::VARCHAR, count(*) FROM silver.inventory_movements i
        WHERE product_id = ? AND _partition_date > '{D1}'
          AND EXISTS (SELECT 1 FROM silver.products p WHERE p.product_id = i.product_id) GROUP BY ALL
        UNION ALL
        SELECT 'orders', _partition_date::VARCHAR, count(*) FROM silver.orders
        WHERE product_id = ? AND _partition_date > '{D1}' GROUP BY ALL ORDER BY ALL""", [pid, pid])  # fmt: skip
    with connect(warehouse) as con:
        con.execute("UPDATE gold.dim_products SET cost_price = cost_price + 1 WHERE product_id = ?", [pid])
        mark_stale_fact_days(con, (date.fromisoformat(D1), date.fromisoformat(D2)), "r1", datetime.now(UTC))
    stale = _q(warehouse, "SELECT table_name, partition_date::VARCHAR, rows_changed FROM meta.stale_partitions "
                          "ORDER BY ALL")  # fmt: skip
    assert [r for r in stale if r[0] == "orders"] == [r for r in expected if r[0] == "orders"]
    assert {r[1] for r in stale} <= {D2, D3, D4} and stale
