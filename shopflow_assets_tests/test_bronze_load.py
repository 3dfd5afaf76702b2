"""Partition writes: exact counts, lineage, idempotency, isolation and atomicity."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from shopflow_assets.lib.schema import bronze_columns, bronze_row_columns
from shopflow_assets.lib.warehouse import connect
from shopflow_assets.sources import SOURCES
from shopflow_assets_tests.conftest import ORDER_HEADER, order_line, write_csv

LINEAGE = "_partition_date::VARCHAR, _source_file, _file_sha256, _record_number, _run_id"


def _day_file(landing: Path, day: str, n: int, suffix: str = "", start: int = 1) -> Path:
    rows = [order_line(f"{day}-{i}", day=day) for i in range(start, start + n)]
    return write_csv(landing / "orders" / f"orders_{day}{suffix}.csv", rows)


def _snapshot(query) -> dict[str, list[tuple]]:
    """Everything a load writes, minus the per-run columns."""
    return {
        "bronze": query("SELECT * EXCLUDE (_ingested_at, _run_id) FROM bronze.orders ORDER BY ALL"),
        "rejected": query(
            "SELECT * EXCLUDE (run_id, rejected_at) FROM quarantine.rejected_records ORDER BY ALL"
        ),
        "files": query("SELECT * EXCLUDE (run_id, rejected_at) FROM quarantine.rejected_files ORDER BY ALL"),
    }


def test_range_load_counts_and_lineage(landing: Path, load, query) -> None:
    f1 = _day_file(landing, "2024-01-01", 3)
    _day_file(landing, "2024-01-02", 5)
    _day_file(landing, "2024-01-03", 2)
    result = load("orders", "2024-01-01", days=2, run_id="run-a")
    assert {d.isoformat(): n for d, n in result.rows_by_partition.items()} == {
        "2024-01-01": 3,
        "2024-01-02": 5,
    }
    assert [f.path for f in result.files] == ["orders/orders_2024-01-01.csv", "orders/orders_2024-01-02.csv"]
    sha = hashlib.sha256(f1.read_bytes()).hexdigest()
    assert query(
        f"SELECT order_id, {LINEAGE} FROM bronze.orders WHERE _partition_date = '2024-01-01' ORDER BY 5"
    ) == [
        (f"2024-01-01-{i}", "2024-01-01", "orders/orders_2024-01-01.csv", sha, i, "run-a") for i in (1, 2, 3)
    ]
    assert query(
        "SELECT path, sha256, bytes, rows_loaded, rows_rejected, status, run_id, finished_at >= started_at "
        "FROM meta.ingestion_log ORDER BY path"
    ) == [
        ("orders/orders_2024-01-01.csv", sha, f1.stat().st_size, 3, 0, "loaded", "run-a", True),
        ("orders/orders_2024-01-02.csv", hashlib.sha256((landing / "orders/orders_2024-01-02.csv").read_bytes())
         .hexdigest(), (landing / "orders/orders_2024-01-02.csv").stat().st_size, 5, 0, "loaded", "run-a", True),
    ]  # fmt: skip


def test_reloading_is_idempotent(landing: Path, load, query) -> None:
    _day_file(landing, "2024-01-01", 4)
    write_csv(
        landing / "orders" / "orders_2024-01-02.csv", [order_line("X1", day="2024-01-02", quantity="x")]
    )
    (landing / "orders" / "orders_2024-01-02_part2.csv").write_bytes(b"")
    load("orders", "2024-01-01", days=2, run_id="first")
    first = _snapshot(query)
    load("orders", "2024-01-01", days=2, run_id="second")
    assert _snapshot(query) == first
    assert (len(first["bronze"]), len(first["rejected"]), len(first["files"])) == (4, 1, 1)
    assert query("SELECT DISTINCT _run_id FROM bronze.orders") == [("second",)]
    assert query("SELECT run_id, count(*) FROM meta.ingestion_log GROUP BY 1 ORDER BY 1") == [
        ("first", 3),
        ("second", 3),
    ]


def test_partitions_are_isolated(landing: Path, load, query) -> None:
    _day_file(landing, "2024-01-01", 3)
    _day_file(landing, "2024-01-02", 4)
    load("orders", "2024-01-01", days=2, run_id="both")
    _day_file(landing, "2024-01-02", 6)  # a corrected file for day 2
    (landing / "orders" / "orders_2024-01-01.csv").unlink()  # day 1's file is gone, but day 1 is not re-run
    load("orders", "2024-01-02", run_id="day2")
    assert query(
        "SELECT _partition_date::VARCHAR, _run_id, count(*) FROM bronze.orders GROUP BY ALL ORDER BY 1"
    ) == [
        ("2024-01-01", "both", 3),
        ("2024-01-02", "day2", 6),
    ]


def test_several_files_for_one_day(landing: Path, load, query) -> None:
    _day_file(landing, "2024-01-05", 3)
    _day_file(landing, "2024-01-05", 2, suffix="_late", start=10)
    write_csv(
        landing / "orders" / "orders_2024-01-05_store-ST004.csv", [order_line("S1", day="2024-01-05")], "|"
    )
    result = load("orders", "2024-01-05")
    assert [(f.path.split("/")[1], f.rows_loaded) for f in result.files] == [
        ("orders_2024-01-05.csv", 3),
        ("orders_2024-01-05_late.csv", 2),
        ("orders_2024-01-05_store-ST004.csv", 1),
    ]
    assert query("SELECT count(*), count(DISTINCT (_source_file, _record_number)) FROM bronze.orders") == [
        (6, 6)
    ]


def test_corrupt_file_beside_good_ones(landing: Path, load, query) -> None:
    _day_file(landing, "2024-01-05", 3)
    (landing / "orders" / "orders_2024-01-05_part2.csv").write_bytes(b"\x00\x01garbage with no header\n")
    result = load("orders", "2024-01-05")
    assert result.rows_loaded == 3
    assert [(f.path, f.status) for f in result.files] == [
        ("orders/orders_2024-01-05.csv", "loaded"),
        ("orders/orders_2024-01-05_part2.csv", "rejected"),
    ]
    ((path, reason),) = query("SELECT source_file, reason FROM quarantine.rejected_files")
    assert path == "orders/orders_2024-01-05_part2.csv" and "delimiter" in reason
    assert query("SELECT status, count(*) FROM meta.ingestion_log GROUP BY 1 ORDER BY 1") == [
        ("loaded", 1),
        ("rejected", 1),
    ]


def test_empty_day_loads_nothing_and_clears_old_rows(landing: Path, load, query) -> None:
    _day_file(landing, "2024-01-07", 2)
    load("orders", "2024-01-07")
    (landing / "orders" / "orders_2024-01-07.csv").unlink()
    result = load("orders", "2024-01-07")
    assert (result.files, result.rows_by_partition) == ([], {})
    assert query("SELECT count(*) FROM bronze.orders") == [(0,)]


def test_a_failed_swap_leaves_the_previous_rows(landing: Path, load, query, warehouse: Path) -> None:
    _day_file(landing, "2024-01-01", 3)
    load("orders", "2024-01-01", run_id="good")
    before = _snapshot(query)
    _day_file(landing, "2024-01-01", 5)
    # A real failure inside the transaction, after the DELETE: the ingestion log no longer accepts rows.
    with connect(warehouse) as con:
        con.execute("ALTER TABLE meta.ingestion_log ADD COLUMN must_be_set VARCHAR NOT NULL DEFAULT 'x'")
        con.execute("ALTER TABLE meta.ingestion_log ALTER COLUMN must_be_set DROP DEFAULT")
    with pytest.raises(duckdb.Error):
        load("orders", "2024-01-01", run_id="broken")
    assert _snapshot(query) == before
    assert query("SELECT DISTINCT _run_id FROM bronze.orders") == [("good",)]
    assert query("SELECT count(*) FROM duckdb_tables() WHERE temporary") == [(0,)]
    # The failed load's staged rows were never published; the next load of the day removes them.
    with connect(warehouse) as con:
        con.execute("ALTER TABLE meta.ingestion_log DROP COLUMN must_be_set")
    load("orders", "2024-01-01", run_id="fixed")
    assert query("SELECT _run_id, count(*) FROM bronze.orders GROUP BY ALL") == [("fixed", 5)]
    assert query("SELECT count(*) FROM bronze._orders") == [(5,)]
    assert query("SELECT count(*), count(DISTINCT file_id) FROM bronze._files") == [(1, 1)]


def test_latin1_csv_is_read_again_as_latin1_with_exact_counts(landing: Path, load, query) -> None:
    """DuckDB reads every CSV as UTF-8 first; a Latin-1 file is read again, and only that reading counts."""
    rows = [
        order_line("L1", customer_id="CUST-José"),
        order_line("L2", quantity="zwei"),
        order_line("L3", store_id="São Paulo"),
    ]
    write_csv(landing / "orders" / "orders_2024-01-05.csv", rows, encoding="latin-1")
    # a UTF-8 file after it in the same load: its rows follow the discarded first reading
    write_csv(
        landing / "orders" / "orders_2024-01-05_store-2.csv",
        [order_line("U1", quantity="?"), order_line("U2")],
    )
    result = load("orders", "2024-01-05")
    assert (result.rows_loaded, result.rows_rejected) == (3, 2)
    assert query(
        "SELECT order_id, customer_id, store_id, _record_number FROM bronze.orders ORDER BY _source_file, 4"
    ) == [
        ("L1", "CUST-José", "ST001", 1),
        ("L3", "CUST000001", "São Paulo", 3),
        ("U2", "CUST000001", "ST001", 2),
    ]
    assert query(
        "SELECT record_number, record_key, rule FROM quarantine.rejected_records ORDER BY source_file"
    ) == [
        (2, "L2", "type_cast"),
        (1, "U1", "type_cast"),
    ]
    assert query("SELECT count(*) FROM bronze._orders") == [(3,)]
    assert query("SELECT rows_loaded, rows_rejected FROM meta.ingestion_log ORDER BY path") == [
        (2, 1),
        (1, 1),
    ]


def test_a_warehouse_from_before_the_file_split_is_migrated(
    warehouse: Path, load, landing: Path, query
) -> None:
    """bronze.<source> used to be a table holding every lineage column; it becomes rows + files + view."""
    spec = SOURCES["orders"]
    columns = ", ".join(f"{n} {t}" for n, t in bronze_columns(spec))
    values = ", ".join("NULL" if c.name not in ("order_id", "quantity") else "?" for c in spec.all_columns)
    rows = [
        ("A1", 1, "2024-01-01", "orders/orders_2024-01-01.csv", "aa", 1, "2024-01-02 00:00:00", "r1"),
        ("A2", 2, "2024-01-01", "orders/orders_2024-01-01.csv", "aa", 2, "2024-01-02 00:00:00", "r1"),
        ("B1", 3, "2024-01-02", "orders/orders_2024-01-02.csv", "bb", 1, "2024-01-03 00:00:00", "r2"),
        ("C1", 4, "2024-01-02", "orders/orders_2024-01-02_late.csv", None, 1, None, None),  # nullable lineage
    ]
    with connect(warehouse) as con:
        con.execute(f"CREATE SCHEMA bronze; CREATE TABLE bronze.orders ({columns})")
        con.executemany(f"INSERT INTO bronze.orders VALUES ({values}, ?, ?, ?, ?, ?, ?)", rows)
        before = con.execute("SELECT * FROM bronze.orders ORDER BY ALL").fetchall()
    _day_file(landing, "2024-01-03", 2)
    load("orders", "2024-01-03")  # any writer migrates first
    assert query("SELECT * FROM bronze.orders WHERE _partition_date < '2024-01-03' ORDER BY ALL") == before
    assert query("SELECT table_type FROM information_schema.tables WHERE table_name = 'orders'") == [
        ("VIEW",)
    ]
    assert query("SELECT source_file, file_sha256, run_id FROM bronze._files ORDER BY 1") == [
        ("orders/orders_2024-01-01.csv", "aa", "r1"),
        ("orders/orders_2024-01-02.csv", "bb", "r2"),
        ("orders/orders_2024-01-02_late.csv", None, None),
        (
            "orders/orders_2024-01-03.csv",
            hashlib.sha256((landing / "orders/orders_2024-01-03.csv").read_bytes()).hexdigest(),
            "test-run",
        ),
    ]


def test_record_numbers_stay_exact_across_renumber_buckets(landing: Path, load, query) -> None:
    """Rejected lines near and across RENUMBER_BUCKET boundaries: every accepted row keeps its line."""
    from shopflow_assets.readers.csv import RENUMBER_BUCKET

    n = 3 * RENUMBER_BUCKET + 10
    bad = {1, RENUMBER_BUCKET - 1, RENUMBER_BUCKET, RENUMBER_BUCKET + 1, 2 * RENUMBER_BUCKET + 2, n}
    rows = [order_line(f"R{i}", day="2024-01-09", quantity="x" if i in bad else "1") for i in range(1, n + 1)]
    write_csv(landing / "orders" / "orders_2024-01-09.csv", rows)
    result = load("orders", "2024-01-09")
    assert (result.rows_loaded, result.rows_rejected) == (n - len(bad), len(bad))
    assert query("SELECT count(*) FROM bronze.orders WHERE order_id <> 'R' || _record_number") == [(0,)]
    assert query(
        "SELECT count(DISTINCT _record_number), min(_record_number), max(_record_number) FROM bronze.orders"
    ) == [(n - len(bad), 2, n - 1)]
    assert {r for (r,) in query("SELECT record_number FROM quarantine.rejected_records")} == bad


def test_a_file_that_fails_inside_the_transaction_is_rejected_and_the_rest_loads(
    landing: Path, load, query, warehouse: Path
) -> None:
    """The warehouse refuses one file's rows (a CHECK constraint): that file is rejected with
    DuckDB's reason, and the other file loads."""
    columns = ", ".join(f"{n} {t}" for n, t in bronze_row_columns(SOURCES["orders"]))
    with connect(warehouse) as con:
        con.execute(f"CREATE SCHEMA bronze; CREATE TABLE bronze._orders ({columns}, CHECK (quantity < 100))")
    _day_file(landing, "2024-01-03", 2)
    write_csv(
        landing / "orders" / "orders_2024-01-03_big.csv",
        [order_line("BIG", day="2024-01-03", quantity="500")],
    )
    result = load("orders", "2024-01-03")
    assert [(f.path, f.status, f.rows_loaded) for f in result.files] == [
        ("orders/orders_2024-01-03.csv", "loaded", 2),
        ("orders/orders_2024-01-03_big.csv", "rejected", 0),
    ]
    ((reason,),) = query("SELECT reason FROM quarantine.rejected_files")
    assert reason.startswith("unreadable csv file:") and "CHECK constraint" in reason
    assert query("SELECT order_id FROM bronze.orders ORDER BY 1") == [("2024-01-03-1",), ("2024-01-03-2",)]


