"""Silver against the generator's manifest: every silver-layer defect is rejected, flagged or
deduplicated exactly where the manifest says, and nothing else is."""

from __future__ import annotations

import json
from pathlib import Path

from shopflow_assets.lib.warehouse import connect

SILVER_TABLE = {"orders": "orders", "inventory": "inventory_movements", "products": "products",
                "customers": "customers", "accounts": "customers", "campaigns": "campaign_performance"}  # fmt: skip
NOT_NULL_RULE = {("customers", "customer_id"): "source_id_not_null", ("accounts", "id"): "source_id_not_null"}
FLAGGED_KIND = {
    ("orders", "unknown_status"): "status_allowed",
    ("orders", "total_mismatch"): "total_matches",
    ("inventory", "wrong_sign"): "sign_matches_type",
    ("products", "retail_below_cost"): "retail_not_below_cost",
    ("customers", "invalid_email"): "email_valid",
    ("accounts", "invalid_email"): "email_valid",
}
# The silver table that holds one row per accepted record (master data: its delivery ledger).
LEDGER = {"orders": "silver.orders", "inventory_movements": "silver.inventory_movements",
          "products": "silver.product_deliveries", "customers": "silver.customer_deliveries",
          "campaign_performance": "silver.campaign_performance"}  # fmt: skip


def _q(warehouse: Path, sql: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def _expected_rejects(manifest: dict) -> set[tuple]:
    expected = set()
    for d in manifest["defects"]:
        if d["layer"] != "silver":
            continue
        table = SILVER_TABLE[d["source"]]
        if d["kind"] == "null_key":
            rule = NOT_NULL_RULE.get((d["source"], d["column"]), f"{d['column']}_not_null")
        elif d["kind"] == "non_positive_quantity":
            rule = "quantity_range"
        elif (d["source"], d["kind"]) == ("inventory", "unknown_status"):
            rule = "update_type_allowed"
        else:
            continue
        expected.add((table, d["file"], d["record_number"], rule))
    return expected


def test_silver_rejects_are_exactly_the_manifest_defects(generated) -> None:
    _, warehouse, manifest = generated
    actual = set(_q(warehouse, "SELECT source, source_file, record_number, rule FROM quarantine.rejected_records "
                               "WHERE layer = 'silver'"))  # fmt: skip
    assert actual == _expected_rejects(manifest)


def test_silver_flags_are_exactly_the_manifest_defects(generated) -> None:
    _, warehouse, manifest = generated
    expected = {
        (SILVER_TABLE[d["source"]], d["file"], d["record_number"], FLAGGED_KIND[(d["source"], d["kind"])])
        for d in manifest["defects"]
        if (d["source"], d["kind"]) in FLAGGED_KIND
    }
    actual = set()
    for table, ledger in LEDGER.items():
        actual |= {
            (table, f, n, rule)
            for f, n, rule in _q(
                warehouse, f"SELECT _source_file, _record_number, unnest(_flags) FROM {ledger}"
            )
        }
    assert actual == expected


def test_duplicates_keep_the_latest_record(generated) -> None:
    _, warehouse, manifest = generated
    expected = {
        (d["file"], d["record_key"], d["record_number"])
        for d in manifest["defects"]
        if d["kind"] == "duplicate_order_id"
    }
    assert expected
    assert (
        set(_q(warehouse, "SELECT kept_file, record_key, kept_record_number FROM meta.removed_duplicates"))
        == expected
    )


def test_every_partition_reconciles_and_keys_resolve(generated) -> None:
    _, warehouse, manifest = generated
    rows = _q(warehouse, "SELECT table_name, partition_date, breached FROM meta.quality_results "
                         "WHERE rule_id = 'reconciliation'")  # fmt: skip
    assert len(rows) == 5 * 4 and not any(breached for *_, breached in rows)
    # the generator only sells to delivered customers and products: every order resolves
    assert _q(warehouse, "SELECT count(*) FROM silver.orders WHERE customer_key IS NULL") == [(0,)]
    # and the identities it planted are exactly the people merged across CRM and web shop
    pairs = {(i["crm_id"], i["account_id"]) for i in manifest["identities"]}
    merged = _q(
        warehouse,
        """
        SELECT a.source_id, b.source_id FROM silver.customer_id_map a JOIN silver.customer_id_map b
          ON a.customer_key = b.customer_key
        WHERE a.is_current AND b.is_current AND a.source_system = 'crm' AND b.source_system = 'webshop'""",
    )
    assert set(merged) == pairs


def test_quarantined_records_keep_their_own_raw_record(generated) -> None:
    """A rejected web-shop account is quarantined with the account's fields, a CRM profile with its own."""
    _, warehouse, _ = generated
    rows = _q(
        warehouse,
        "SELECT source_file, raw_record FROM quarantine.rejected_records WHERE source = 'customers'",
    )
    assert {f.split("/")[0] for f, _ in rows} == {"customers", "accounts"}
    for source_file, raw in rows:
        record = json.loads(raw)
        expected = "name_first" if source_file.startswith("accounts/") else "first_name"
        assert expected in record and any(v is not None for v in record.values()), (source_file, raw)
