"""Marketing campaigns and their running (cumulative) performance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from shopflow_assets.generator import reference as ref
from shopflow_assets.generator.frame import Frame
from shopflow_assets.generator.params import INITIAL_CAMPAIGNS, Stream, rng_for
from shopflow_assets.sources import SOURCES

_COUNTERS = ("impressions", "clicks", "conversions", "spend_cents", "revenue_cents")


@dataclass
class Campaigns:
    seed: int
    start: date
    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    starts: list[date] = field(default_factory=list)
    ends: list[date] = field(default_factory=list)
    targets: list[list[str]] = field(default_factory=list)
    budget_cents: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # daily behaviour of each campaign
    impressions_per_day: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ctr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cvr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cpc_cents: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    order_value_cents: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # cumulative performance, one array per counter
    totals: dict[str, np.ndarray] = field(default_factory=dict)

    def _plan(self, rng: np.random.Generator) -> None:
        """Ten campaigns starting within a month either side of the first day, some already running.
        (The plan does not depend on the number of days, so a longer run keeps the same campaigns.)"""
        n = INITIAL_CAMPAIGNS
        offsets = rng.integers(-30, 30, n)
        offsets[: n // 3] = -rng.integers(1, 20, n // 3)
        durations = rng.integers(7, 46, n)
        names = rng.choice(len(ref.CAMPAIGN_NAMES), size=n, replace=False)
        for i in range(n):
            self.ids.append(f"CMP-{i + 1:03d}")
            self.names.append(ref.CAMPAIGN_NAMES[int(names[i])])
            self.channels.append(ref.CAMPAIGN_CHANNELS[int(rng.integers(len(ref.CAMPAIGN_CHANNELS)))])
            self.starts.append(self.start + timedelta(days=int(offsets[i])))
            self.ends.append(self.starts[-1] + timedelta(days=int(durations[i]) - 1))
            picks = rng.choice(len(ref.CATEGORIES), size=int(rng.integers(1, 4)), replace=False)
            self.targets.append(sorted(ref.CATEGORIES[int(c)] for c in picks))
        self.budget_cents = rng.integers(50, 1000, n) * 10_000
        self.cpc_cents = rng.integers(20, 150, n)
        self.ctr = rng.uniform(0.005, 0.04, n)
        self.cvr = rng.uniform(0.01, 0.05, n)
        self.order_value_cents = rng.integers(2_000, 15_000, n)
        self.impressions_per_day = self.budget_cents / durations / self.cpc_cents / self.ctr
        self.totals = {name: np.zeros(n, np.int64) for name in _COUNTERS}
        # what the campaigns that started before the window have already done
        self._add_days(rng, np.clip(-offsets, 0, durations))

    def _add_days(self, rng: np.random.Generator, days: np.ndarray) -> None:
        impressions = rng.poisson(self.impressions_per_day * days)
        clicks = rng.binomial(impressions, self.ctr)
        conversions = rng.binomial(clicks, self.cvr)
        self.totals["impressions"] += impressions
        self.totals["clicks"] += clicks
        self.totals["conversions"] += conversions
        self.totals["spend_cents"] += clicks * self.cpc_cents
        self.totals["revenue_cents"] += conversions * self.order_value_cents

    def advance(self, day_index: int, day: date) -> tuple[Frame, list[int]]:
        """Day one lists every campaign; later days the campaigns running that day."""
        rng = rng_for(self.seed, Stream.CAMPAIGNS, day_index)
        if day_index == 0:
            self._plan(rng)
        active = np.array([s <= day <= e for s, e in zip(self.starts, self.ends, strict=True)])
        self._add_days(rng, active.astype(np.int64))
        rows = list(range(len(self.ids))) if day_index == 0 else np.flatnonzero(active).tolist()
        t = self.totals
        columns = {
            "campaign_id": [self.ids[i] for i in rows],
            "name": [self.names[i] for i in rows],
            "channel": [self.channels[i] for i in rows],
            "start_date": [self.starts[i].isoformat() for i in rows],
            "end_date": [self.ends[i].isoformat() for i in rows],
            "target_categories": [list(self.targets[i]) for i in rows],
            "budget": [int(self.budget_cents[i]) / 100 for i in rows],
            "performance_impressions": [int(t["impressions"][i]) for i in rows],
            "performance_clicks": [int(t["clicks"][i]) for i in rows],
            "performance_conversions": [int(t["conversions"][i]) for i in rows],
            "performance_spend": [int(t["spend_cents"][i]) / 100 for i in rows],
            "performance_revenue": [int(t["revenue_cents"][i]) / 100 for i in rows],
        }
        return Frame(SOURCES["campaigns"], columns), rows

    def protected(self, rows: list[int]) -> None:
        """No campaign record is off limits for defects."""
        return None

    def delivered(self, rows: list[int], clean: np.ndarray) -> None:
        """Nothing references campaigns, so what was delivered cleanly does not matter."""
