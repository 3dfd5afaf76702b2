"""What the UI shows for a range run: previews with rows, described columns, and every check's result
recorded under its own partition (none without one, none left planned, i.e. "Skipped")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from shopflow_assets.generator import generate
from shopflow_assets.lib.warehouse import connect
from shopflow_assets.quality.config import DEFAULT_RULES_FILE
from shopflow_assets_tests.conftest import materialize, write_json
from shopflow_assets_tests.test_alerts import tick

DAYS = ["2024-01-01", "2024-01-02"]
BLOCKING = {"critical_rules", "reconciliation"}


@pytest.fixture(scope="module")
def ranged(tmp_path_factory: pytest.TempPathFactory):
    """Every asset and check over two days in one run (a single-run backfill), on generated data."""
    root = tmp_path_factory.mktemp("metadata")
    generate(root / "landing", date(2024, 1, 1), len(DAYS), 60, seed=5, defect_rate=0.05, late_files=True)
    with dg.instance_for_test() as instance:
        result = materialize("*", root / "landing", root / "w.duckdb", DAYS[0], DAYS[-1], instance=instance)
        assert result.success
        yield instance, result


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dict:
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return record.asset_materialization.metadata


def test_every_preview_has_rows(ranged) -> None:
    instance, _ = ranged
    keys = instance.get_asset_keys()
    assert len(keys) == 13
    for key in keys:
        for day in DAYS:
            metadata = _latest(instance, key, day)
            lines = metadata["preview"].value.splitlines()
            rows = metadata["dagster/row_count"].value
            assert rows > 0, key
            # header, separator, then up to five rows of the run's window
            assert len(lines) - 2 == min(5, rows), key
            assert not lines[0].startswith("| column_name"), key  # not DESCRIBE's header


def test_every_column_has_a_description(ranged) -> None:
    instance, _ = ranged
    for key in instance.get_asset_keys():
        columns = _latest(instance, key, DAYS[0])["dagster/column_schema"].schema.columns
        assert len(columns) > 5 and [c.name for c in columns if not c.description] == [], key


def test_each_check_has_one_result_per_partition_and_none_without(ranged) -> None:
    instance, result = ranged
    graph = result.job_def.asset_layer.asset_graph
    check_keys = graph.asset_check_keys
    assert len(check_keys) == 6 * 2 + 5 * 3  # bronze: 2 per source; silver: 3 per table
    for key in check_keys:
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        assert sorted(r.partition for r in history) == DAYS, key.to_user_string()
        statuses = {r.status for r in history}
        assert AssetCheckExecutionRecordStatus.PLANNED not in statuses, key.to_user_string()
        if key.name in BLOCKING:
            assert statuses == {AssetCheckExecutionRecordStatus.SUCCEEDED}, key.to_user_string()
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(check_keys) * len(DAYS)
    assert {e.partition for e in evaluations} == set(DAYS)


def _products(landing: Path, day: str, ids: list[str | None]) -> None:
    write_json(
        landing / "products" / f"products_{day}.json",
        {"snapshot_date": day, "products": [
            {"product_id": i, "name": f"N{i}", "category": "Home", "cost_price": 1, "retail_price": 2} for i in ids
        ]},
    )  # fmt: skip


def test_one_bad_day_fails_only_its_own_evaluation_but_blocks_the_whole_step(
    landing: Path, warehouse: Path, tmp_path: Path
) -> None:
    """Dagster blocks on a failed blocking check per step, not per partition: in a single-run range
    the downstream steps are skipped for every day, and a run of the good day alone goes through."""
    config = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    config["tables"]["products"]["product_id_not_null"]["action"] = "flag"  # kept in silver: blocks
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(config))
    first, second = "2024-02-01", "2024-02-02"
    _products(landing, first, ["P1"])
    _products(landing, second, ["P2", None])
    with dg.instance_for_test() as instance:
        result = materialize(
            "bronze/products*", landing, warehouse, first, second, rules=rules, raise_on_error=False,
            instance=instance,
        )  # fmt: skip
        assert not result.success
        critical = dg.AssetCheckKey(dg.AssetKey(["silver", "products"]), "critical_rules")
        history = instance.event_log_storage.get_asset_check_execution_history(critical, limit=10)
        assert sorted((r.partition, r.event.asset_check_evaluation.passed) for r in history) == [
            (first, True),
            (second, False),
        ]
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert materialized == {"bronze/products", "silver/products"}  # orders, inventory skipped
        tick(instance, warehouse)  # the alert sensor files the failed check, naming the failed day
        with connect(warehouse, read_only=True) as con:
            ((partitions, summary),) = con.execute(
                "SELECT partitions, summary FROM meta.alerts WHERE kind = 'quality_check'"
            ).fetchall()
        assert partitions == second
        assert summary.startswith("critical_rules: ") and f"{second} product_id_not_null" in summary
        good = materialize("bronze/products*", landing, warehouse, first, rules=rules, instance=instance)
        assert good.success
        assert {e.asset_key.to_user_string() for e in good.get_asset_materialization_events()} >= {
            "silver/orders",
            "silver/inventory_movements",
        }


def test_the_ui_reads_one_backfill_policy_for_every_asset() -> None:
    """The snapshot the webserver serves: every asset, the customer multi-asset's three included,
    backfills in a single run (the UI's "varying backfill policies" compares objects, see report)."""
    from dagster._core.remote_representation.external_data import RepositorySnap

    from shopflow_assets.definitions import defs

    snap = RepositorySnap.from_def(defs.get_repository_def())
    policies = {n.asset_key.to_user_string(): n.backfill_policy for n in snap.asset_nodes}
    assert len([k for k in policies if not k.startswith("gold/")]) == 13
    assert len(policies) == len(defs.resolve_all_asset_keys())
    assert set(policies.values()) == {dg.BackfillPolicy.single_run()}
