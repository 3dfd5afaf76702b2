"""Run parameters, sizes and random streams of the generator.

Every random draw comes from a stream keyed by (seed, purpose, day), so one file's content does not
depend on how many other files were drawn before it: adding ``--late-files`` or more days leaves the
regular files of the earlier days unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from typing import Any

import numpy as np

# Master-data sizes on the first day. They do not scale with orders_per_day: a million orders a day
# simply spread over the same customers and products, which keeps the big-volume runs fast.
INITIAL_PRODUCTS = 500
INITIAL_CUSTOMERS = 1500
INITIAL_ACCOUNTS = 1200
INITIAL_CAMPAIGNS = 10

# Daily churn of master data, as fractions of the first-day size.
NEW_PER_DAY = 0.01
CHANGED_PER_DAY = 0.02

# Share of web accounts that are a CRM customer under another spelling.
IDENTITY_SHARE = 0.20

# Inventory movements that are not sales, relative to the day's sale movements.
EXTRA_MOVEMENT_SHARE = 0.10

# --late-files: how many old days get a late file, and the late file's size relative to a day.
LATE_DAYS = 2
LATE_SHARE = 0.05
# The original of a corrected file misses this share of the day's orders.
CORRECTION_MISSING_SHARE = 0.02


class Stream(IntEnum):
    """Purpose of a random stream; part of the stream's seed, so the numbers must never change."""

    PLAN = 1
    PRODUCTS = 2
    CUSTOMERS = 3
    ACCOUNTS = 4
    CAMPAIGNS = 5
    ORDERS = 6
    INVENTORY = 7
    DEFECTS = 8
    LATE_ORDERS = 9
    LATE_INVENTORY = 10
    CORRECTION = 11


def rng_for(seed: int, stream: Stream, day_index: int = 0, extra: int = 0) -> np.random.Generator:
    """An independent, reproducible generator for one purpose on one day."""
    return np.random.default_rng([seed, int(stream), day_index, extra])


@dataclass(frozen=True)
class GenerateParams:
    start: date
    days: int
    orders_per_day: int
    seed: int = 42
    defect_rate: float = 0.02
    late_files: bool = False

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.orders_per_day < 1:
            raise ValueError("orders_per_day must be at least 1")
        if self.seed < 0:
            raise ValueError("seed must be non-negative")
        if not 0.0 <= self.defect_rate <= 0.5:
            raise ValueError("defect_rate must be between 0 and 0.5")

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def as_manifest(self) -> dict[str, Any]:
        """The parameters as plain JSON values (the output folder is left out on purpose, so the
        manifest is identical wherever the files are written)."""
        return {
            "days": self.days,
            "defect_rate": self.defect_rate,
            "late_files": self.late_files,
            "orders_per_day": self.orders_per_day,
            "seed": self.seed,
            "start": self.start.isoformat(),
        }
