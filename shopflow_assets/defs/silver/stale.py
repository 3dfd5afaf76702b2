"""Re-resolution: which already-built days now resolve master data differently.

Orders and inventory movements store what they resolved when they were built (customer_key, and
whether the product was known: no `unknown_product` flag). After a master-data build, the days whose
stored answer differs from what the versions give now are recorded in meta.stale_partitions; the
`stale_partitions` sensor rebuilds exactly those days, and a build of a day clears its row.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from shopflow_assets.defs.silver.tables import lookup_time, valid_at

UNKNOWN_PRODUCT = "unknown_product"


def _silver(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        n
        for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'silver'"
        ).fetchall()
    }


def _lookup(existing: set[str], name: str, columns: str) -> str:
    return f"silver.{name}" if name in existing else f"(SELECT {columns} WHERE false)"


def _product_changed(alias: str) -> str:
    known = "p.product_id IS NOT NULL"
    return (
        f"({alias}.product_id IS NOT NULL AND ({known}) = list_contains({alias}._flags, '{UNKNOWN_PRODUCT}'))"
    )


def stale_days_sql(existing: set[str], since: date) -> list[tuple[str, str]]:
    """(table, SELECT day, rows_changed) for each looking-up table that exists."""
    products = _lookup(
        existing, "products", "NULL::VARCHAR AS product_id, NULL::DATE AS valid_from, NULL::DATE AS valid_to"
    )
    id_map = _lookup(
        existing,
        "customer_id_map",
        "NULL::VARCHAR AS source_id, NULL::VARCHAR AS customer_key, NULL::DATE AS valid_from, "
        "NULL::DATE AS valid_to",
    )
    out = []
    if "orders" in existing:
        at = lookup_time("o", "order_timestamp")
        out.append(
            (
                "orders",
                f"""SELECT o._partition_date, count(*) FROM silver.orders o
                LEFT JOIN {id_map} m ON m.source_id = o.customer_id AND {valid_at("m", at)}
                LEFT JOIN {products} p ON p.product_id = o.product_id AND {valid_at("p", at)}
                WHERE {at} >= DATE '{since.isoformat()}'
                  AND (o.customer_key IS DISTINCT FROM m.customer_key OR {_product_changed("o")})
                GROUP BY 1""",
            )
        )
    if "inventory_movements" in existing:
        at = lookup_time("i", "update_timestamp")
        out.append(
            (
                "inventory_movements",
                f"""SELECT i._partition_date, count(*) FROM silver.inventory_movements i
                LEFT JOIN {products} p ON p.product_id = i.product_id AND {valid_at("p", at)}
                WHERE {at} >= DATE '{since.isoformat()}' AND {_product_changed("i")}
                GROUP BY 1""",
            )
        )
    return out


def mark_stale(
    con: duckdb.DuckDBPyConnection, since: date, detected_by: str, run_id: str, at: datetime
) -> None:
    """Record the days whose stored lookups (at or after `since`) differ from the versions now."""
    for table, select in stale_days_sql(_silver(con), since):
        con.execute(
            f"""INSERT INTO meta.stale_partitions
            SELECT $table, d.day, d.n, $by, $run_id, $at::TIMESTAMP FROM ({select}) d(day, n)
            WHERE NOT EXISTS (SELECT 1 FROM meta.stale_partitions s
                              WHERE s.table_name = $table AND s.partition_date = d.day)""",
            {"table": table, "by": detected_by, "run_id": run_id, "at": at},
        )


def clear_stale(con: duckdb.DuckDBPyConnection, table: str, start: date, end: date) -> None:
    """A build of the window resolved it against the versions as they are now."""
    con.execute(
        "DELETE FROM meta.stale_partitions WHERE table_name = ? AND partition_date >= ? AND partition_date < ?",
        [table, start, end],
    )
