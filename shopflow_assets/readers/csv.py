"""CSV: DuckDB's read_csv with the contract's schema; the lines it rejects become quarantine rows."""

from __future__ import annotations

import duckdb

from shopflow_assets.landing import LandingFile
from shopflow_assets.readers.base import FileProbe, FileRejected, Staged, ident, sql_str
from shopflow_assets.sources import SourceSpec

DELIMITERS = (",", ";", "|", "\t")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# DuckDB's reject error types, as the rule ids the quarantine speaks.
_RULES = {
    "CAST": "type_cast",
    "MISSING COLUMNS": "wrong_column_count",
    "TOO MANY COLUMNS": "wrong_column_count",
    "INVALID ENCODING": "invalid_encoding",
    "UNQUOTED VALUE": "malformed_csv",
    "LINE SIZE OVER MAXIMUM": "malformed_csv",
}


def header_line(probe: FileProbe) -> str:
    encoding = "utf-8-sig" if probe.utf8 else "latin-1"
    first = probe.head.split(b"\n", 1)[0].rstrip(b"\r")
    return first.decode(encoding, errors="replace")


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


def stage(
    con: duckdb.DuckDBPyConnection, file: LandingFile, spec: SourceSpec, probe: FileProbe, out: Staged
) -> None:
    if probe.size == 0:
        raise FileRejected("file is empty (0 bytes)")
    header = header_line(probe)
    if not header.strip():
        raise FileRejected("file has no header line")
    delimiter = sniff_delimiter(header)
    order = header_columns(header, delimiter, spec)
    types = {c.name: c.type for c in spec.columns}
    columns = "{" + ", ".join(f"{sql_str(n)}: {sql_str(types[n])}" for n in order) + "}"
    encoding = "utf-8" if probe.utf8 else "latin-1"
    key_index = order.index(spec.key) + 1
    con.execute(
        f"DROP TABLE IF EXISTS {out.temp('csv_errors')}; DROP TABLE IF EXISTS {out.temp('csv_scans')}"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out.temp("csv_raw")} AS
        SELECT * FROM read_csv({sql_str(str(file.path))}, header = true, auto_detect = false,
            delim = {sql_str(delimiter)}, quote = '"', escape = '"', encoding = {sql_str(encoding)},
            columns = {columns}, timestampformat = {sql_str(TIMESTAMP_FORMAT)},
            store_rejects = true, rejects_table = {sql_str(out.temp("csv_errors"))}, rejects_scan = {sql_str(out.temp("csv_scans"))})"""
    )
    rule_case = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in _RULES.items())
    # One quarantine row per rejected line, however many errors DuckDB found in it.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out.rejects} AS
        SELECT line - 1 AS record_number,
               NULLIF(trim(split_part(any_value(csv_line), {sql_str(delimiter)}, {key_index}), ' "'), '')
                   AS record_key,
               string_agg(DISTINCT CASE error_type {rule_case} ELSE lower(error_type) END, ',') AS rule,
               string_agg(error_message, '; ' ORDER BY column_idx) AS reason,
               any_value(csv_line) AS raw_record
        FROM {out.temp("csv_errors")} GROUP BY line"""
    )
    # read_csv skips rejected lines, so the k-th accepted row is record k plus the number of
    # rejected records before it: an ASOF join on "accepted rows before each rejected record".
    select = ", ".join(f"r.{ident(c)}" for c in spec.column_names)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {out.rows} AS
        WITH gaps AS (
            SELECT record_number - row_number() OVER (ORDER BY record_number) AS accepted_before,
                   row_number() OVER (ORDER BY record_number) AS skipped
            FROM {out.rejects}),
        steps AS (SELECT accepted_before, max(skipped) AS skipped FROM gaps GROUP BY accepted_before),
        raw AS (SELECT *, rowid + 1 AS k FROM {out.temp("csv_raw")})
        SELECT {select}, r.k + coalesce(s.skipped, 0) AS _record_number
        FROM raw r ASOF LEFT JOIN steps s ON r.k > s.accepted_before"""
    )
