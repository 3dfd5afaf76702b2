"""The daily partitioning every layer shares: one partition per business day, UTC."""

from __future__ import annotations

import os
from datetime import date, timedelta

import dagster as dg

# Partition definitions are part of the code location's shape, so the start date is the one
# setting read at import time.
START_DATE = os.environ.get("SHOPFLOW_START_DATE", "2024-01-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC")


def partition_window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The half-open day window [start, end) a run covers, for one partition or a range."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def days_in(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def partition_label(start: date, end_exclusive: date) -> str:
    """The partitions of [start, end_exclusive) as alerts name them: one day as `2024-01-05`, a range
    inclusively as `2024-01-01...2024-01-02`, Dagster's own partition-range syntax (and the run tags')."""
    last = end_exclusive - timedelta(days=1)
    return start.isoformat() if last <= start else f"{start.isoformat()}...{last.isoformat()}"


def partitions_of(tags: dict[str, str]) -> str:
    """A run's partitions from its tags, labelled like `partition_label`."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    if not start:
        return ""
    try:
        return partition_label(
            date.fromisoformat(start), date.fromisoformat(end or start) + timedelta(days=1)
        )
    except ValueError:  # not daily keys: keep Dagster's own range syntax
        return f"{start}...{end}"
