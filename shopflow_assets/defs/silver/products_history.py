"""silver.products as versioned history, built from the ledger silver.product_deliveries.

The catalog files are change files (the full catalog on the first day, then new and changed
products): a product missing from a file is unchanged. A record with `active = false` removes the
product from sale: it closes the open version and no version is valid until it is active again.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from shopflow_assets.defs.silver.build import publish_ledger
from shopflow_assets.defs.silver.stale import mark_stale
from shopflow_assets.defs.silver.versions import (
    latest_as_of,
    merge_versions,
)

LEDGER = "product_deliveries"
ATTRIBUTES = (
    "name", "category", "brand", "supplier", "cost_price", "retail_price", "active", "last_updated", "_flags",
)  # fmt: skip


def publish_products(
    con: duckdb.DuckDBPyConnection, start: date, end: date, run_id: str, at: datetime
) -> None:
    """The window's accepted records into the ledger, then the versions they can change."""
    w0, changed = publish_ledger(con, LEDGER, start, end, run_id, at)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pv_state AS
        SELECT day, product_id, name, category, brand, supplier, cost_price, retail_price, active,
               last_updated, snapshot_date,
               (retail_price - cost_price)::DECIMAL(12, 2) AS margin,
               round((retail_price - cost_price) / NULLIF(retail_price, 0) * 100, 2)::DECIMAL(7, 2) AS margin_pct,
               _flags, _partition_date AS _delivered_on, _source_file, _record_number
        FROM ({latest_as_of(LEDGER, "product_id")})
        WHERE product_id IS NOT NULL AND active IS DISTINCT FROM false"""
    )
    merge_versions(con, "products", "_pv_state", ["product_id"], ATTRIBUTES, w0, changed, run_id, at)
    if changed:
        mark_stale(con, start, "products", run_id, at)