def test_short_line_reason_states_the_count_once(landing: Path, load, query) -> None:
    write_csv(landing / "orders" / "orders_2024-01-04.csv", [order_line("S1", day="2024-01-04")[:3]])
    load("orders", "2024-01-04")
    assert query("SELECT rule, reason FROM quarantine.rejected_records") == [
        ("wrong_column_count", "Expected Number of Columns: 12 Found: 3")
    ]


@pytest.mark.parametrize("case", ["empty_file_first", "latin1_on_every_line"])
def test_a_file_bigger_than_a_row_group_is_numbered_and_counted(
    landing: Path, load, query, case: str
) -> None:
    """More rows than one DuckDB row group (122,880), after a reading that appends nothing: the
    header-only file before it, or the UTF-8 reading of a Latin-1 file that rejects every line.
    In one transaction, DuckDB 2.0.0 would hide these rows from filtered scans after the commit."""
    n = 130_000
    day = "2024-01-06"
    if case == "empty_file_first":
        write_csv(landing / "orders" / f"orders_{day}.csv", [])
        rows, encoding, store = [order_line(f"R{i}", day=day) for i in range(1, n + 1)], "utf-8", "ST001"
    else:
        store = "Saõ"
        rows, encoding = [order_line(f"R{i}", day=day, store_id=store) for i in range(1, n + 1)], "latin-1"
    write_csv(landing / "orders" / f"orders_{day}_store-2.csv", rows, encoding=encoding)
    result = load("orders", day)
    assert (result.rows_loaded, result.rows_rejected) == (n, 0)
    assert {d.isoformat(): c for d, c in result.rows_by_partition.items()} == {day: n}
    assert query(
        "SELECT count(*), count(DISTINCT _record_number), min(_record_number), max(_record_number) "
        "FROM bronze.orders WHERE order_id = 'R' || _record_number AND store_id = ?",
        [store],
    ) == [(n, n, 1, n)]


