"""CSV records as the contract counts them, and the careful reading built on that count.

A CSV file delivers one record per non-blank line after the header, except that a line break
inside a properly quoted field joins lines into one record. A quote that is never properly closed
joins nothing: DuckDB would swallow every line after it into one field, so each of those lines is a
record of its own, quarantined with its raw text. Python's csv module (strict) splits the records;
it is only used when DuckDB's readings do not add up to this count (see load.py), so its cost falls
on damaged files, never on the happy path.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from shopflow_assets.lib.sql import ident
from shopflow_assets.readers.base import Prepared, Staged
from shopflow_assets.readers.typing import typed_select
from shopflow_assets.sources import SourceSpec

_BATCH = 50_000  # records handed to DuckDB at a time: a big damaged file never sits in Python whole
MALFORMED = "malformed_csv"


@dataclass(frozen=True)
class Record:
    """One record of the file: its fields, or None when it is rejected before typing."""

    number: int  # 1 = the first record after the header
    raw: str
    fields: list[str] | None = None
    key: str | None = None
    rule: str | None = None
    reason: str | None = None


class _Lines:
    """The file's physical lines, remembering those the csv module took for the current record."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.taken: list[str] = []
        self.number = 0  # physical lines read so far (the header is line 1)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        self.number += 1
        return line


def _strip_break(line: str) -> str:
    return line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith(("\n", "\r")) else line


def records(path: Path, encoding: str, delimiter: str, columns: int, key_index: int) -> Iterator[Record]:
    """Every record after the header, numbered; blank lines are not records."""
    csv.field_size_limit(sys.maxsize)  # a stray quote's field runs to the end of the file
    with path.open(encoding=encoding, newline="") as fh:
        lines = _Lines(iter(fh))
        if next(lines, None) is None:
            return
        number = 0
        reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        while True:
            lines.taken = []
            first = lines.number + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # each physical line the broken record took is a record
                for record in _broken(lines.taken, first, number, str(exc), delimiter, key_index):
                    number = record.number
                    yield record
                reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
                continue
            if not fields:  # a blank line
                continue
            number += 1
            raw = _strip_break("".join(lines.taken))
            if len(fields) != columns:
                key = fields[key_index].strip() or None if len(fields) > key_index else None
                reason = f"Expected Number of Columns: {columns} Found: {len(fields)}"
                yield Record(number, raw, key=key, rule="wrong_column_count", reason=reason)
            else:
                yield Record(number, raw, fields=fields)


def _broken(
    taken: list[str], first: int, number: int, error: str, delimiter: str, key_index: int
) -> Iterator[Record]:
    last = first + len(taken) - 1
    unterminated = error == "unexpected end of data"
    for offset, line in enumerate(taken):
        raw = _strip_break(line)
        parts = raw.split(delimiter)
        key = parts[key_index].strip(' "') or None if len(parts) > key_index else None
        if unterminated:
            reason = (
                f"line {first}: unterminated quote: it would swallow lines {first}-{last} into one field"
                if offset == 0
                else f"line {first + offset}: swallowed by the unterminated quote on line {first}"
            )
        elif len(taken) == 1:
            reason = f"line {first}: malformed quoting ({error})"
        else:
            reason = (
                f"line {first}: malformed quoting ({error} on line {last}); the quoted field runs to line {last}"
                if offset == 0
                else f"line {first + offset}: inside the malformed quoted field opened on line {first}"
            )
        yield Record(number + offset + 1, raw, key=key, rule=MALFORMED, reason=reason)


def count_records(path: Path, utf8: bool, delimiter: str, order: list[str], spec: SourceSpec) -> int:
    """The records the file delivers (one pass, nothing kept)."""
    return sum(1 for _ in records(path, _encoding(utf8), delimiter, len(order), order.index(spec.key)))


def _encoding(utf8: bool) -> str:
    return "utf-8-sig" if utf8 else "latin-1"


def careful_reading(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    spec: SourceSpec,
    delimiter: str,
    order: list[str],
    utf8: bool,
    timestamp_format: str,
    out: Staged,
) -> Prepared:
    """Split the records in Python, type them in DuckDB; `records` is the count the file delivers."""
    fields, typed = out.temp("careful_fields"), out.temp("careful_typed")
    names = [f"c{i}" for i in range(len(order))]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {fields} ("
        + ", ".join(f"{n} VARCHAR" for n in names)
        + ", _record_number BIGINT, _raw VARCHAR, _key VARCHAR, _rule VARCHAR, _reason VARCHAR)"
    )
    count = 0
    batch: list[Record] = []
    key_index = order.index(spec.key)
    for record in records(path, _encoding(utf8), delimiter, len(order), key_index):
        batch.append(record)
        count += 1
        if len(batch) == _BATCH:
            _append(con, fields, names, batch)
            batch = []
    _append(con, fields, names, batch)

    position = {name: f"NULLIF(c{i}, '')" for i, name in enumerate(order)}
    items, errors = typed_select(spec.columns, lambda c: position[c.name], timestamp_format=timestamp_format)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {typed} AS
        SELECT {", ".join(items)}, _record_number, {errors} AS _errors,
               NULLIF(trim({position[spec.key]}), '') AS _key, _raw
        FROM {fields} WHERE _rule IS NULL"""
    )
    columns = ", ".join(ident(c) for c in spec.column_names)
    return Prepared(
        rows_sql=f"SELECT {columns}, _record_number FROM {typed} WHERE len(_errors) = 0",
        rejects_sql=f"""
            SELECT _record_number AS record_number, _key AS record_key, _rule AS rule, _reason AS reason,
                   _raw AS raw_record FROM {fields} WHERE _rule IS NOT NULL
            UNION ALL
            SELECT _record_number, _key, 'type_cast', array_to_string(_errors, '; '), _raw
            FROM {typed} WHERE len(_errors) > 0""",
        records=count,
    )


def _append(con: duckdb.DuckDBPyConnection, table: str, names: list[str], batch: list[Record]) -> None:
    if not batch:
        return
    data: dict[str, list] = {n: [] for n in names}
    for i, name in enumerate(names):
        data[name] = [r.fields[i] if r.fields is not None else None for r in batch]
    data["_record_number"] = [r.number for r in batch]
    data["_raw"] = [r.raw for r in batch]
    data["_key"] = [r.key for r in batch]
    data["_rule"] = [r.rule for r in batch]
    data["_reason"] = [r.reason for r in batch]
    arrow = pa.table(
        data, schema=pa.schema([(n, pa.string() if n != "_record_number" else pa.int64()) for n in data])
    )
    view = f"{table}_batch"
    con.register(view, arrow)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM {ident(view)}")
    finally:
        con.unregister(view)


__all__ = ["MALFORMED", "Record", "careful_reading", "count_records", "records"]
