"""Small helpers that turn warehouse facts into Dagster metadata and check results the UI renders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

# Who answers for every asset: the UI's owner column and each asset's page.
OWNERS = ["team:data-platform"]


def table_schema(
    columns: Sequence[tuple[str, str]], descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    described = descriptions or {}
    return dg.TableSchema(
        columns=[dg.TableColumn(name=n, type=t, description=described.get(n)) for n, t in columns]
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:80]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _target(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The partition's latest materialization, which the UI shows the evaluation against."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    latest = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp
    )


def partition_check_events(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    results: Iterable[tuple[str, dg.AssetCheckResult]],
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    """Each (partition, result) recorded as that partition's evaluation of the check.

    Dagster 1.13 records an AssetCheckResult of a range run without a partition and leaves every
    partition it planned for the check Skipped; an AssetCheckEvaluation carries its partition. Each
    selected check's output is still yielded once, so the steps behind a blocking check wait for it,
    and a failed blocking evaluation still fails the step after all events are out."""
    op = context.op_execution_context
    selected = op.selected_asset_check_keys
    opened: set[dg.AssetCheckKey] = set()
    for partition, result in results:
        assert result.asset_key is not None and result.check_name is not None
        key = dg.AssetCheckKey(result.asset_key, result.check_name)
        if key not in selected:
            continue
        if key not in opened:
            opened.add(key)
            yield dg.Output(None, output_name=op.assets_def.get_output_name_for_asset_check_key(key))
        yield dg.AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=result.passed,
            metadata=result.metadata,
            target_materialization_data=_target(op.instance, key.asset_key, partition),
            severity=result.severity,
            description=result.description,
            blocking=op.assets_def.get_spec_for_check_key(key).blocking,
            partition=partition,
        )