def test_a_bad_record_opening_a_csv_read_buffer_loses_nothing(landing: Path, load, query) -> None:
    """DuckDB 2.0.0's parallel CSV reader drops every record after a rejected one that opens its
    second read buffer; the loader sees the lines unaccounted for and reads the file in one thread."""
    day, n = "2024-01-06", 130_000
    rows = [order_line(f"R{i}", day=day) for i in range(1, n + 1)]
    offset, bad = len(",".join(ORDER_HEADER)) + 1, 0
    for i, row in enumerate(rows):  # the first record that starts at byte 8,000,000 or later
        if offset >= 8_000_000:
            bad = i
            break
        offset += len(",".join(row)) + 1
    rows[bad] = order_line(f"R{bad + 1}", day=day, quantity="x")
    write_csv(landing / "orders" / f"orders_{day}.csv", rows)
    result = load("orders", day)
    assert (result.rows_loaded, result.rows_rejected) == (n - 1, 1)
    assert query("SELECT count(*), min(_record_number), max(_record_number) FROM bronze.orders") == [
        (n - 1, 1, n)
    ]
    assert query("SELECT count(*) FROM bronze.orders WHERE order_id <> 'R' || _record_number") == [(0,)]
    assert query("SELECT record_number, record_key, rule FROM quarantine.rejected_records") == [
        (bad + 1, f"R{bad + 1}", "type_cast")
    ]


