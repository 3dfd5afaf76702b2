"""Each format, delimiter and encoding, read through the real loader into a temp warehouse."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopflow_assets_tests.conftest import ORDER_HEADER, order_line, write_csv, write_json

DAY = "2024-01-15"


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_csv_every_delimiter_and_encoding(landing: Path, load, query, delimiter: str, encoding: str) -> None:
    rows = [
        order_line("O1", customer_id="CUST-José"),
        order_line("O2", customer_id="CUST-Müller", quantity="3"),
        order_line("O3", store_id="São Paulo"),
    ]
    write_csv(landing / "orders" / f"orders_{DAY}.csv", rows, delimiter=delimiter, encoding=encoding)
    result = load("orders", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (3, 0)
    assert query("SELECT order_id, customer_id, store_id, quantity FROM bronze.orders ORDER BY order_id") == [
        ("O1", "CUST-José", "ST001", 2),
        ("O2", "CUST-Müller", "ST001", 3),
        ("O3", "CUST000001", "São Paulo", 2),
    ]


def test_csv_columns_in_another_order_are_matched_by_name(landing: Path, load, query) -> None:
    header = list(reversed(ORDER_HEADER))
    write_csv(landing / "orders" / f"orders_{DAY}.csv", [list(reversed(order_line("O1")))], header=header)
    load("orders", DAY)
    assert query("SELECT order_id, quantity, order_timestamp::VARCHAR FROM bronze.orders") == [
        ("O1", 2, f"{DAY} 10:00:00")
    ]


def test_csv_record_numbers_count_records_not_lines(landing: Path, load, query) -> None:
    """A quoted field may hold a line break: numbering follows records, as DuckDB's rejects do."""
    rows = [
        order_line("M1", store_id='"Store\nwith two lines"'),
        order_line("M2", quantity="many"),
        order_line("M3"),
    ]
    write_csv(landing / "orders" / f"orders_{DAY}.csv", rows)
    result = load("orders", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert query("SELECT order_id, store_id, _record_number FROM bronze.orders ORDER BY 3") == [
        ("M1", "Store\nwith two lines", 1),
        ("M3", "ST001", 3),
    ]
    assert query("SELECT record_number, record_key FROM quarantine.rejected_records") == [(2, "M2")]


def test_csv_bad_lines_are_quarantined_with_reasons(landing: Path, load, query) -> None:
    rows = [
        order_line("O1"),
        order_line("O2", quantity="abc"),
        order_line("O3")[:-1],  # one field short
        order_line("O4", order_timestamp="2024-01-32 10:00:00"),
        [*order_line("O5"), "extra"],
        order_line("O6", unit_price="12.5x"),
        order_line("O7"),
    ]
    write_csv(landing / "orders" / f"orders_{DAY}.csv", rows, delimiter=";")
    result = load("orders", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (2, 5)
    assert query("SELECT order_id, _record_number FROM bronze.orders ORDER BY 2") == [("O1", 1), ("O7", 7)]
    rejected = query(
        "SELECT record_number, record_key, rule, reason, raw_record FROM quarantine.rejected_records ORDER BY 1"
    )
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        (2, "O2", "type_cast"),
        (3, "O3", "wrong_column_count"),
        (4, "O4", "type_cast"),
        (5, "O5", "wrong_column_count"),
        (6, "O6", "type_cast"),
    ]
    assert 'column "quantity"' in rejected[0][3] and '"abc"' in rejected[0][3]
    assert "Expected Number of Columns: 12 Found: 11" in rejected[1][3]
    assert "2024-01-32 10:00:00" in rejected[2][3]
    assert rejected[4][4] == ";".join(order_line("O6", unit_price="12.5x"))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (b"order_id,customer_id\nO1,C1\n", "missing columns: product_id"),
        (
            ("\n".join([",".join([*ORDER_HEADER, "surprise"])]) + "\n").encode(),
            "unexpected columns: surprise",
        ),
    ],
)
def test_csv_unreadable_file_is_rejected_whole(
    landing: Path, load, query, content: bytes, reason: str
) -> None:
    (landing / "orders").mkdir()
    (landing / "orders" / f"orders_{DAY}.csv").write_bytes(content)
    result = load("orders", DAY)
    assert result.rows_loaded == 0 and len(result.files_rejected) == 1
    ((source_file, stored_reason),) = query("SELECT source_file, reason FROM quarantine.rejected_files")
    assert source_file == f"orders/orders_{DAY}.csv" and reason in stored_reason


