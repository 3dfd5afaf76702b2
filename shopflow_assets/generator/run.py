"""The day loop: evolve master data, deliver each source's file, draw the day's sales.

Order within a day matters: master data is delivered (with its defects) before orders are drawn, so
an order only references products and customers that a correct pipeline has seen cleanly by then.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shopflow_assets.generator import reference as ref
from shopflow_assets.generator.campaigns import Campaigns
from shopflow_assets.generator.catalog import Catalog
from shopflow_assets.generator.defects import Defect, inject
from shopflow_assets.generator.frame import Frame
from shopflow_assets.generator.manifest import ORIGINALS_DIR, FileEntry, Manifest, defect_entries
from shopflow_assets.generator.params import (
    CORRECTION_MISSING_SHARE,
    LATE_DAYS,
    LATE_SHARE,
    GenerateParams,
    Stream,
    rng_for,
)
from shopflow_assets.generator.people import Contacts, Crm, WebShop
from shopflow_assets.generator.sales import Orders, References, draw_orders, movements_frame, orders_frame
from shopflow_assets.generator.writers import CsvDialect, render, write_atomic
from shopflow_assets.landing import file_name
from shopflow_assets.sources import SOURCES

# A stable number per source, for random streams and for the CSV dialect rotation.
_SOURCE_NUMBER = {name: i for i, name in enumerate(SOURCES)}
_LATE, _ORIGINAL = 1, 2  # stream variants of a source's file on one day
_PENDING = ref.ORDER_STATUSES.index("pending")
_COMPLETED = ref.ORDER_STATUSES.index("completed")


class MasterData(Protocol):
    """A master-data source's model: evolves its state one day at a time and learns which of the
    day's records were delivered cleanly (only those may be referenced by orders)."""

    def advance(self, day_index: int, day: date) -> tuple[Frame, list[int]]: ...

    def protected(self, rows: list[int]) -> np.ndarray | None: ...

    def delivered(self, rows: list[int], clean: np.ndarray) -> None: ...


@dataclass(frozen=True)
class LatePlan:
    """Which old days get a late file, which day's orders file gets corrected, and when they land."""

    late_days: dict[int, int]  # day index -> arrival day index
    corrected_day: int | None
    corrected_arrival: int | None

    @classmethod
    def draw(cls, params: GenerateParams) -> LatePlan:
        if not params.late_files:
            return cls({}, None, None)
        rng = rng_for(params.seed, Stream.PLAN)
        old_days = list(range(params.days - 1))  # a late file lands on a later day, so never the last
        late = sorted(int(d) for d in rng.choice(old_days, size=min(LATE_DAYS, len(old_days)), replace=False))
        arrivals = {d: int(rng.integers(d + 1, params.days)) for d in late}
        others = [d for d in old_days if d not in late] or old_days or [0]
        corrected = int(others[int(rng.integers(len(others)))])
        arrival = int(rng.integers(corrected + 1, params.days)) if corrected + 1 < params.days else corrected
        return cls(arrivals, corrected, arrival)


