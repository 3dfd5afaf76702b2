"""The product catalog: its true state, the daily snapshot files, and what orders may sell.

Orders only sell products whose latest *clean* delivered record says active, at that record's
retail price: a product whose only record so far was defective is unknown to a correct pipeline, and
an order for it would be an orphan that the generator, not the data, caused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from shopflow_assets.generator import reference as ref
from shopflow_assets.generator.frame import STRING, Frame, Records
from shopflow_assets.generator.params import CHANGED_PER_DAY, INITIAL_PRODUCTS, NEW_PER_DAY, Stream, rng_for
from shopflow_assets.sources import SOURCES


def iso_timestamp(day: date, second: int) -> str:
    return f"{day.isoformat()}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


@dataclass(frozen=True)
class Sellable:
    """Products orders may reference today (positions in these arrays, not catalog indices)."""

    ids: pa.Array
    retail_cents: np.ndarray
    weights: np.ndarray


@dataclass
class Catalog:
    seed: int
    records: Records = field(default_factory=lambda: Records(SOURCES["products"]))
    # prices are kept in cents for exact arithmetic; the records carry them as JSON numbers
    cost_cents: list[int] = field(default_factory=list)
    retail_cents: list[int] = field(default_factory=list)
    popularity: list[float] = field(default_factory=list)
    # what a correct pipeline knows: the state of each product's latest clean delivered record
    clean_known: list[bool] = field(default_factory=list)
    clean_retail_cents: list[int] = field(default_factory=list)
    clean_active: list[bool] = field(default_factory=list)

    def _set_prices(self, index: int, cost: int, retail: int) -> None:
        self.cost_cents[index], self.retail_cents[index] = cost, retail
        self.records["cost_price"][index], self.records["retail_price"][index] = cost / 100, retail / 100

    def _create(self, rng: np.random.Generator, updated: str) -> int:
        number = len(self.records)
        # the first products cycle through the categories, so that every category exists
        cat = number if number < len(ref.CATEGORIES) else int(rng.integers(len(ref.CATEGORIES)))
        category = ref.CATEGORIES[cat]
        brand = ref.BRANDS[int(rng.integers(len(ref.BRANDS)))]
        adjective = ref.ADJECTIVES[int(rng.integers(len(ref.ADJECTIVES)))]
        noun = ref.CATEGORY_NOUNS[category][int(rng.integers(len(ref.CATEGORY_NOUNS[category])))]
        retail = max(99, int(ref.CATEGORY_PRICE_CENTS[cat] * rng.lognormal(0.0, 0.5)) // 10 * 10 + 9)
        cost = int(retail * rng.uniform(0.35, 0.8))
        index = self.records.append(
            product_id=f"PRD{number + 1:05d}",
            name=f"{brand} {adjective} {noun}",
            category=category,
            brand=brand,
            supplier=ref.SUPPLIERS[int(rng.integers(len(ref.SUPPLIERS)))],
            cost_price=cost / 100,
            retail_price=retail / 100,
            active=bool(rng.random() < 0.95),
            last_updated=updated,
        )
        self.cost_cents.append(cost)
        self.retail_cents.append(retail)
        self.popularity.append(float(rng.pareto(1.5) + 0.05))
        self.clean_known.append(False)
        self.clean_retail_cents.append(0)
        self.clean_active.append(False)
        return index

    def _change(self, rng: np.random.Generator, index: int, updated: str) -> None:
        """A price change, a (de)activation or a new supplier."""
        what = rng.random()
        if what < 0.6:
            retail = int(self.retail_cents[index] * rng.uniform(0.85, 1.2)) // 10 * 10 + 9
            self._set_prices(index, self.cost_cents[index], max(retail, self.cost_cents[index] + 10))
        elif what < 0.85:
            self.records["active"][index] = not self.records["active"][index]
        else:
            self.records["supplier"][index] = ref.SUPPLIERS[int(rng.integers(len(ref.SUPPLIERS)))]
        self.records["last_updated"][index] = updated

    def advance(self, day_index: int, day: date) -> tuple[Frame, list[int]]:
        """The day's file (full set on day one, then new and changed products) and the product
        index of each record."""
        rng = rng_for(self.seed, Stream.PRODUCTS, day_index)
        if day_index == 0:
            rows = []
            for _ in range(INITIAL_PRODUCTS):
                touched = day - timedelta(days=int(rng.integers(1, 365)))
                rows.append(self._create(rng, iso_timestamp(touched, int(rng.integers(0, 86_400)))))
        else:
            changed = sorted(
                rng.choice(
                    len(self.records), size=round(CHANGED_PER_DAY * INITIAL_PRODUCTS), replace=False
                ).tolist()
            )
            new = int(rng.poisson(NEW_PER_DAY * INITIAL_PRODUCTS))
            stamps = [
                iso_timestamp(day, int(s)) for s in np.sort(rng.integers(0, 86_400, len(changed) + new))
            ]
            for index, stamp in zip(changed, stamps, strict=False):
                self._change(rng, index, stamp)
            rows = changed + [self._create(rng, stamp) for stamp in stamps[len(changed) :]]
        return self.records.frame(rows, document={"snapshot_date": day.isoformat()}), rows

    def protected(self, rows: list[int]) -> None:
        """No catalog record is off limits for defects."""
        return None

    def delivered(self, rows: list[int], clean: np.ndarray) -> None:
        """Remember what the day's clean records told a correct pipeline."""
        for index, ok in zip(rows, clean.tolist(), strict=True):
            if ok:
                self.clean_known[index] = True
                self.clean_retail_cents[index] = self.retail_cents[index]
                self.clean_active[index] = self.records["active"][index]

    def sellable(self) -> Sellable:
        index = np.flatnonzero(np.array(self.clean_known) & np.array(self.clean_active))
        if len(index) == 0:
            raise RuntimeError("no sellable product: every catalog record so far was defective")
        weights = np.array(self.popularity)[index]
        ids = self.records["product_id"]
        return Sellable(
            ids=pa.array([ids[i] for i in index], STRING),
            retail_cents=np.array(self.clean_retail_cents, dtype=np.int64)[index],
            weights=weights / weights.sum(),
        )
