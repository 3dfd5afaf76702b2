"""Issue 9 (5): validation and the silver build work in bounded memory whatever the day's size.

The figures (peak RSS of `silver/orders` for 1,000,000 and 5,000,000 orders) come from the bench; these
tests pin the mechanisms: candidates stream through the contract in batches, and the build's
staging database is its own scratch file, gone when the build ends (also when it fails)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest

from shopflow_assets.lib.warehouse import connect
from shopflow_assets_tests.conftest import materialize, write_csv
from shopflow_assets_tests.test_silver_rules import DAY, ORDERS, write_masters

# Ten orders on one day, as the orders contract reads them; records 3 and 7 have no valid quantity.
CANDIDATES = """
SELECT range AS _row_id, 'O' || range AS order_id, 'CUST1' AS customer_id, 'K1' AS customer_key,
       'P1' AS product_id, 'store' AS sales_channel, 'cash' AS payment_method,
       (CASE WHEN range IN (3, 7) THEN 0 ELSE 2 END)::INTEGER AS quantity, 10.0::DECIMAL(12, 2) AS unit_price,
       0::DECIMAL(5, 2) AS discount_percent, (CASE WHEN range IN (3, 7) THEN 0 ELSE 20 END)::DECIMAL(12, 2) AS total,
       'completed' AS status, TIMESTAMP '2024-02-01 10:00:00' AS order_timestamp, DATE '2024-02-01' AS _partition_date,
       true AS _chk_product_known, NULL::DATE AS _chk_first_delivered_on
FROM range(10)"""  # fmt: skip


def test_candidates_stream_through_the_contract_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopflow_assets.quality import validate

    frames: list[int] = []
    find_failures = validate.find_failures

    def measured(frame, table):  # the real contract, on each frame it is given
        frames.append(frame.height)
        return find_failures(frame, table)

    monkeypatch.setattr(validate, "BATCH_ROWS", 4)
    monkeypatch.setattr(validate, "find_failures", measured)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE cand AS {CANDIDATES}")
    con.execute("CREATE TABLE fail (_row_id BIGINT, rule_id VARCHAR)")
    validate.validate_candidates(con, "cand", "fail", "orders", ("_partition_date", "_chk_product_known"))
    assert frames == [4, 4, 2]
    assert con.execute("SELECT * FROM fail ORDER BY ALL").fetchall() == [
        (3, "quantity_range"),
        (7, "quantity_range"),
    ]


def test_the_builds_scratch_database_is_removed(
    landing: Path, warehouse: Path, tmp_path: Path, monkeypatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    write_masters(landing)
    write_csv(landing / "orders" / f"orders_{DAY}.csv", ORDERS, delimiter=";")
    assert materialize("*", landing, warehouse, DAY).success
    with connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM silver.orders").fetchone() == (10,)
        assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchone() == (1,)
    assert list(scratch.iterdir()) == []
