"""What Dagster records about the gold facts after dbt has built them: row counts and the window's
business numbers as metadata (the UI plots them per partition), and the days whose stored master-data
versions late deliveries have changed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import dagster as dg
import duckdb

from shopflow_assets.defs.silver.tables import valid_at
from shopflow_assets.lib.sql import ident

FIGURES_ON = ("fact_orders", "daily_sales")


def _relation(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute(
        "SELECT schema_name FROM duckdb_tables() WHERE database_name = current_database() AND table_name = ?",
        [name],
    ).fetchone()
    return f"{ident(row[0])}.{ident(name)}" if row else None


def day_numbers(con: duckdb.DuckDBPyConnection, window: tuple[date, date]) -> dict[str, dict[str, Any]]:
    """Per day of the window (days without orders too): orders, completed orders, net revenue of the
    completed ones and their average order value, the figures the UI plots per partition."""
    rows = con.execute(
        """SELECT d.day::DATE, count(f.order_id), count(f.order_id) FILTER (WHERE f.is_completed),
                  coalesce(sum(f.net_amount) FILTER (WHERE f.is_completed), 0)
           FROM generate_series(?::DATE, ?::DATE - 1, INTERVAL 1 DAY) d(day)
           LEFT JOIN gold.fact_orders f ON f.partition_date = d.day::DATE
           GROUP BY 1 ORDER BY 1""",
        list(window),
    ).fetchall()
    return {
        day.isoformat(): {
            "orders": dg.IntMetadataValue(int(orders)),
            "completed_orders": dg.IntMetadataValue(int(completed)),
            "net_revenue": dg.FloatMetadataValue(round(float(net), 2)),
            "average_order_value": dg.FloatMetadataValue(
                round(float(net) / completed, 2) if completed else 0.0
            ),
        }
        for day, orders, completed, net in rows
    }


def fact_metrics(
    con: duckdb.DuckDBPyConnection, models: Iterable[str], window: tuple[date, date] | None
) -> dict[str, dict[str, Any]]:
    """Per built model: its row count (tables only) and, for fact_orders / daily_sales of a one-day
    window, that day's orders, net revenue of completed orders and average order value (a range run
    records each day's figures as an observation of its partition instead: metadata of a range's
    materialization is copied onto every day of it)."""
    out: dict[str, dict[str, Any]] = {}
    for model in models:
        relation = _relation(con, model)
        if relation is None:  # a view, or not built
            continue
        (rows,) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
        meta: dict[str, Any] = {"dagster/row_count": dg.IntMetadataValue(int(rows))}
        if window is not None and model in FIGURES_ON and (window[1] - window[0]).days == 1:
            meta |= day_numbers(con, window)[window[0].isoformat()]
        out[model] = meta
    return out


def _stale_sql(
    fact: str, silver_table: str, moment: str, joins: dict[str, tuple[str, str, str]], copied: str
) -> str:
    """Days of `fact` outside the window whose stored version keys, or the version attributes the
    fact copies (`copied`: a product's cost), differ from the dimensions now."""
    lookups, differs = [], [copied]
    for alias, (dim, sk, key) in joins.items():
        # silver's lookup rule, which dbt_project/macros/master_data.sql repeats for the facts
        at = valid_at(alias, f"coalesce(f.{moment}, f.partition_date::TIMESTAMP)")
        lookups.append(
            f"LEFT JOIN gold.{dim} {alias} ON {alias}.{key} = f.{key} AND {alias}.{sk} <> 'unknown' AND {at}"
        )
        differs.append(f"coalesce({alias}.{sk}, 'unknown') <> f.{sk}")
    return f"""INSERT INTO meta.stale_partitions
        SELECT '{silver_table}', d.day, d.n, 'gold versions', $run_id, $at FROM (
            SELECT f.partition_date, count(*) FROM gold.{fact} f {" ".join(lookups)}
            WHERE (f.partition_date < $start OR f.partition_date >= $end) AND ({" OR ".join(differs)})
            GROUP BY 1) d(day, n)
        WHERE NOT EXISTS (SELECT 1 FROM meta.stale_partitions s
                          WHERE s.table_name = '{silver_table}' AND s.partition_date = d.day)"""


def mark_stale_fact_days(
    con: duckdb.DuckDBPyConnection, window: tuple[date, date], run_id: str, at: datetime
) -> None:
    """Late master data (a price change dated before days already built, a corrected catalog) changes
    which version a built fact row resolves to, or that version's cost: record those days, outside this run's window, as stale, so the
    `stale_partitions` sensor rebuilds them (the silver day and everything downstream of it)."""
    products = ("dim_products", "product_sk", "product_id")
    customers = ("dim_customers", "customer_sk", "customer_key")
    params = {"run_id": run_id, "at": at, "start": window[0], "end": window[1]}
    # a corrected delivery can change a version's cost without moving its valid_from (same key)
    order_cost = "f.cost_amount IS DISTINCT FROM CAST(f.quantity * p.cost_price AS DECIMAL(18, 2))"
    unit_cost = "f.unit_cost IS DISTINCT FROM p.cost_price"
    for fact, table, moment, joins, copied in (
        ("fact_orders", "orders", "order_timestamp", {"p": products, "c": customers}, order_cost),
        ("fact_inventory_movements", "inventory_movements", "movement_timestamp", {"p": products}, unit_cost),
    ):
        if _relation(con, fact) is None or _relation(con, joins["p"][0]) is None:
            continue
        con.execute(_stale_sql(fact, table, moment, joins, copied), params)
