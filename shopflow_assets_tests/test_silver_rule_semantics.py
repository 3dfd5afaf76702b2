"""Issue 9 (2): rules declared once in the contract, uniqueness across days, and the critical threshold
that blocks a systematically broken delivery but not the ordinary defect rate. Real runs throughout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from shopflow_assets.lib.warehouse import connect
from shopflow_assets.quality.config import load_quality_config
from shopflow_assets_tests.conftest import materialize, order_line, write_csv
from shopflow_assets_tests.test_alerts import tick
from shopflow_assets_tests.test_silver_rules import write_masters

D1, D2 = "2024-02-01", "2024-02-02"
SHOPFLOW = Path(sys.executable).parent / "shopflow"


def _q(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _order(order_id: str, day: str, **overrides: str) -> list[str]:
    return order_line(order_id, day=day, **{"customer_id": "CUST1", "product_id": "P1", **overrides})


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_check_evaluation_data.asset_key.to_user_string(), e.asset_check_evaluation_data.check_name):
            e.asset_check_evaluation_data
        for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }  # fmt: skip


# ---------- each rule declared once ----------


def test_rules_yaml_configures_exactly_the_rules_the_contracts_declare() -> None:
    """Rule ids, readable names and the columns a report shows all come from the contract."""
    from shopflow_assets.quality.contracts import CONTRACTS
    from shopflow_assets.quality.validate import contract_rules
    from shopflow_assets.reports.failing import rule_columns

    config = load_quality_config()
    assert set(config.tables) == set(CONTRACTS)
    for table in CONTRACTS:
        rules = contract_rules(table)
        assert set(rules) == set(config.rules(table)), table
        assert all(r.name and r.name != r.rule_id and r.columns for r in rules.values()), table
        assert rule_columns(table) == {r.rule_id: r.columns for r in rules.values()}
    orders = contract_rules("orders")
    # Pandera's own nullable, isin, in_range and ge carry the rule ids of not-null, allowed and range rules
    schema = CONTRACTS["orders"]
    assert not schema.columns["customer_id"].nullable and orders["customer_id_not_null"].name == (
        "customer_id is present"
    )
    assert [(c.name, c.statistics) for c in schema.columns["quantity"].checks] == [
        ("quantity_range", {"min_value": 1, "max_value": 1000, "include_min": True, "include_max": True})
    ]
    assert orders["total_matches"].columns == ("quantity", "unit_price", "discount_percent", "total")
    # snapshots and cumulative campaign figures are delivered again every day: no cross-day rule there
    assert {t for t in CONTRACTS if any(r.endswith("_unique") for r in contract_rules(t))} == {
        "orders",
        "inventory_movements",
    }


# ---------- uniqueness across days ----------


def _land_two_days(landing: Path) -> None:
    for day in (D1, D2):
        write_masters(landing, day)
    write_csv(landing / "orders" / f"orders_{D1}.csv", [_order("O1", D1), _order("O2", D1)])
    # D2 re-delivers O1 (twice: the in-day duplicate is removed first) among ten new orders, so that
    # the one cross-day duplicate (1 of 11 checked) stays below the critical threshold
    write_csv(
        landing / "orders" / f"orders_{D2}.csv",
        [
            _order("O1", D2, quantity="3", total="30.00"),
            *(_order(f"N{i}", D2) for i in range(1, 11)),
            _order("O1", D2, quantity="4", total="40.00"),
        ],
    )


def _orders_outcome(warehouse: Path) -> dict[str, list[tuple]]:
    return {
        "silver": _q(warehouse, "SELECT _partition_date::VARCHAR, order_id, quantity, _flags FROM silver.orders ORDER BY ALL"),
        "quarantine": _q(warehouse, "SELECT partition_date::VARCHAR, record_number, record_key, rule, reason "
                                    "FROM quarantine.rejected_records WHERE layer = 'silver' AND source = 'orders' ORDER BY ALL"),
        "duplicates": _q(warehouse, "SELECT partition_date::VARCHAR, record_key, record_number, kept_record_number "
                                    "FROM meta.removed_duplicates WHERE source = 'orders' ORDER BY ALL"),
        "reconciled": _q(warehouse, "SELECT partition_date::VARCHAR, breached FROM meta.quality_results "
                                    "WHERE table_name = 'orders' AND rule_id = 'reconciliation' "
                                    "QUALIFY row_number() OVER (PARTITION BY partition_date ORDER BY evaluated_at DESC) = 1 "
                                    "ORDER BY 1"),
    }  # fmt: skip


def test_an_order_id_delivered_again_on_a_later_day_is_rejected_whatever_the_processing_order(
    tmp_path: Path,
) -> None:
    outcomes = {}
    for order in ("dates", "reversed"):
        landing, warehouse = tmp_path / order / "landing", tmp_path / order / "shopflow.duckdb"
        _land_two_days(landing)
        if order == "dates":  # one range run, as a backfill
            assert materialize("*", landing, warehouse, D1, D2).success
        else:  # all deliveries in bronze, then the later day's silver first
            assert materialize("group:bronze", landing, warehouse, D1, D2).success
            assert materialize("group:silver", landing, warehouse, D2).success
            assert materialize("group:silver", landing, warehouse, D1).success
        outcomes[order] = _orders_outcome(warehouse)
    assert outcomes["dates"] == outcomes["reversed"]
    assert outcomes["dates"] == {
        "silver": [
            (D1, "O1", 2, []),
            (D1, "O2", 2, []),
            *((D2, f"N{i}", 2, []) for i in sorted(range(1, 11), key=str)),
        ],
        "quarantine": [
            (
                D2,
                12,
                "O1",
                "order_id_unique",
                "order_id_unique: order_id not already delivered on an earlier day "
                f"(order_id = O1, first_delivered_on = {D1}, _partition_date = {D2})",
            ),
        ],
        "duplicates": [(D2, "O1", 1, 12)],
        # bronze rows = silver + quarantined + removed duplicates: 2 = 2 + 0 + 0 and 12 = 10 + 1 + 1
        "reconciled": [(D1, False), (D2, False)],
    }


# ---------- the critical threshold ----------


@pytest.fixture
def broken_file(landing: Path, warehouse: Path) -> tuple[Path, Path]:
    """A day on which 3 of 10 orders lack a customer: a systematically broken file."""
    write_masters(landing, D1)
    rows = [_order(f"O{i}", D1, **({"customer_id": ""} if i <= 3 else {})) for i in range(1, 11)]
    write_csv(landing / "orders" / f"orders_{D1}.csv", rows)
    return landing, warehouse


def test_a_file_with_30_percent_of_orders_without_a_customer_stops_downstream(broken_file) -> None:
    landing, warehouse = broken_file
    from shopflow_assets.definitions import defs
    from shopflow_assets.lib.partitions import daily_partitions
    from shopflow_assets.lib.warehouse import LandingZoneResource, QualityRulesResource, WarehouseResource

    @dg.asset(
        key=["gold", "reads_orders"],
        deps=[dg.AssetKey(["silver", "orders"])],
        partitions_def=daily_partitions,
    )
    def reads_orders() -> None:
        """Stands for any asset downstream of silver/orders."""

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            # bronze and silver, and a stand-in for what reads silver/orders (gold has its own tests)
            [*(a for a in defs.assets if all(k.path[0] != "gold" for k in a.keys)), *defs.asset_checks, reads_orders],
            partition_key=D1,
            raise_on_error=False,
            instance=instance,
            resources={"warehouse": WarehouseResource(path=str(warehouse)),
                       "landing": LandingZoneResource(path=str(landing)), "quality": QualityRulesResource()},
        )  # fmt: skip
        tick(instance, warehouse)  # the alert sensor files the failed check
    assert not result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "silver/orders" in materialized and "gold/reads_orders" not in materialized
    check = _evaluations(result)[("silver/orders", "critical_rules")]
    assert not check.passed
    assert check.description == (
        f"critical rules above their threshold: {D1} customer_id_not_null (3 of 10, 30.00% > 10.00%)"
    )
    # the records are still quarantined, and the breach is recorded and alerted
    assert _q(warehouse, "SELECT record_key, rule FROM quarantine.rejected_records WHERE layer = 'silver' AND source = 'orders' "
                         "ORDER BY record_number") == [("O1", "customer_id_not_null"), ("O2", "customer_id_not_null"),
                                                       ("O3", "customer_id_not_null")]  # fmt: skip
    assert _q(warehouse, "SELECT failed, threshold, breached FROM meta.quality_results "
                         "WHERE rule_id = 'customer_id_not_null'") == [(3, 0.10, True)]  # fmt: skip
    assert _q(warehouse, "SELECT asset_key, summary FROM meta.alerts WHERE kind = 'quality_check'") == [
        ("silver/orders", f"critical_rules: {check.description}")
    ]
    # the quality report: a CRITICAL alert, exactly as the check failed; not quarantine information
    proc = subprocess.run([str(SHOPFLOW), "quality-report", "--date", D1, "--json", "--db", str(warehouse)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    critical = [(a["table"], a["rule"], a["failed"]) for a in report["alerts"] if a["severity"] == "critical"]
    assert critical == [("orders", "customer_id_not_null", 3)]
    # the day's product file is within the threshold (1 of 11 without an id): information only
    assert report["quarantined_by_critical_rules"] == [
        {"table": "products", "rule": "product_id_not_null", "records": 1}
    ]
    text = subprocess.run([str(SHOPFLOW), "quality-report", "--date", D1, "--db", str(warehouse)],
                          capture_output=True, text=True, timeout=120).stdout  # fmt: skip
    assert ["CRITICAL", "orders", "customer_id_not_null"] in [line.split()[:3] for line in text.splitlines()]
    assert "Info: 1 record(s) quarantined by critical rules (products.product_id_not_null 1)" in text


def test_the_generators_ordinary_defect_rate_does_not_block(generated) -> None:
    """5 % defects over every kind: critical rules do reject records, none above the threshold."""
    _, warehouse, _ = generated
    rows = _q(warehouse, "SELECT table_name, rule_id, failed, failure_rate, breached FROM meta.quality_results "
                         "WHERE severity = 'critical' AND action <> 'check' AND failed > 0")  # fmt: skip
    assert {rule for _, rule, *_ in rows} >= {
        "order_id_not_null",
        "customer_id_not_null",
        "product_id_not_null",
    }
    assert [r for r in rows if r[-1]] == []
