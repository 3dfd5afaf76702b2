"""The day's failing records: rejected ones from quarantine and flagged ones still in silver.

Rejected records carry their reason (rule, name and failing value) in quarantine. Flagged records
keep only the rule ids in `_flags`, so the value that failed is read back from the silver row, or,
where the ledger does not hold the column (customers: the id map), from the table's candidates (the
standardised records the rules judged), joined on the record's source file and record number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from shopflow_assets.defs.silver.tables import SILVER_TABLES, SilverTable
from shopflow_assets.lib.sql import ident
from shopflow_assets.quality.rules import detail_sql


@dataclass(frozen=True)
class FailingRecord:
    table: str
    status: str  # "rejected" (in quarantine) | "flagged" (in silver with the rule in _flags)
    key: str | None  # the table's business key; None when the record had none
    rule: str
    severity: str | None
    detail: str | None  # rejected: the quarantine reason; flagged: the failing column values


def rule_columns(table: str) -> dict[str, tuple[str, ...]]:
    """The columns whose values explain each rule's failures, as the table's contract declares them."""
    # Pandera loads only when a day has flagged records to explain.
    from shopflow_assets.quality.contracts import CONTRACTS
    from shopflow_assets.quality.validate import rule_columns as declared

    return declared(table) if table in CONTRACTS else {}


def _columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> set[str]:
    return {
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    }


def _candidates(con: duckdb.DuckDBPyConnection, table: SilverTable, day: date) -> tuple[str, set[str]] | None:
    """The day's candidate records and their columns, or None when they cannot be read here.

    Only needed where the ledger does not hold the rule's columns (the customer master's ledger is
    the id map). Candidates may depend on what the build stages (macros, lookup views); if they do
    not bind read-only here, the report shows no value rather than failing."""
    try:
        from shopflow_assets.defs.silver.build import TITLE_CASE_MACRO

        con.execute(TITLE_CASE_MACRO)
        sql = table.candidates(day, day + timedelta(days=1))
        return sql, set(con.sql(f"SELECT * FROM ({sql}) LIMIT 0").columns)
    except (ImportError, duckdb.Error):
        return None


def _insert_flagged(con: duckdb.DuckDBPyConnection, table: SilverTable, day: date) -> None:
    """The table's ledger rows of the day with non-empty _flags, one row per flagged rule, with the
    values of the columns that rule reads: from the ledger row, else from the candidate record."""
    ledger = _columns(con, "silver", table.ledger_table)
    if "_flags" not in ledger:
        return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _qr_flagged AS
        SELECT unnest(_flags) AS _qr_rule, * FROM silver.{ident(table.ledger_table)}
        WHERE _partition_date = ? AND len(_flags) > 0""",
        [day],
    )
    (n,) = con.execute("SELECT count(*) FROM _qr_flagged").fetchone()
    if not n:
        return
    rules = rule_columns(table.name)
    sources = {c: "f" for c in ledger}
    join = ""
    needed = {c for cols in rules.values() for c in cols}
    if needed - ledger and (found := _candidates(con, table, day)) is not None:
        sql, columns = found
        sources |= {c: "cand" for c in (needed - ledger) & columns}
        join = f"LEFT JOIN ({sql}) cand USING (_source_file, _record_number)"
    con.execute(
        f"""INSERT INTO _qr_failing
        SELECT ?, 'flagged', f.{ident(table.key)}::VARCHAR, f._qr_rule, {detail_sql("f._qr_rule", rules, sources)},
               f._source_file, f._record_number
        FROM _qr_flagged f {join}""",
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
        _insert_flagged(con, table, day)
    rows = con.execute(
        """SELECT f.table_name, f.status, f.record_key, f.rule, r.severity, f.detail
        FROM _qr_failing f LEFT JOIN _qr_results r ON r.table_name = f.table_name AND r.rule_id = f.rule
        ORDER BY list_position(?::VARCHAR[], f.table_name) NULLS LAST, f.table_name,
                 f.status = 'flagged', f.source_file, f.record_number, f.rule""",
        [table_order],
    ).fetchall()
    return [FailingRecord(*r) for r in rows]