def test_json_records_are_typed_and_bad_ones_quarantined(landing: Path, load, query) -> None:
    write_json(
        landing / "products" / f"products_{DAY}.json",
        {
            "snapshot_date": DAY,
            "products": [
                {"product_id": "P1", "name": "Kaffee", "category": "food", "cost_price": 2.5, "retail_price": "4.99",
                 "active": True, "last_updated": "2024-01-15T10:30:00+02:00"},
                {"product_id": "P2", "name": "Tee", "cost_price": "n/a", "retail_price": 3},
                "not a record",
                {"product_id": "P4", "name": "Saft", "active": False},
            ],
        },
    )  # fmt: skip
    result = load("products", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    assert query(
        "SELECT product_id, snapshot_date::VARCHAR, cost_price::VARCHAR, retail_price::VARCHAR, active, "
        "last_updated::VARCHAR, _record_number FROM bronze.products ORDER BY product_id"
    ) == [
        ("P1", DAY, "2.50", "4.99", True, "2024-01-15 08:30:00", 1),
        ("P4", DAY, None, None, False, None, 4),
    ]
    assert query(
        "SELECT record_number, record_key, rule, reason FROM quarantine.rejected_records ORDER BY 1"
    ) == [
        (2, "P2", "type_cast", "cost_price: 'n/a' is not a valid DECIMAL(12,2)"),
        (3, None, "not_an_object", "record is not a JSON object"),
    ]


def test_nested_accounts_are_flattened(landing: Path, load, query) -> None:
    write_json(
        landing / "accounts" / f"accounts_{DAY}.json",
        {"accounts": [{
            "id": "EC1001", "name": {"first": "Zoë", "last": "Brown"},
            "contact": {"email": "Zoe.Brown@Mail.com", "phone": "+44 20 7946 0958"},
            "address": {"country": "GB", "city": "London"}, "registered": "2023-01-15T10:30:00Z",
            "orders_count": 5, "marketing_opt_in": True,
        }]},
    )  # fmt: skip
    load("accounts", DAY)
    assert query(
        "SELECT id, name_first, name_last, contact_email, contact_phone, address_country, address_city, "
        "registered::VARCHAR, orders_count, marketing_opt_in FROM bronze.accounts"
    ) == [
        ("EC1001", "Zoë", "Brown", "Zoe.Brown@Mail.com", "+44 20 7946 0958", "GB", "London",
         "2023-01-15 10:30:00", 5, True)
    ]  # fmt: skip


def test_campaigns_top_level_array_with_lists(landing: Path, load, query) -> None:
    write_json(
        landing / "campaigns" / f"campaigns_{DAY}.json",
        [
            {"campaign_id": "CMP1", "name": "Winter", "channel": "email", "start_date": "2024-01-01",
             "end_date": "2024-01-31", "target_categories": ["food", "home"], "budget": 1000,
             "performance": {"impressions": 100, "clicks": 10, "conversions": 1, "spend": 50.5, "revenue": 99}},
            {"campaign_id": "CMP2", "budget": "lots", "performance": {"impressions": 5}},
        ],
    )  # fmt: skip
    result = load("campaigns", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert query(
        "SELECT campaign_id, target_categories, performance_clicks, performance_spend::VARCHAR FROM bronze.campaigns"
    ) == [("CMP1", ["food", "home"], 10, "50.50")]
    assert query("SELECT record_key, reason FROM quarantine.rejected_records") == [
        ("CMP2", "budget: 'lots' is not a valid DECIMAL(14,2)")
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"snapshot_date": "2024-01-15", "products": [{"product_id": "P1"', "not valid JSON"),
        (
            '{"snapshot_date": "2024-01-15", "items": []}',
            "expected an array of products records at $.products",
        ),
    ],
)
def test_json_unreadable_file_is_rejected_whole(
    landing: Path, load, query, content: str, reason: str
) -> None:
    (landing / "products").mkdir()
    (landing / "products" / f"products_{DAY}.json").write_text(content)
    load("products", DAY)
    ((stored,),) = query("SELECT reason FROM quarantine.rejected_files")
    assert reason in stored


def _customers(**overrides: list) -> pa.Table:
    data = {
        "customer_id": ["CUST1", "CUST2", "CUST3"],
        "first_name": ["Anna", "Björn", "Chloé"],
        "last_name": ["Arm", "Berg", "Cruz"],
        "email": ["anna@x.com", "bjorn@x.com", None],
        "phone": ["0301234", "0405678", "0509999"],
        "country": ["DE", "SE", "FR"],
        "city": ["Köln", "Malmö", "Paris"],
        "registration_date": ["2023-05-01", "2024-02-30", "2023-07-07"],
        "customer_tier": ["gold", "silver", "bronze"],
        "preferred_categories": [["food"], [], ["home", "garden"]],
        "updated_at": ["2024-01-15 09:00:00", "2024-01-15 09:00:00", "2024-01-15T09:00:00Z"],
    }
    data.update(overrides)
    return pa.table(data)


def test_parquet_rows_are_typed_and_bad_dates_quarantined(landing: Path, load, query) -> None:
    (landing / "customers").mkdir()
    pq.write_table(_customers(), landing / "customers" / f"customers_{DAY}.parquet")
    result = load("customers", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert query(
        "SELECT customer_id, city, registration_date::VARCHAR, preferred_categories, _record_number "
        "FROM bronze.customers ORDER BY 1"
    ) == [
        ("CUST1", "Köln", "2023-05-01", ["food"], 1),
        ("CUST3", "Paris", "2023-07-07", ["home", "garden"], 3),
    ]
    ((number, key, reason, raw),) = query(
        "SELECT record_number, record_key, reason, raw_record FROM quarantine.rejected_records"
    )
    assert (number, key, reason) == (2, "CUST2", "registration_date: '2024-02-30' is not a valid DATE")
    assert '"registration_date":"2024-02-30"' in raw


def test_parquet_corrupt_or_incomplete_file_is_rejected(landing: Path, load, query) -> None:
    folder = landing / "customers"
    folder.mkdir()
    (folder / f"customers_{DAY}.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    pq.write_table(_customers().drop(["email"]), folder / f"customers_{DAY}_part2.parquet")
    result = load("customers", DAY)
    assert len(result.files_rejected) == 2
    reasons = dict(query("SELECT source_file, reason FROM quarantine.rejected_files"))
    assert "cannot read Parquet file" in reasons[f"customers/customers_{DAY}.parquet"]
    assert reasons[f"customers/customers_{DAY}_part2.parquet"] == "Parquet file lacks contract columns: email"


def test_json_with_a_utf8_bom_is_read_like_csv(landing: Path, load, query) -> None:
    (landing / "campaigns").mkdir()
    document = '[{"campaign_id": "CMP1", "name": "Winter", "budget": 10}]'
    (landing / "campaigns" / f"campaigns_{DAY}.json").write_bytes(b"\xef\xbb\xbf" + document.encode())
    result = load("campaigns", DAY)
    assert (result.rows_loaded, result.rows_rejected, result.files_rejected) == (1, 0, [])
    assert query("SELECT campaign_id, budget::VARCHAR FROM bronze.campaigns") == [("CMP1", "10.00")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            ",".join(ORDER_HEADER).encode("utf-16"),
            "file is UTF-16 (the contract allows UTF-8, UTF-8 with BOM or Latin-1)",
        ),
        (
            b"\x01\x02order_id,\x00\x1b[2J,x\n",
            "header does not match the orders contract (missing columns: order_id, customer_id, product_id, store_id, "
            "sales_channel, payment_method, quantity, unit_price, discount_percent, total, status, "
            "order_timestamp; unexpected columns: \\x01\\x02order_id, \\x00\\x1b[2j, x)",
        ),
    ],
)
def test_reasons_for_binary_or_utf16_files_are_printable(
    landing: Path, load, query, content: bytes, reason: str
) -> None:
    (landing / "orders").mkdir()
    (landing / "orders" / f"orders_{DAY}.csv").write_bytes(content)
    load("orders", DAY)
    assert query("SELECT reason FROM quarantine.rejected_files") == [(reason,)]
    assert query("SELECT reason FROM meta.ingestion_log") == [(reason,)]


def test_record_reasons_quoting_control_characters_are_printable(landing: Path, load, query) -> None:
    write_csv(
        landing / "orders" / f"orders_{DAY}.csv", [order_line("O1", quantity="2\x00\x1b"), order_line("O2")]
    )
    result = load("orders", DAY)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    ((reason, raw),) = query("SELECT reason, raw_record FROM quarantine.rejected_records")
    assert reason.isprintable() and "2\\x00\\x1b" in reason
    assert raw == ",".join(order_line("O1", quantity="2\x00\x1b"))  # the raw record stays as delivered
