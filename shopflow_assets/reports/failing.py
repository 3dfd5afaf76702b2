"""The day's failing records: rejected ones from quarantine and flagged ones still in silver.

Rejected records carry their reason (rule, name and failing value) in quarantine. Flagged records
keep only the rule ids in `_flags`, so the value that failed is read back from the table's
candidates (the standardised records the rules judged), joined on the record's source file and
record number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from shopflow_assets.assets.silver.tables import SILVER_TABLES, SilverTable
from shopflow_assets.readers.base import ident, sql_str

# Table-level (dataframe) checks read several columns; column checks are found in the contract.
FRAME_RULE_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {
        "total_matches": ("quantity", "unit_price", "discount_percent", "total"),
        "unknown_customer": ("customer_id",),
        "unknown_product": ("product_id",),
    },
    "inventory_movements": {
        "sign_matches_type": ("update_type", "quantity_change"),
        "unknown_product": ("product_id",),
    },
    "products": {
        "prices_valid": ("cost_price", "retail_price"),
        "retail_not_below_cost": ("cost_price", "retail_price"),
    },
    "campaign_performance": {
        "metrics_non_negative": ("impressions", "clicks", "conversions", "spend", "revenue"),
        "clicks_within_impressions": ("clicks", "impressions"),
        "conversions_within_clicks": ("conversions", "clicks"),
        "dates_ordered": ("start_date", "end_date"),
    },
}


@dataclass(frozen=True)
class FailingRecord:
    table: str
    status: str  # "rejected" (in quarantine) | "flagged" (in silver with the rule in _flags)
    key: str | None  # the table's business key; None when the record had none
    rule: str
    severity: str | None
    detail: str | None  # rejected: the quarantine reason; flagged: the failing column values


def rule_columns(table: str) -> dict[str, tuple[str, ...]]:
    """Which candidate columns each rule of the table reads, to show the value that failed."""
    # Pandera loads only when a day has flagged records to explain.
    from shopflow_assets.quality.contracts import CONTRACTS

    columns: dict[str, tuple[str, ...]] = {}
    contract = CONTRACTS.get(table)
    if contract is not None:
        for name, column in contract.to_schema().columns.items():
            for check in column.checks:
                columns[check.name] = (name,)
    return {**columns, **FRAME_RULE_COLUMNS.get(table, {})}


def _value_expr(rules: dict[str, tuple[str, ...]], available: set[str]) -> str:
    whens = []
    for rule, cols in sorted(rules.items()):
        parts = [f"'{c} = ' || coalesce(cand.{ident(c)}::VARCHAR, 'null')" for c in cols if c in available]
        if parts:
            whens.append(f"WHEN {sql_str(rule)} THEN concat_ws(', ', {', '.join(parts)})")
    return f"CASE f.rule {' '.join(whens)} END" if whens else "NULL::VARCHAR"


def _ledger_exists(con: duckdb.DuckDBPyConnection, table: SilverTable) -> bool:
    (n,) = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'silver' AND table_name = ? "
        "AND column_name = '_flags'",
        [table.ledger_table],
    ).fetchone()
    return n > 0


def _insert_flagged(con: duckdb.DuckDBPyConnection, table: SilverTable, day: date) -> None:
    """The table's ledger rows of the day with non-empty _flags, one row per flagged rule."""
    delivered = "AND _delivered_on = _partition_date" if table.snapshot else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _qr_flagged AS
        SELECT {ident(table.key)}::VARCHAR AS record_key, _source_file, _record_number, unnest(_flags) AS rule
        FROM silver.{ident(table.ledger_table)}
        WHERE _partition_date = ? {delivered} AND len(_flags) > 0""",
        [day],
    )
    (n,) = con.execute("SELECT count(*) FROM _qr_flagged").fetchone()
    if not n:
        return
    from shopflow_assets.assets.silver.build import TITLE_CASE_MACRO  # the candidates SQL uses it

    con.execute(TITLE_CASE_MACRO)
    candidates = table.candidates(day, day + timedelta(days=1))
    available = set(con.sql(f"SELECT * FROM ({candidates}) LIMIT 0").columns)
    con.execute(
        f"""INSERT INTO _qr_failing
        SELECT ?, 'flagged', f.record_key, f.rule, {_value_expr(rule_columns(table.name), available)},
               f._source_file, f._record_number
        FROM _qr_flagged f LEFT JOIN ({candidates}) cand USING (_source_file, _record_number)""",
        [table.name],
    )


def failing_records(con: duckdb.DuckDBPyConnection, day: date, table_order: list[str]) -> list[FailingRecord]:
    """Rejected then flagged records per table (in table_order), each in file and record order.

    Severity comes from the day's rule results (_qr_results, see quality.py)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _qr_failing AS
        SELECT source AS table_name, 'rejected' AS status, record_key, rule, reason AS detail,
               source_file, record_number
        FROM quarantine.rejected_records WHERE layer = 'silver' AND partition_date = ?""",
        [day],
    )
    for table in SILVER_TABLES.values():
        if _ledger_exists(con, table):
            _insert_flagged(con, table, day)
    rows = con.execute(
        """SELECT f.table_name, f.status, f.record_key, f.rule, r.severity, f.detail
        FROM _qr_failing f LEFT JOIN _qr_results r ON r.table_name = f.table_name AND r.rule_id = f.rule
        ORDER BY list_position(?::VARCHAR[], f.table_name) NULLS LAST, f.table_name,
                 f.status = 'flagged', f.source_file, f.record_number, f.rule""",
        [table_order],
    ).fetchall()
    return [FailingRecord(*r) for r in rows]
