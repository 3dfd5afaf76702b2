"""`shopflow summary`: what the warehouse holds, per table and day, and a few business answers from
gold; read-only."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from shopflow_assets.lib.schema import bronze_table
from shopflow_assets.lib.sql import ident
from shopflow_assets.lib.warehouse import DEFAULT_LOCK_TIMEOUT_SECONDS, WarehouseLockedError, connect
from shopflow_assets.reports.table import grid
from shopflow_assets.sources import SOURCES


def _grid(title: str, header: list[str], rows: list[tuple]) -> str:
    return f"{title}\n{grid(header, rows)}"


def render(con: duckdb.DuckDBPyConnection) -> str:
    """Rows per bronze table and day, quarantined records and rejected files, files read."""
    sources = list(SOURCES)
    counts = " UNION ALL ".join(
        f"SELECT '{s}' AS source, _partition_date AS day, count(*) AS n FROM {bronze_table(SOURCES[s])} GROUP BY ALL"
        for s in sources
    )
    pivot = ", ".join(f"sum(n) FILTER (WHERE source = '{s}') AS {s}" for s in sources)
    by_day = con.execute(f"SELECT day, {pivot} FROM ({counts}) GROUP BY day ORDER BY day").fetchall()
    totals = con.execute(f"SELECT 'total', {pivot} FROM ({counts})").fetchall()
    rejected = con.execute(
        """SELECT source, layer, rule, count(*) FROM quarantine.rejected_records GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    bad_files = con.execute(
        "SELECT source, partition_date, source_file, reason FROM quarantine.rejected_files ORDER BY ALL"
    ).fetchall()
    files = con.execute(
        """WITH latest AS (
               SELECT * FROM meta.ingestion_log
               QUALIFY row_number() OVER (PARTITION BY path ORDER BY finished_at DESC) = 1)
           SELECT source, count(*), sum(bytes), sum(rows_loaded), sum(rows_rejected),
                  count(*) FILTER (WHERE status = 'rejected')
           FROM latest GROUP BY source ORDER BY source"""
    ).fetchall()
    parts = [
        _grid("Bronze rows per day", ["day", *sources], [*by_day, *totals]),
        _silver(con),
        _gold(con),
        _grid("Quarantined records", ["source", "layer", "rule", "records"], rejected),
        _grid("Rejected files", ["source", "day", "file", "reason"], bad_files)
        if bad_files
        else "Rejected files: none",
        _grid(
            "Files read (latest load)",
            ["source", "files", "bytes", "rows", "rejected", "files rejected"],
            files,
        ),
    ]
    return "\n\n".join(parts)


def _silver(con: duckdb.DuckDBPyConnection) -> str:
    """Per silver table: rows, rejected, flagged, duplicates removed and quality score (latest runs)."""
    from shopflow_assets.defs.silver.tables import SILVER_TABLES

    existing = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'silver'").fetchall()}  # fmt: skip
    if not existing or not con.execute("SELECT count(*) FROM meta.quality_scores").fetchone()[0]:
        return "Silver: not built yet"
    scores = dict(
        (t, (checked, passing, rejected, flagged, dups))
        for t, checked, passing, rejected, flagged, dups in con.execute(
            """SELECT table_name, sum(rows_checked), sum(rows_passing), sum(rows_rejected), sum(rows_flagged),
                      sum(duplicates_removed)
               FROM (SELECT * FROM meta.quality_scores
                     QUALIFY row_number() OVER (PARTITION BY table_name, partition_date
                                                ORDER BY evaluated_at DESC) = 1)
               GROUP BY 1"""
        ).fetchall()
    )
    rows = []
    for name in SILVER_TABLES:
        if name not in existing or name not in scores:
            continue
        checked, passing, rejected, flagged, dups = scores[name]
        (n, days) = con.execute(
            f"SELECT count(*), count(DISTINCT _partition_date) FROM silver.{ident(name)}"
        ).fetchone()
        rows.append((name, days, n, rejected, flagged, dups, f"{passing / checked:.2%}" if checked else ""))
    return _grid(
        "Silver tables", ["table", "days", "rows", "rejected", "flagged", "duplicates", "quality"], rows
    )


# A few of the business's questions, answered from the gold marts (revenue = net of completed orders).
GOLD_ANSWERS: list[tuple[str, list[str], str]] = [
    (
        "Top 5 customers by spending",
        ["customer", "country", "segment", "orders", "revenue"],
        """SELECT customer_key, country, segment, completed_orders, revenue FROM gold.customer_metrics
           ORDER BY revenue DESC, customer_key LIMIT 5""",
    ),
    (
        "Revenue by month",
        ["month", "revenue", "completed orders", "customers", "AOV", "growth"],
        """SELECT strftime(month, '%Y-%m'), revenue, completed_orders, active_customers,
                  average_order_value::DECIMAL(12, 2),
                  CASE WHEN revenue_growth_pct IS NOT NULL THEN printf('%+.2f%%', revenue_growth_pct) END
           FROM gold.monthly_revenue ORDER BY month""",
    ),
    (
        "Average order value by country",
        ["country", "customers", "completed orders", "AOV"],
        """SELECT c.country, count(DISTINCT f.customer_key), count(*), (sum(f.net_amount) / count(*))::DECIMAL(12, 2)
           FROM gold.fact_orders f JOIN gold.dim_customers c ON c.customer_sk = f.customer_sk
           WHERE f.is_completed AND f.customer_sk <> 'unknown' GROUP BY 1 ORDER BY 4 DESC, 1""",
    ),
]


def _gold(con: duckdb.DuckDBPyConnection) -> str:
    built = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'gold'").fetchall()}  # fmt: skip
    if not {"customer_metrics", "monthly_revenue", "fact_orders", "dim_customers"} <= built:
        return "Gold: not built yet"
    return "\n\n".join(
        _grid(title, header, con.execute(sql).fetchall()) for title, header, sql in GOLD_ANSWERS
    )


def print_summary(database: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS) -> int:
    """The CLI entry point: 0 with the summary on stdout, 1 with one line when there is nothing to show
    or a run has held the write lock for longer than `lock_timeout` seconds."""
    if not database.exists():
        print(f"No warehouse at {database}: run `make demo` or materialize some assets first.")
        return 1
    try:
        with connect(database, read_only=True, lock_timeout=lock_timeout) as con:
            text = render(con)
    except duckdb.CatalogException as exc:
        print(f"The warehouse at {database} has no bronze layer yet ({str(exc).splitlines()[0]}).")
        return 1
    except (WarehouseLockedError, duckdb.IOException) as exc:  # a run is writing: one line, no traceback
        print(f"Cannot open the warehouse at {database}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    print(text)
    return 0
