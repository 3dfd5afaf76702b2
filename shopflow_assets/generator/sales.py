"""Orders and inventory movements: the high-volume sources, generated column-wise with numpy.

Every non-cancelled order ships one ``sale`` movement (same store and product, quantity negated,
same timestamp); web, mobile and marketplace orders ship from the warehouse. Restocks, returns,
adjustments and damages add about ten percent on top.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopflow_assets.generator import reference as ref
from shopflow_assets.generator.catalog import Sellable
from shopflow_assets.generator.formatting import (
    SECONDS_PER_DAY,
    codes,
    integers,
    labels,
    line_total_cents,
    money,
    timestamps,
)
from shopflow_assets.generator.frame import Frame
from shopflow_assets.generator.params import EXTRA_MOVEMENT_SHARE
from shopflow_assets.sources import SOURCES

STORES: tuple[str, ...] = (ref.WAREHOUSE, *ref.STORE_IDS)  # index 0 is the warehouse
_STORE_CHANNEL = ref.SALES_CHANNELS.index("store")
_CRM_CHANNELS = [ref.SALES_CHANNELS.index(c) for c in ref.CRM_CHANNELS]
_CANCELLED = ref.ORDER_STATUSES.index(ref.CANCELLED)
ID_WIDTH = 7


@dataclass(frozen=True)
class References:
    """What an order may point at on its day: sellable products and cleanly delivered customers."""

    products: Sellable
    crm_ids: pa.Array
    account_ids: pa.Array


@dataclass(frozen=True)
class Orders:
    """One day's orders as parallel arrays (indices into the reference vocabularies)."""

    day: date
    number: np.ndarray
    channel: np.ndarray
    customer_id: pa.Array
    product_id: pa.Array
    store: np.ndarray
    payment: np.ndarray
    quantity: np.ndarray
    unit_cents: np.ndarray
    discount: np.ndarray
    total_cents: np.ndarray
    status: np.ndarray
    second: np.ndarray

    def __len__(self) -> int:
        return len(self.number)

    def select(self, rows: np.ndarray) -> Orders:
        """A subset (boolean mask or positions), e.g. the orders that ship, or a truncated export."""
        taken = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pa.Array):
                index = np.flatnonzero(rows) if rows.dtype == bool else rows
                value = pc.take(value, pa.array(index))
            elif isinstance(value, np.ndarray):
                value = value[rows]
            taken[f.name] = value
        return Orders(**taken)


def _weighted(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> np.ndarray:
    p = np.array(weights)
    return rng.choice(len(p), size=size, p=p / p.sum())


def draw_orders(
    rng: np.random.Generator, day: date, count: int, first_number: int, refs: References
) -> Orders:
    channel = _weighted(rng, ref.SALES_CHANNEL_WEIGHTS, count)
    cdf = np.cumsum(np.array(ref.PAYMENT_WEIGHTS), axis=1)
    cdf /= cdf[:, -1:]
    payment = (rng.random(count)[:, None] >= cdf[channel]).sum(axis=1)
    store = np.where(channel == _STORE_CHANNEL, rng.integers(1, len(STORES), count), 0)
    if len(refs.crm_ids) == 0 or len(refs.account_ids) == 0:
        raise RuntimeError("no customer to reference: every CRM or web-shop record so far was defective")
    from_crm = pa.array(np.isin(channel, _CRM_CHANNELS))
    crm = pc.take(refs.crm_ids, pa.array(rng.integers(0, len(refs.crm_ids), count)))
    accounts = pc.take(refs.account_ids, pa.array(rng.integers(0, len(refs.account_ids), count)))
    product = rng.choice(len(refs.products.weights), size=count, p=refs.products.weights)
    quantity = np.minimum(rng.geometric(0.55, count), 10)
    discounts = np.array(ref.DISCOUNTS)[rng.integers(0, len(ref.DISCOUNTS), count)]
    discount = np.where(rng.random(count) < ref.DISCOUNT_SHARE, discounts, 0)
    unit_cents = refs.products.retail_cents[product]
    return Orders(
        day=day,
        number=np.arange(first_number, first_number + count),
        channel=channel,
        customer_id=pc.if_else(from_crm, crm, accounts),
        product_id=pc.take(refs.products.ids, pa.array(product)),
        store=store,
        payment=payment,
        quantity=quantity,
        unit_cents=unit_cents,
        discount=discount,
        total_cents=line_total_cents(quantity, unit_cents, discount),
        status=_weighted(rng, ref.ORDER_STATUS_WEIGHTS, count),
        second=np.sort(rng.integers(0, SECONDS_PER_DAY, count)),
    )


def orders_frame(orders: Orders) -> Frame:
    columns = {
        "order_id": codes(f"ORD-{orders.day:%Y%m%d}-", orders.number, ID_WIDTH),
        "customer_id": orders.customer_id,
        "product_id": orders.product_id,
        "store_id": labels(STORES, orders.store),
        "sales_channel": labels(ref.SALES_CHANNELS, orders.channel),
        "payment_method": labels(ref.PAYMENT_METHODS, orders.payment),
        "quantity": integers(orders.quantity),
        "unit_price": money(orders.unit_cents),
        "discount_percent": integers(orders.discount),
        "total": money(orders.total_cents),
        "status": labels(ref.ORDER_STATUSES, orders.status),
        "order_timestamp": timestamps(orders.day, orders.second),
    }
    return Frame(SOURCES["orders"], columns)


def _extra_quantities(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Signed quantity per movement type: restock and return add stock, damage removes it,
    adjustments go either way but are never zero."""
    size = len(kind)
    restock = rng.integers(10, 101, size)
    small = rng.integers(1, 4, size)
    adjustment = rng.integers(1, 6, size) * rng.choice([-1, 1], size)
    by_type = {"restock": restock, "return": small, "adjustment": adjustment, "damage": -small}
    names = np.array(ref.UPDATE_TYPES)[kind]
    quantity = np.zeros(size, dtype=np.int64)
    for name, values in by_type.items():
        quantity = np.where(names == name, values, quantity)
    return quantity


def movements_frame(rng: np.random.Generator, orders: Orders, products: Sellable, first_number: int) -> Frame:
    """A sale per shipped order, plus the extra movements, in time order."""
    shipped = orders.select(orders.status != _CANCELLED)
    extra = round(EXTRA_MOVEMENT_SHARE * len(shipped))
    extra_type = _weighted(rng, ref.EXTRA_UPDATE_WEIGHTS, extra) + 1  # 0 is "sale"
    extra_product = rng.choice(len(products.weights), size=extra, p=products.weights)
    store = np.concatenate([shipped.store, rng.integers(0, len(STORES), extra)])
    quantity = np.concatenate([-shipped.quantity, _extra_quantities(rng, extra_type)])
    kind = np.concatenate([np.zeros(len(shipped), dtype=np.int64), extra_type])
    second = np.concatenate([shipped.second, rng.integers(0, SECONDS_PER_DAY, extra)])
    product_id = pa.concat_arrays([shipped.product_id, pc.take(products.ids, pa.array(extra_product))])
    order = np.argsort(second, kind="stable")
    columns = {
        "update_id": codes(
            f"INV-{orders.day:%Y%m%d}-", np.arange(first_number, first_number + len(order)), ID_WIDTH
        ),
        "store_id": labels(STORES, store[order]),
        "product_id": pc.take(product_id, pa.array(order)),
        "quantity_change": integers(quantity[order]),
        "update_type": labels(ref.UPDATE_TYPES, kind[order]),
        "update_timestamp": timestamps(orders.day, second[order]),
    }
    return Frame(SOURCES["inventory"], columns)
