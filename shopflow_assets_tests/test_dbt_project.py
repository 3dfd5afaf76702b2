"""The dbt project as Dagster sees it: asset keys, groups, partitions, lineage from silver, the
window -> vars function, and a description for every model and column (no dbt run needed)."""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import pytest

from shopflow_assets.definitions import defs
from shopflow_assets.defs.gold.project import dbt_vars, manifest_path
from shopflow_assets.lib.partitions import daily_partitions

GRAPH = defs.resolve_asset_graph()
GOLD = {k for k in GRAPH.get_all_asset_keys() if k.path[0] == "gold"}
FACTS = {"fact_orders", "fact_inventory_movements", "inventory_daily", "daily_sales"}


def _manifest() -> dict:
    return json.loads(manifest_path().read_text())


def test_the_partition_window_becomes_half_open_dbt_vars() -> None:
    one_day = daily_partitions.time_window_for_partition_key("2026-11-25")
    assert dbt_vars(one_day.start.date(), one_day.end.date()) == {
        "min_date": "2026-11-25",
        "max_date": "2026-11-26",
    }
    # a range run: the last day's end, exclusive (an inclusive `between` would take 2026-12-01 too)
    assert dbt_vars(date(2026, 11, 18), date(2026, 12, 1)) == {
        "min_date": "2026-11-18",
        "max_date": "2026-12-01",
    }
    with pytest.raises(ValueError, match="empty"):
        dbt_vars(date(2026, 11, 18), date(2026, 11, 18))


def test_every_dbt_model_is_a_gold_asset_fed_by_the_silver_assets() -> None:
    models = {
        n["name"]
        for n in _manifest()["nodes"].values()
        if n["resource_type"] in ("model", "seed") and n["config"]["materialized"] != "ephemeral"
    }
    assert {k.path[1] for k in GOLD} == models
    assert {GRAPH.get(k).group_name for k in GOLD} == {"gold"}
    assert "stg_bronze_orders" not in models
    stg_orders = GRAPH.get(dg.AssetKey(["gold", "stg_orders"]))
    assert dg.AssetKey(["silver", "orders"]) in stg_orders.parent_keys  # one graph: silver -> gold


def test_facts_are_daily_partitioned_single_run_and_the_marts_update_automatically() -> None:
    for key in GOLD:
        node = GRAPH.get(key)
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
        if key.path[1] in FACTS:
            assert node.partitions_def == daily_partitions, key
        else:
            assert node.partitions_def is None, key
        business = key.path[1] in {
            "customer_metrics", "product_performance", "monthly_revenue", "channel_performance",
            "campaign_performance", "inventory_valuation",
        }  # fmt: skip
        assert (node.automation_condition is not None) == business, key


def test_every_model_and_column_is_described() -> None:
    nodes = [n for n in _manifest()["nodes"].values() if n["resource_type"] in ("model", "seed")]
    undescribed = [n["name"] for n in nodes if not n["description"].strip()]
    assert undescribed == []
    columns = [
        f"{n['name']}.{c}" for n in nodes for c, v in n["columns"].items() if not v["description"].strip()
    ]
    assert columns == []
    assert all(n["columns"] for n in nodes if n["resource_type"] == "model")


def test_dbt_tests_are_asset_checks() -> None:
    checks = {k for k in GRAPH.asset_check_keys if k.asset_key.path[0] == "gold"}
    on_fact_orders = {k.name for k in checks if k.asset_key.path[1] == "fact_orders"}
    assert any(name.startswith("unique_fact_orders_order_id") for name in on_fact_orders), on_fact_orders
    assert any(name.startswith("relationships_fact_orders") for name in on_fact_orders), on_fact_orders


def test_models_whose_inputs_do_not_exist_yet_wait_with_a_warning(landing, warehouse) -> None:
    """An orders file before any catalog or CRM file (sensor runs come in any order): the run succeeds,
    builds what it can (the orders' staging view, the stores and calendar), and names what the facts
    and marts wait for instead of failing on dbt's catalog errors."""
    from shopflow_assets_tests.conftest import materialize, order_line, write_csv

    write_csv(landing / "orders" / "orders_2024-01-05.csv", [order_line("O1", "2024-01-05")])
    with dg.instance_for_test() as instance:
        result = materialize(
            sorted(defs.resolve_job_def("ingest_orders").asset_layer.executable_asset_keys),  # the sensor job
            landing, warehouse, "2024-01-05", gold=True, instance=instance,
        )  # fmt: skip
        warnings = [
            e.user_message
            for e in instance.all_logs(result.run_id)
            if "is not built in this run" in e.user_message
        ]
    assert result.success
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"silver/orders", "gold/stg_orders", "gold/stores", "gold/dim_stores", "gold/dim_date"} <= built
    assert not {"gold/fact_orders", "gold/daily_sales", "gold/monthly_revenue"} & built
    # the facts wait for the dimensions; with no fact built, Dagster skips the marts' step after them
    assert sorted(w.split(" is not built")[0] for w in warnings) == ["gold/daily_sales", "gold/fact_orders"]
    assert any("it needs gold.dim_customers" in w or "it needs gold.dim_products" in w for w in warnings)


def test_the_marts_are_requested_after_a_fact_partition_changes_without_them() -> None:
    """The marts' AutomationCondition: nothing on a fresh instance (no run at daemon start on an empty
    warehouse); a fact partition materialized by a run without the marts requests exactly the marts
    downstream of it, once."""
    marts = dg.AssetSelection.assets(*(k for k in GOLD if GRAPH.get(k).automation_condition is not None))
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=marts)
        assert first.total_requested == 0
        instance.report_runless_asset_event(
            dg.AssetMaterialization(dg.AssetKey(["gold", "fact_orders"]), partition="2024-01-05")
        )
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=marts, cursor=first.cursor
        )
        requested = {r.key.path[1] for r in second.results if r.true_subset.size}
        assert requested == {
            "customer_metrics", "product_performance", "monthly_revenue", "channel_performance", "campaign_performance",
        }  # fmt: skip
        third = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=marts, cursor=second.cursor
        )
        assert third.total_requested == 0