@dataclass
class _Run:
    params: GenerateParams
    out: Path
    manifest: Manifest

    def _defects(
        self, frame: Frame, day_index: int, variant: int, protected: np.ndarray | None = None
    ) -> list[Defect]:
        rng = rng_for(
            self.params.seed, Stream.DEFECTS, day_index, 10 * _SOURCE_NUMBER[frame.spec.name] + variant
        )
        return inject(frame, self.params.defect_rate, rng, protected)

    def _dialect(self, source: str, day_index: int, variant: int) -> CsvDialect | None:
        if SOURCES[source].format != "csv":
            return None
        return CsvDialect.rotating(day_index + _SOURCE_NUMBER[source] + (2 if variant == _LATE else 0))

    def deliver(
        self,
        frame: Frame,
        day_index: int,
        kind: str = "regular",
        protected: np.ndarray | None = None,
    ) -> tuple[FileEntry, list[Defect], bytes]:
        """Inject defects, write the file, record it in the manifest."""
        variant = _LATE if kind == "late" else 0
        source, day = frame.spec.name, self.params.day(day_index)
        defects = self._defects(frame, day_index, variant, protected)
        dialect = self._dialect(source, day_index, variant)
        data = render(frame, dialect)
        name = file_name(source, day, frame.spec.extensions[0], "late" if kind == "late" else None)
        relative = f"{source}/{name}"
        write_atomic(self.out / relative, data)
        entry = FileEntry(
            source=source,
            path=relative,
            partition=day.isoformat(),
            records=len(frame),
            kind=kind,
            delimiter=dialect.delimiter if dialect else None,
            encoding=dialect.encoding if dialect else None,
        )
        self.manifest.add(entry, defects)
        return entry, defects, data

    def deliver_corrected(self, orders: Orders, day_index: int, arrival: int) -> None:
        """The first export missed some orders and had stale statuses; the corrected export
        replaces it under the same name. The original is kept under ``_originals/``."""
        rng = rng_for(self.params.seed, Stream.CORRECTION, day_index)
        keep = rng.random(len(orders)) >= CORRECTION_MISSING_SHARE
        if keep.all() and len(orders) > 1:
            keep[int(rng.integers(len(orders)))] = False
        keep[0] = True  # never an empty first export
        stale = (orders.status == _COMPLETED) & (rng.random(len(orders)) < 0.05)
        first_export = replace(orders, status=np.where(stale, _PENDING, orders.status)).select(keep)
        original = orders_frame(first_export)
        original_defects = self._defects(original, day_index, _ORIGINAL)
        dialect = self._dialect("orders", day_index, 0)
        original_data = render(original, dialect)
        entry, _, data = self.deliver(orders_frame(orders), day_index, kind="corrected")
        write_atomic(self.out / ORIGINALS_DIR / entry.path, original_data)
        self.manifest.corrected_files.append(
            {
                "source": entry.source,
                "path": entry.path,
                "partition": entry.partition,
                "arrives_on": self.params.day(arrival).isoformat(),
                "original_path": f"{ORIGINALS_DIR}/{entry.path}",
                "original_records": len(original),
                "corrected_records": entry.records,
                "original_sha256": hashlib.sha256(original_data).hexdigest(),
                "corrected_sha256": hashlib.sha256(data).hexdigest(),
                "original_defects": defect_entries(
                    "orders", f"{ORIGINALS_DIR}/{entry.path}", original_defects
                ),
            }
        )

    def deliver_late(self, refs: References, day_index: int, arrival: int, regular: tuple[int, int]) -> None:
        """Extra orders (and their stock movements) for an old day, numbered after that day's own."""
        params, day = self.params, self.params.day(day_index)
        count = max(1, round(LATE_SHARE * params.orders_per_day))
        orders_rng = rng_for(params.seed, Stream.LATE_ORDERS, day_index)
        orders = draw_orders(orders_rng, day, count, regular[0] + 1, refs)
        movements = movements_frame(
            rng_for(params.seed, Stream.LATE_INVENTORY, day_index), orders, refs.products, regular[1] + 1
        )
        for frame in (orders_frame(orders), movements):
            entry, _, _ = self.deliver(frame, day_index, kind="late")
            self.manifest.late_files.append(
                {
                    "source": entry.source,
                    "path": entry.path,
                    "partition": entry.partition,
                    "records": entry.records,
                    "arrives_on": params.day(arrival).isoformat(),
                }
            )


def _clean_mask(records: int, defects: list[Defect]) -> np.ndarray:
    clean = np.ones(records, dtype=bool)
    clean[[d.record_number - 1 for d in defects]] = False
    return clean


def generate(
    out: Path,
    start: date,
    days: int,
    orders_per_day: int,
    seed: int = 42,
    defect_rate: float = 0.02,
    late_files: bool = False,
) -> dict[str, Any]:
    """Write ``days`` days of landing files under ``out`` and return the manifest (also written to
    ``out/_manifest.json``). Same arguments, same bytes. Existing files are overwritten, never deleted."""
    params = GenerateParams(start, days, orders_per_day, seed, defect_rate, late_files)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(params, out, Manifest(params))
    plan = LatePlan.draw(params)
    contacts = Contacts()
    catalog = Catalog(seed)
    crm = Crm(seed=seed, contacts=contacts)
    shop = WebShop(seed=seed, contacts=contacts, crm=crm)
    models: tuple[MasterData, ...] = (catalog, crm, shop, Campaigns(seed, start))
    for i in range(days):
        day = params.day(i)
        for model in models:
            frame, rows = model.advance(i, day)
            _, defects, _ = run.deliver(frame, i, protected=model.protected(rows))
            model.delivered(rows, _clean_mask(len(frame), defects))
        refs = References(catalog.sellable(), crm.referenceable(), shop.referenceable())
        orders = draw_orders(rng_for(seed, Stream.ORDERS, i), day, orders_per_day, 1, refs)
        if i == plan.corrected_day:
            run.deliver_corrected(orders, i, plan.corrected_arrival or i)
        else:
            run.deliver(orders_frame(orders), i)
        movements = movements_frame(rng_for(seed, Stream.INVENTORY, i), orders, refs.products, 1)
        run.deliver(movements, i)
        if i in plan.late_days:
            run.deliver_late(refs, i, plan.late_days[i], (orders_per_day, len(movements)))
    run.manifest.identities = list(shop.identities)
    return run.manifest.write(out)
