"""Typing semi-structured records in SQL: one TRY_CAST per column and a readable error per failure.

JSON and Parquet deliver values whose types the contract does not control; instead of failing the
file, each value is cast with TRY_CAST and a record with any value that did not survive the cast is
rejected with one reason per column.
"""

from __future__ import annotations

from collections.abc import Callable

from shopflow_assets.lib.sql import ident, sql_str
from shopflow_assets.sources import Column


def cast_expr(
    raw_text: str, raw_json: str | None, column: Column, timestamp_format: str | None = None
) -> str:
    """The typed value of one column, NULL when the raw value does not fit the type. With a
    `timestamp_format`, a TIMESTAMP must have exactly that format (as in CSV files)."""
    if column.type.endswith("[]"):
        source = raw_json if raw_json is not None else raw_text
        return f"TRY_CAST({source} AS {column.type})"
    if column.type == "VARCHAR":
        return raw_text
    if column.type == "TIMESTAMP" and timestamp_format:
        return f"try_strptime({raw_text}, {sql_str(timestamp_format)})"
    if column.type == "TIMESTAMP":
        # ISO-8601 with an offset or Z is normalised to UTC; the connection's TimeZone is UTC.
        return f"(TRY_CAST({raw_text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    return f"TRY_CAST({raw_text} AS {column.type})"


def typed_select(
    columns: tuple[Column, ...],
    raw_text: Callable[[Column], str],
    raw_json: Callable[[Column], str] | None = None,
    timestamp_format: str | None = None,
) -> tuple[list[str], str]:
    """Select items for the typed columns and an expression listing the cast failures."""
    items: list[str] = []
    failures: list[str] = []
    for col in columns:
        text = raw_text(col)
        rjson = raw_json(col) if raw_json else None
        typed = cast_expr(text, rjson, col, timestamp_format)
        items.append(f"{typed} AS {ident(col.name)}")
        if col.type != "VARCHAR":
            shown = f"{rjson}::VARCHAR" if (rjson is not None and col.type.endswith("[]")) else text
            failures.append(
                f"CASE WHEN {text} IS NOT NULL AND {typed} IS NULL THEN "
                f"{sql_str(col.name + ': ')} || {sql_str(chr(39))} || {shown} || "
                f"{sql_str(chr(39) + ' is not a valid ' + col.type)} END"
            )
    errors = (
        f"list_filter([{', '.join(failures)}]::VARCHAR[], lambda x: x IS NOT NULL)"
        if failures
        else "[]::VARCHAR[]"
    )
    return items, errors
