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
