"""Silver rules on crafted rows: exact keys rejected, flagged or deduplicated, through real runs."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from shopflow_assets.lib.warehouse import connect
from shopflow_assets.quality.config import DEFAULT_RULES_FILE
from shopflow_assets_tests.conftest import materialize, order_line, write_csv, write_json

DAY = "2024-02-01"
OTHER_DAY = "2024-02-02 09:00:00"


def customers_table(rows: list[dict]) -> pa.Table:
    columns = ["customer_id", "first_name", "last_name", "email", "phone", "country", "city",
               "registration_date", "customer_tier", "preferred_categories", "updated_at"]  # fmt: skip
    data = {c: [r.get(c) for r in rows] for c in columns}
    data["preferred_categories"] = [r.get("preferred_categories", []) for r in rows]
    return pa.table(data, schema=pa.schema([(c, pa.list_(pa.string()) if c == "preferred_categories" else pa.string())
                                            for c in columns]))  # fmt: skip


def account(id_: str, first: str, last: str, email: str | None, phone: str | None, registered: str) -> dict:
    return {"id": id_, "name": {"first": first, "last": last}, "contact": {"email": email, "phone": phone},
            "address": {"country": "DE", "city": "Berlin"}, "registered": registered, "orders_count": 1,
            "marketing_opt_in": True}  # fmt: skip


def write_masters(landing: Path, day: str = DAY) -> None:
    write_json(landing / "products" / f"products_{day}.json", {"snapshot_date": day, "products": [
        {"product_id": "P1", "name": "Tee", "category": "Food", "cost_price": 5, "retail_price": 10},
        {"product_id": "P2", "name": "Mug", "category": "Home", "cost_price": 12, "retail_price": 10},
        {"product_id": None, "name": "Ghost", "category": "Home", "cost_price": 1, "retail_price": 2},
        # enough good products that the one null id (1 of 11) stays below the critical threshold
        *({"product_id": f"P{i}", "name": "Pen", "category": "Office", "cost_price": 1, "retail_price": 2}
          for i in range(3, 11)),
    ]})  # fmt: skip
    (landing / "customers").mkdir(parents=True, exist_ok=True)
    pq.write_table(
        customers_table([
            {"customer_id": "CUST1", "first_name": "anna", "last_name": "BERG", "email": " Anna@X.com ",
             "phone": "030-111-1111", "country": "de", "registration_date": "2023-01-01", "customer_tier": "gold"},
            {"customer_id": "CUST2", "first_name": "Ben", "last_name": "Cole", "email": "ben@@x", "phone": None,
             "country": "DE", "registration_date": "2023-02-01", "customer_tier": "diamond"},
        ]),
        landing / "customers" / f"customers_{day}.parquet",
    )  # fmt: skip
    write_json(
        landing / "accounts" / f"accounts_{day}.json",
        {
            "accounts": [
                account("EC1", "Anna", "Berg", "anna@x.com", "(030) 111 1111", "2023-03-01T10:00:00Z")
            ]
        },
    )


def line(order_id: str, **overrides: str) -> list[str]:
    return order_line(order_id, day=DAY, customer_id=overrides.pop("customer_id", "CUST1"),
                      product_id=overrides.pop("product_id", "P1"), **overrides)  # fmt: skip


ORDERS = [
    line("O1"),  # 1: superseded by record 17
    line(""),  # 2: null order_id
    line("O3", customer_id=""),  # 3
    line("O4", product_id=""),  # 4
    line("O5", quantity="0", total="0.00"),  # 5
    line("O6", quantity="1001", total="10010.00"),  # 6
    line("O7", unit_price="-1.00", total="-2.00"),  # 7
    line("O8", discount_percent="150", total="-10.00"),  # 8
    line("O9", status=" Shipped "),  # 9
    line("O10", sales_channel="fax"),  # 10
    line("O11", payment_method="crypto"),  # 11
    line("O12", total="99.00"),  # 12
    line("O13", order_timestamp=OTHER_DAY),  # 13
    line("O14", customer_id="CUST999"),  # 14
    line("O15", product_id="P999"),  # 15
    line("O16", customer_id="EC1", sales_channel="WEB", payment_method="Card"),  # 16
    line("O1", quantity="3", total="30.00"),  # 17: the latest O1 wins
]


@pytest.fixture
def crafted(landing: Path, warehouse: Path) -> tuple[Path, Path]:
    write_masters(landing)
    write_csv(landing / "orders" / f"orders_{DAY}.csv", ORDERS, delimiter=";")
    return landing, warehouse


def _q(warehouse: Path, sql: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_orders_rules_reject_flag_and_deduplicate_exactly(crafted) -> None:
    landing, warehouse = crafted
    result = materialize("*", landing, warehouse, DAY)
    assert result.success
    assert _q(warehouse, "SELECT record_number, record_key, rule FROM quarantine.rejected_records "
                         "WHERE layer = 'silver' AND source = 'orders' ORDER BY 1") == [
        (2, None, "order_id_not_null"),
        (3, "O3", "customer_id_not_null"),
        (4, "O4", "product_id_not_null"),
        (5, "O5", "quantity_range"),
        (6, "O6", "quantity_range"),
        (7, "O7", "unit_price_valid"),
    ]  # fmt: skip
    assert _q(warehouse, "SELECT order_id, _flags FROM silver.orders ORDER BY _record_number") == [
        ("O8", ["discount_range"]),
        ("O9", ["status_allowed"]),
        ("O10", ["sales_channel_allowed"]),
        ("O11", ["payment_method_allowed"]),
        ("O12", ["total_matches"]),
        ("O13", ["timestamp_in_partition"]),
        ("O14", ["unknown_customer"]),
        ("O15", ["unknown_product"]),
        ("O16", []),
        ("O1", []),
    ]
    assert _q(
        warehouse, "SELECT record_key, record_number, kept_record_number FROM meta.removed_duplicates"
    ) == [("O1", 1, 17)]
    # standardised values, recomputed net amount, customer resolved across CRM and web shop
    assert _q(warehouse, "SELECT order_id, status, sales_channel, payment_method, quantity, total::VARCHAR, "
                         "net_amount::VARCHAR FROM silver.orders WHERE order_id IN ('O1', 'O9', 'O12', 'O16') "
                         "ORDER BY 1") == [
        ("O1", "completed", "store", "cash", 3, "30.00", "30.00"),
        ("O12", "completed", "store", "cash", 2, "99.00", "20.00"),
        ("O16", "completed", "web", "card", 2, "20.00", "20.00"),
        ("O9", "shipped", "store", "cash", 2, "20.00", "20.00"),
    ]  # fmt: skip
    keys = dict(
        _q(
            warehouse,
            "SELECT order_id, customer_key FROM silver.orders WHERE order_id IN ('O1', 'O16', 'O14')",
        )
    )
    assert keys["O1"] == keys["O16"] is not None and keys["O14"] is None


def test_quality_results_and_scores_count_every_failure(crafted) -> None:
    landing, warehouse = crafted
    materialize("*", landing, warehouse, DAY)
    failed = dict(_q(warehouse, "SELECT rule_id, failed FROM meta.quality_results "
                                "WHERE table_name = 'orders' AND failed > 0"))  # fmt: skip
    assert failed == {
        "order_id_not_null": 1,
        "customer_id_not_null": 1,
        "product_id_not_null": 1,
        "quantity_range": 2,
        "unit_price_valid": 1,
        "discount_range": 1,
        "status_allowed": 1,
        "sales_channel_allowed": 1,
        "payment_method_allowed": 1,
        "total_matches": 1,
        "timestamp_in_partition": 1,
        "unknown_customer": 1,
        "unknown_product": 1,
    }  # fmt: skip  (O3's null customer is a missing id, not an unknown one)
    assert _q(warehouse, "SELECT rows_checked, rows_passing, rows_rejected, rows_flagged, duplicates_removed, "
                         "round(quality_score, 4) FROM meta.quality_scores WHERE table_name = 'orders'") == [
        (16, 2, 6, 8, 1, round(2 / 16, 4))
    ]  # fmt: skip
    # products: the null id is rejected, retail below cost is flagged
    assert _q(warehouse, "SELECT product_id, _flags FROM silver.products WHERE product_id IN ('P1', 'P2') "
                         "ORDER BY 1") == [("P1", []), ("P2", ["retail_not_below_cost"])]  # fmt: skip
    # customers: invalid email and unknown tier flagged; values standardised
    assert _q(warehouse, "SELECT source_id, email, phone, country, first_name, last_name, _flags "
                         "FROM silver.customers ORDER BY 1") == [
        ("CUST1", "anna@x.com", "0301111111", "DE", "Anna", "Berg", []),
        ("CUST2", "ben@@x", None, "DE", "Ben", "Cole", ["email_valid", "tier_allowed"]),
    ]  # fmt: skip


def _rules_with(tmp_path: Path, table: str, rule: str, action: str, **setting: object) -> Path:
    config = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    config["tables"][table][rule] |= {"action": action, **setting}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_yaml_turns_a_reject_rule_into_a_flag_without_code_changes(crafted, tmp_path: Path) -> None:
    landing, warehouse = crafted
    rules = _rules_with(tmp_path, "orders", "quantity_range", "flag")
    materialize("*", landing, warehouse, DAY, rules=rules)
    assert _q(
        warehouse, "SELECT order_id, _flags FROM silver.orders WHERE order_id IN ('O5', 'O6') ORDER BY 1"
    ) == [
        ("O5", ["quantity_range"]),
        ("O6", ["quantity_range"]),
    ]
    assert _q(
        warehouse, "SELECT count(*) FROM quarantine.rejected_records WHERE rule = 'quantity_range'"
    ) == [(0,)]


def test_a_critical_rule_above_its_own_yaml_threshold_blocks_downstream_assets(
    crafted, tmp_path: Path
) -> None:
    """1 of 11 products lacks an id: within the critical threshold, unless the rule sets its own."""
    landing, warehouse = crafted
    rules = _rules_with(tmp_path, "products", "product_id_not_null", "flag", threshold=0.0)
    result = materialize("*", landing, warehouse, DAY, rules=rules, raise_on_error=False)
    assert not result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "silver/products" in materialized
    assert {"silver/orders", "silver/inventory_movements"}.isdisjoint(materialized)
    evaluations = {
        (e.asset_check_evaluation_data.asset_key.to_user_string(), e.asset_check_evaluation_data.check_name):
            e.asset_check_evaluation_data.passed
        for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }  # fmt: skip
    assert evaluations[("silver/products", "critical_rules")] is False
    assert evaluations[("silver/customers", "critical_rules")] is True


def test_reconciliation_check_fails_when_a_row_is_dropped(crafted) -> None:
    landing, warehouse = crafted
    assert materialize("*", landing, warehouse, DAY).success
    with connect(warehouse) as con:
        con.execute("DELETE FROM silver.orders WHERE order_id = 'O9'")
    result = materialize(
        "silver/orders", landing, warehouse, DAY, raise_on_error=False, check="reconciliation"
    )
    (evaluation,) = [e.asset_check_evaluation_data for e in result.all_events
                     if e.event_type_value == "ASSET_CHECK_EVALUATION"]  # fmt: skip
    assert (evaluation.check_name, evaluation.passed) == ("reconciliation", False)
    assert "2024-02-01 (+1)" in evaluation.description
    assert _q(warehouse, "SELECT failed, breached FROM meta.quality_results WHERE rule_id = 'reconciliation' "
                         "AND table_name = 'orders' ORDER BY evaluated_at DESC LIMIT 1") == [(1, True)]  # fmt: skip
