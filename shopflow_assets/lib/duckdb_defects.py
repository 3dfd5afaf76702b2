"""The DuckDB 2.0 defects this project works around, in one place.

Each defect below names its symptom, a repro, and the workaround in the code (file and function);
each workaround site carries a comment pointing here. shopflow_assets_tests/test_duckdb_defects.py
reproduces the defects on a real DuckDB: a test passes while its defect exists and fails once
DuckDB fixes it, saying which workaround can then go.

(1) Parallel CSV reading with store_rejects loses records after a reject opening a read buffer.
    Symptom: read_csv(..., store_rejects = true) with parallel reading, on a file with a rejected
    record that starts the second read buffer (about 8 MB in), loads the records before it and
    then nothing: the bad record and every record after it are neither loaded nor in the rejects
    table, and there is no error. Still present in DuckDB 2.0.0 and 2.0.1.
    Repro: 130,000 lines (~9.8 MB) with one record of the wrong type starting at byte ~8,000,000
    (record 106,006): parallel loads 106,005 and rejects 0; parallel = false loads 129,999 and
    rejects 1.
    Workaround: a reading whose loaded + rejected records do not add up to the records the file
    delivers is redone with parallel = false, then carefully: shopflow_assets/defs/bronze/load.py
    `_stage_csv` and `_records_read`; the one-thread plans in shopflow_assets/readers/csv.py
    `prepare`.

(2) A large append after an empty one in the same transaction is hidden from scans after COMMIT.
    Symptom: after an INSERT that appends 0 rows, an INSERT of at least one row group (122,880 rows)
    read from a table, into the same table in the same transaction, is invisible to filtered and
    grouped scans once committed (until the next checkpoint); count(*) still sees every row.
    Repro (DuckDB 2.0.0): CREATE TABLE t (k INTEGER, v BIGINT); CREATE TEMP TABLE src AS 200,000
    rows; BEGIN; INSERT INTO t SELECT * FROM src WHERE false; INSERT INTO t SELECT * FROM src;
    COMMIT: count(*) = 200,000, but SELECT k, count(*) ... GROUP BY k returns no rows and
    count(*) WHERE k = 1 returns 0. Without the empty INSERT, or with the rows read from range()
    instead of a table, every scan sees them.
    Fixed in DuckDB 2.0.1 (the same repro sees all rows). While pyproject.toml still allows 2.0.0,
    the workarounds stay:
    - shopflow_assets/defs/bronze/load.py `_stage_reading`: one transaction per file staged;
    - shopflow_assets/defs/bronze/load.py `_quarantine_records`: every file's rejected records
      in one INSERT ... UNION ALL, never one (possibly empty) INSERT per file;
    - shopflow_assets/defs/silver/build.py `replace_window`: a new table is created from
      DESCRIBE, not by CREATE TABLE AS ... LIMIT 0 (an empty append) before the first build.

(3) An UPDATE of rows appended in the same transaction rewrites the whole append at COMMIT.
    Symptom: DuckDB writes a large INSERT optimistically to the database file as it goes; an UPDATE
    of those rows before COMMIT makes DuckDB write the whole append again at COMMIT. A performance
    defect, not a correctness one: the rows are right, only slower (more than the numbering cost).
    Found in DuckDB 2.0.0 while building the loader (commit 4d1a255); not re-measured on 2.0.1.
    Workaround: bronze stages a file's rows in their own transaction (`_stage_reading`) and numbers
    them (`_record_number`, the CSV plan's `renumber`, shopflow_assets/readers/csv.py) in the
    publish transaction, after the stage committed: shopflow_assets/defs/bronze/load.py
    `_publish`.
    Not tested: the only signal is time (or bytes written), which is not a robust, fast test; the
    bronze benchmarks (see README) show it if the numbering ever moves back into the stage.
"""

from __future__ import annotations

# DuckDB's row group: defect (2) needs an append of at least this many rows.
ROW_GROUP_ROWS = 122_880
# Where DuckDB's parallel CSV reader starts its second read buffer (defect 1), in bytes, roughly.
CSV_SECOND_BUFFER_BYTES = 8_000_000