def test_many_rejects_after_a_clean_file_are_counted_and_replaced(
    landing: Path, warehouse: Path, query
) -> None:
    """Parquet: a clean file, then one whose 130,000 records all fail typing, loaded twice on one
    connection: every reject is counted once and the reload replaces them (one quarantine INSERT per
    load; one per file would hide the big one from DuckDB 2.0.0's scans, and the reload's DELETE)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shopflow_assets.defs.bronze.load import load_bronze

    day, n = "2024-01-06", 130_000
    folder = landing / "customers"
    folder.mkdir(parents=True)

    def customers(ids: list[str], registered: str) -> pa.Table:
        k = len(ids)
        return pa.table({
            "customer_id": ids, "first_name": ["A"] * k, "last_name": ["B"] * k, "email": ["a@x.com"] * k,
            "phone": ["0301234"] * k, "country": ["DE"] * k, "city": ["Köln"] * k,
            "registration_date": [registered] * k, "customer_tier": ["gold"] * k,
            "preferred_categories": [["food"]] * k, "updated_at": ["2024-01-06 09:00:00"] * k,
        })  # fmt: skip

    pq.write_table(customers(["C1", "C2", "C3"], "2023-05-01"), folder / f"customers_{day}.parquet")
    pq.write_table(
        customers([f"X{i}" for i in range(n)], "2024-02-30"), folder / f"customers_{day}_part2.parquet"
    )
    first = date(2024, 1, 6)
    with connect(warehouse) as con:
        for run in ("first", "second"):
            result = load_bronze(con, SOURCES["customers"], landing, first, first + timedelta(days=1), run)
            assert [(f.rows_loaded, f.rows_rejected) for f in result.files] == [(3, 0), (0, n)]
    assert query("SELECT run_id, count(*) FROM quarantine.rejected_records GROUP BY ALL") == [("second", n)]


def _lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_an_unterminated_quote_quarantines_each_line_it_swallows(landing: Path, load, query) -> None:
    """Issue 8: `sed -i '11s/,/,"/'` made DuckDB swallow the rest of the file into one field and
    the load reported 9 rows and nothing lost. Every swallowed line is now quarantined, raw."""
    day, n = "2024-01-08", 60
    path = _day_file(landing, day, n)
    lines = _lines_of(path)
    lines[10] = lines[10].replace(",", ',"', 1)  # line 11: record 10
    path.write_text("\n".join(lines) + "\n")
    result = load("orders", day)
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in result.files] == [("loaded", 9, n - 9)]
    assert query("SELECT count(*), max(_record_number) FROM bronze.orders") == [(9, 9)]
    rejected = query(
        "SELECT record_number, record_key, rule, reason, raw_record FROM quarantine.rejected_records ORDER BY 1"
    )
    assert [r[0] for r in rejected] == list(range(10, n + 1))
    assert [r[4] for r in rejected] == lines[10:]  # each line's own raw text, not one merged field
    assert {r[2] for r in rejected} == {"malformed_csv"}
    assert rejected[0][1:4] == (
        f"{day}-10",
        "malformed_csv",
        f"line 11: unterminated quote: it would swallow lines 11-{n + 1} into one field",
    )
    assert rejected[1][1:4] == (
        f"{day}-11",
        "malformed_csv",
        "line 12: swallowed by the unterminated quote on line 11",
    )
    assert query("SELECT rows_loaded, rows_rejected, status FROM meta.ingestion_log") == [
        (9, n - 9, "loaded")
    ]
    assert query("SELECT count(*) FROM quarantine.rejected_files") == [(0,)]


def test_a_quote_closed_lines_later_quarantines_each_line(landing: Path, load, query) -> None:
    """Two stray quotes: the field they enclose runs over lines and then breaks the quoting."""
    day = "2024-01-08"
    path = _day_file(landing, day, 8)
    lines = _lines_of(path)
    lines[2] = lines[2].replace(",", ',"', 1)  # record 2 opens a quote ...
    lines[4] = lines[4].replace(",", ',"', 1)  # ... that record 4 closes, followed by junk
    path.write_text("\n".join(lines) + "\n")
    result = load("orders", day)
    assert (result.rows_loaded, result.rows_rejected) == (5, 3)
    assert query("SELECT record_number, raw_record, reason FROM quarantine.rejected_records ORDER BY 1") == [
        (
            2,
            lines[2],
            "line 3: malformed quoting (',' expected after '\"' on line 5); the quoted field runs to line 5",
        ),
        (3, lines[3], "line 4: inside the malformed quoted field opened on line 3"),
        (4, lines[4], "line 5: inside the malformed quoted field opened on line 3"),
    ]
    assert query("SELECT order_id, _record_number FROM bronze.orders ORDER BY 2") == [
        (f"{day}-{i}", i) for i in (1, 5, 6, 7, 8)
    ]


def test_mixed_line_endings_load_every_record(landing: Path, load, query) -> None:
    """CRLF and LF in one file stop DuckDB's reader; the careful reading loads every record."""
    day = "2024-01-08"
    rows = [",".join(order_line(f"X{i}", day=day, quantity="x" if i == 3 else "1")) for i in range(1, 6)]
    body = ",".join(ORDER_HEADER) + "\r\n" + rows[0] + "\r\n" + rows[1] + "\n" + "\r\n".join(rows[2:]) + "\n"
    (landing / "orders").mkdir()
    (landing / "orders" / f"orders_{day}.csv").write_bytes(body.encode())
    result = load("orders", day)
    assert [(f.status, f.rows_loaded, f.rows_rejected) for f in result.files] == [("loaded", 4, 1)]
    assert query(
        "SELECT order_id, order_timestamp::VARCHAR, _record_number FROM bronze.orders ORDER BY 3"
    ) == [(f"X{i}", f"{day} 10:00:00", i) for i in (1, 2, 4, 5)]
    assert query("SELECT record_number, record_key, rule, reason FROM quarantine.rejected_records") == [
        (3, "X3", "type_cast", "quantity: 'x' is not a valid INTEGER")
    ]


