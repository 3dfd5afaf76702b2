"""Reconciliation: for every partition, bronze rows = silver rows + quarantined + removed duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from shopflow_assets.defs.silver.tables import SilverTable
from shopflow_assets.lib.sql import ident


@dataclass(frozen=True)
class Reconciliation:
    day: date
    bronze: int
    silver: int
    quarantined: int
    duplicates: int

    @property
    def difference(self) -> int:
        return self.bronze - self.silver - self.quarantined - self.duplicates

    @property
    def ok(self) -> bool:
        return self.difference == 0


def reconcile(
    con: duckdb.DuckDBPyConnection, table: SilverTable, start: date, end: date
) -> list[Reconciliation]:
    """Counted independently from the persisted tables, not from the build's own numbers."""
    window = "_partition_date >= ? AND _partition_date < ?"
    bronze = " UNION ALL ".join(
        f"SELECT _partition_date FROM bronze.{ident(b)} WHERE {window}" for b in table.bronze
    )
    rows = con.execute(
        f"""WITH days AS (SELECT unnest(range(?::DATE, ?::DATE, INTERVAL 1 DAY))::DATE AS day),
        b AS (SELECT _partition_date AS day, count(*) AS n FROM ({bronze}) GROUP BY 1),
        s AS (SELECT _partition_date AS day, count(*) AS n FROM silver.{ident(table.ledger_table)}
              WHERE {window} GROUP BY 1),
        q AS (SELECT partition_date AS day, count(*) AS n FROM quarantine.rejected_records
              WHERE source = ? AND layer = 'silver' AND partition_date >= ? AND partition_date < ? GROUP BY 1),
        d AS (SELECT partition_date AS day, count(*) AS n FROM meta.removed_duplicates
              WHERE source = ? AND partition_date >= ? AND partition_date < ? GROUP BY 1)
        SELECT day, coalesce(b.n, 0), coalesce(s.n, 0), coalesce(q.n, 0), coalesce(d.n, 0)
        FROM days LEFT JOIN b USING (day) LEFT JOIN s USING (day) LEFT JOIN q USING (day) LEFT JOIN d USING (day)
        ORDER BY day""",
        [start, end]
        + [start, end] * len(table.bronze)
        + [start, end, table.name, start, end, table.name, start, end],
    ).fetchall()
    return [Reconciliation(*r) for r in rows]
