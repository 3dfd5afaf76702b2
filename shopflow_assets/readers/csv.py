"""CSV: DuckDB's read_csv with the contract's schema; the lines it rejects become quarantine rows."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import duckdb

from shopflow_assets.landing import LandingFile
from shopflow_assets.lib.sql import ident, sql_str
from shopflow_assets.readers.base import FileProbe, FileRejected, Prepared, Staged
from shopflow_assets.readers.csv_records import MALFORMED, careful_reading, count_records
from shopflow_assets.sources import SourceSpec

DELIMITERS = (",", ";", "|", "\t")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# DuckDB's reject error types, as the rule ids the quarantine speaks.
_RULES = {
    "CAST": "type_cast",
    "MISSING COLUMNS": "wrong_column_count",
    "TOO MANY COLUMNS": "wrong_column_count",
    "INVALID ENCODING": "invalid_encoding",
    "UNQUOTED VALUE": MALFORMED,
    "LINE SIZE OVER MAXIMUM": MALFORMED,
}


def header_line(head: bytes) -> str:
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        return first.decode("utf-8-sig")
    except UnicodeDecodeError:
        return first.decode("latin-1")


def sniff_delimiter(header: str) -> str:
    """The candidate that splits the header into the most fields (ties: the contract's order)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 0:
        raise FileRejected("cannot find a delimiter (, ; | or tab) in the header line")
    return best


def header_columns(header: str, delimiter: str, spec: SourceSpec) -> list[str]:
    """The file's column order, validated against the contract (any order, exact names)."""
    found = [h.strip().strip('"').strip().lower() for h in header.split(delimiter)]
    expected = spec.column_names
    missing = [c for c in expected if c not in found]
    unexpected = [c for c in found if c not in expected]
    if missing or unexpected or len(found) != len(set(found)):
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected columns: " + ", ".join(unexpected))
        if len(found) != len(set(found)):
            parts.append("duplicate column names")
        raise FileRejected(f"header does not match the {spec.name} contract ({'; '.join(parts)})")
    return found


# read_csv streams into the bronze table in file order (DuckDB preserves insertion order), so the
# rows one INSERT appends get consecutive rowids: the k-th accepted row has rowid first + k - 1.
# Rejected lines are skipped, so that row is record k + #(rejected records before it). Both are set
# by one UPDATE joined to per-bucket step counts (a bucket is RENUMBER_BUCKET consecutive rows).
# Numbering by rowid instead of row_number() OVER () saves a streaming window on the hot path.
RENUMBER_BUCKET = 4096


def prepare(
    con: duckdb.DuckDBPyConnection, file: LandingFile, spec: SourceSpec, probe: FileProbe, out: Staged
) -> Prepared:
    """Plan a UTF-8 reading, and a Latin-1 one for when the probe finds the file is not UTF-8."""
    if probe.size == 0:
        raise FileRejected("file is empty (0 bytes)")
    if probe.head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("file is UTF-16 (the contract allows UTF-8, UTF-8 with BOM or Latin-1)")
    header = header_line(probe.head)
    if not header.strip():
        raise FileRejected("file has no header line")
    delimiter = sniff_delimiter(header)
    order = header_columns(header, delimiter, spec)
    # the one-thread readings: DuckDB 2.0 defect, see shopflow_assets/lib/duckdb_defects.py (1)
    plans = {
        (encoding, parallel): _plan(
            con, file, spec, delimiter, order, encoding, parallel, Staged(out.temp(name))
        )
        for encoding, parallel, name in [
            ("utf-8", True, "utf8"),
            ("utf-8", False, "utf8_seq"),
            ("latin-1", True, "latin1"),
            ("latin-1", False, "latin1_seq"),
        ]
    }

    @cache  # built once per encoding, only when DuckDB's readings do not add up
    def careful(utf8: bool) -> Prepared:
        return careful_reading(
            con,
            file.path,
            spec,
            delimiter,
            order,
            utf8,
            TIMESTAMP_FORMAT,
            Staged(out.temp("careful_utf8" if utf8 else "careful_latin1")),
        )

    @cache  # only for a file with a quoted line break: DuckDB's count is checked against it
    def count(utf8: bool) -> int:
        return count_records(file.path, utf8, delimiter, order, spec)

    fallbacks = {"careful": careful, "count_records": count}
    latin1 = replace(plans["latin-1", True], sequential=plans["latin-1", False], **fallbacks)
    return replace(plans["utf-8", True], latin1=latin1, sequential=plans["utf-8", False], **fallbacks)


def _plan(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    spec: SourceSpec,
    delimiter: str,
    order: list[str],
    encoding: str,
    parallel: bool,
    out: Staged,
) -> Prepared:
    types = {c.name: c.type for c in spec.columns}
    columns = "{" + ", ".join(f"{sql_str(n)}: {sql_str(types[n])}" for n in order) + "}"
    errors, scans = out.temp("errors"), out.temp("scans")
    con.execute(f"DROP TABLE IF EXISTS {errors}; DROP TABLE IF EXISTS {scans}")
    names = ", ".join(ident(c) for c in spec.column_names)
    rows_sql = f"""
        SELECT {names}, NULL::BIGINT AS _record_number
        FROM read_csv({sql_str(str(file.path))}, header = true, auto_detect = false,
            delim = {sql_str(delimiter)}, quote = '"', escape = '"', encoding = {sql_str(encoding)},
            columns = {columns}, timestampformat = {sql_str(TIMESTAMP_FORMAT)},
            store_rejects = true, rejects_table = {sql_str(errors)}, rejects_scan = {sql_str(scans)},
            parallel = {str(parallel).lower()})"""
    rule_case = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in _RULES.items())
    # One quarantine row per rejected line, however many errors DuckDB found in it.
    rejects_sql = f"""
        SELECT line - 1 AS record_number,
               NULLIF(trim(split_part(any_value(csv_line), {sql_str(delimiter)}, {order.index(spec.key) + 1}),
                           ' "'), '') AS record_key,
               -- a line with the wrong number of fields has that as its reason, not the casts it breaks
               CASE WHEN bool_or(error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS')) THEN 'wrong_column_count'
                    ELSE string_agg(DISTINCT CASE error_type {rule_case} ELSE lower(error_type) END, ','
                                    ORDER BY CASE error_type {rule_case} ELSE lower(error_type) END) END AS rule,
               string_agg(error_message, '; ' ORDER BY column_idx) AS reason,
               any_value(csv_line) AS raw_record
        FROM (
            -- a short line yields one error per missing field: the first states the actual count
            SELECT * FROM {errors}
            QUALIFY error_type <> 'MISSING COLUMNS' OR column_idx = min(column_idx)
                FILTER (WHERE error_type = 'MISSING COLUMNS') OVER (PARTITION BY line))
        GROUP BY line"""

    def renumber(con: duckdb.DuckDBPyConnection, table: str, file_filter: str, staged: int) -> None:
        first, last, count = con.execute(
            f"SELECT min(rowid), max(rowid), count(*) FROM {table} WHERE {file_filter}"
        ).fetchone()
        if count != staged:  # a scan that misses rows (see load.py) must not leave them unnumbered
            raise RuntimeError(
                f"{file.path.name}: {staged} rows staged but {count} found; cannot number them"
            )
        if not count:
            return
        if last - first + 1 != count:  # the append was not one contiguous run: numbering would be wrong
            raise RuntimeError(f"rows of {file.path.name} were not appended contiguously; cannot number them")
        b = RENUMBER_BUCKET
        con.execute(
            f"""UPDATE {table} t
            SET _record_number = (t.rowid - {first} + 1) + s.base
                + coalesce(len(list_filter(s.inside, lambda x: x < t.rowid - {first} + 1)), 0)
            FROM (
                WITH o AS (SELECT (line - 1) - row_number() OVER (ORDER BY line) AS accepted_before
                           FROM (SELECT DISTINCT line FROM {errors})),
                buckets AS (SELECT unnest(range(0, {count} // {b} + 1)) AS bucket)
                SELECT bucket,
                       (SELECT count(*) FROM o WHERE accepted_before < bucket * {b}) AS base,
                       (SELECT list(accepted_before) FROM o WHERE accepted_before >= bucket * {b}
                          AND accepted_before < (bucket + 1) * {b}) AS inside
                FROM buckets) s
            WHERE (t.rowid - {first} + 1) // {b} = s.bucket AND {file_filter}"""
        )

    return Prepared(rows_sql=rows_sql, rejects_sql=rejects_sql, renumber=renumber)