def test_a_warehouse_from_before_undated_rejects_gets_nullable_partitions(
    landing: Path, warehouse: Path, load, query
) -> None:
    """rejected_files and ingestion_log had partition_date NOT NULL; a refused name that claims no
    day has none, so the first writer relaxes both columns, keeping their rows."""
    with connect(warehouse) as con:
        con.execute(
            """CREATE SCHEMA quarantine; CREATE SCHEMA meta;
            CREATE TABLE quarantine.rejected_files (
                source VARCHAR NOT NULL, layer VARCHAR NOT NULL, partition_date DATE NOT NULL,
                source_file VARCHAR NOT NULL, file_sha256 VARCHAR, bytes BIGINT, reason VARCHAR NOT NULL,
                run_id VARCHAR NOT NULL, rejected_at TIMESTAMP NOT NULL);
            CREATE TABLE meta.ingestion_log (
                run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, partition_date DATE NOT NULL,
                path VARCHAR NOT NULL, sha256 VARCHAR, bytes BIGINT, rows_loaded BIGINT, rows_rejected BIGINT,
                status VARCHAR NOT NULL, reason VARCHAR, started_at TIMESTAMP NOT NULL,
                finished_at TIMESTAMP NOT NULL)"""
        )
        con.execute(
            "INSERT INTO quarantine.rejected_files VALUES "
            "('orders', 'bronze', '2023-12-01', 'orders/old.csv', '', 0, 'old', 'r0', now())"
        )
    (landing / "orders").mkdir()
    (landing / "orders" / "orders_latest.csv").write_text("x")
    load("orders", "2024-01-05")
    assert query("SELECT partition_date::VARCHAR, source_file FROM quarantine.rejected_files ORDER BY 2") == [
        ("2023-12-01", "orders/old.csv"),
        (None, "orders/orders_latest.csv"),
    ]
    assert query("SELECT partition_date, path, status FROM meta.ingestion_log") == [
        (None, "orders/orders_latest.csv", "rejected")
    ]
