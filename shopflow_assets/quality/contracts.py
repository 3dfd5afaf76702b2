"""The silver contracts: one Pandera (polars) schema per silver table, where each quality rule is declared once.

A rule is either Pandera's own `nullable=False` on a column (rule id `<column>_not_null`), or a check
whose `name` is the rule id and whose `title` is the readable name shown in checks, quarantine reasons
and reports. Built-in checks (`isin`, `in_range`, `ge`, `str_matches`) are used where they fit; the
others are named custom checks. A check that explains its failures with other columns than its own
says so in `columns=` (passed to the check function, and kept in the check's statistics), which the
quarantine reason and the report's failing-record detail show. rules.yaml only configures severity,
action and thresholds of the rule ids found here (quality/validate.py: `contract_rules`).

Within a day, duplicate keys are removed before validation (meta.removed_duplicates), so uniqueness
is a cross-day rule: `<key>_unique` fails for a record whose key was already delivered (is in bronze)
on an earlier day; the build fills FIRST_DELIVERED from bronze before validating.
"""

from __future__ import annotations

from collections.abc import Callable

import pandera.polars as pa
import polars as pl

from shopflow_assets.defs.silver.tables import COLUMN_DESCRIPTIONS
from shopflow_assets.quality.rules import (
    CUSTOMER_TIERS,
    EMAIL_PATTERN,
    FIRST_DELIVERED,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    QUANTITY_RANGE,
    SALES_CHANNELS,
    TOTAL_TOLERANCE,
    UPDATE_TYPES,
)

Frame = Callable[..., pl.LazyFrame]


def _one_of(values: list[str]) -> str:
    return ", ".join(values)


def _column(table: str, name: str, dtype: object, *checks: pa.Check, required: bool = False) -> pa.Column:
    """A contract column; `required` makes a missing value the rule `<name>_not_null` (Pandera's nullable)."""
    return pa.Column(
        dtype, checks=list(checks), nullable=not required, description=COLUMN_DESCRIPTIONS[table][name]
    )


def _rule(fn: Frame, name: str, title: str, columns: tuple[str, ...]) -> pa.Check:
    """A named custom check; `columns` are the values that explain a failure."""
    return pa.Check(fn, name=name, title=title, columns=columns)


def _first_delivery(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(FIRST_DELIVERED).is_null())


def _unique_across_days(key: str) -> pa.Check:
    return _rule(
        _first_delivery, f"{key}_unique", f"{key} not already delivered on an earlier day",
        (key, FIRST_DELIVERED, "_partition_date"),
    )  # fmt: skip


def _on_partition_day(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col(data.key).dt.date() == pl.col("_partition_date")).fill_null(True))


def _timestamp_in_partition(column: str) -> pa.Check:
    return _rule(
        _on_partition_day, "timestamp_in_partition", "timestamp falls on the file's business date", (column,)
    )


def _total_matches(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    expected = pl.col("quantity") * pl.col("unit_price") * (1 - pl.col("discount_percent") / 100)
    return data.lazyframe.select(
        ((pl.col("total") - expected).abs() <= TOTAL_TOLERANCE + 1e-9).fill_null(True)
    )


def _customer_known(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("customer_id").is_null() | pl.col("customer_key").is_not_null())


def _product_known(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("product_id").is_null() | pl.col("_chk_product_known"))


UNKNOWN_PRODUCT = _rule(_product_known, "unknown_product", "product is in the catalog", ("product_id",))


def _sign_matches_type(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    kind, change = pl.col("update_type"), pl.col("quantity_change")
    ok = (
        pl.when(kind.is_in(["sale", "damage"]))
        .then(change < 0)
        .when(kind.is_in(["restock", "return"]))
        .then(change > 0)
        .otherwise(change != 0)
    )
    return data.lazyframe.select(ok.fill_null(True))


def _present(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_not_null())


def _prices_valid(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    retail, cost = pl.col("retail_price"), pl.col("cost_price")
    return data.lazyframe.select(((retail >= 0) & (cost.is_null() | (cost >= 0))).fill_null(False))


def _retail_not_below_cost(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("retail_price") >= pl.col("cost_price")).fill_null(True))


def _not_after_business_day(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col(data.key) <= pl.col("_partition_date")).fill_null(True))


METRICS = ("impressions", "clicks", "conversions", "spend", "revenue")


def _metrics_non_negative(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    return data.lazyframe.select(pl.all_horizontal([(pl.col(m) >= 0).fill_null(True) for m in METRICS]))


def _not_above(data: pa.PolarsData, columns: tuple[str, ...]) -> pl.LazyFrame:
    """The first column is not above the second."""
    low, high = columns
    return data.lazyframe.select((pl.col(low) <= pl.col(high)).fill_null(True))


def _contract(name: str, columns: dict[str, pa.Column], checks: list[pa.Check] = ()) -> pa.DataFrameSchema:
    # strict=False: candidates carry lineage and helper columns the contract does not judge.
    return pa.DataFrameSchema(columns, checks=list(checks), name=name, strict=False, coerce=False)


def _orders() -> pa.DataFrameSchema:
    t = "orders"
    return _contract("OrdersContract", {
        "order_id": _column(t, "order_id", pl.String, _unique_across_days("order_id"), required=True),
        "customer_id": _column(t, "customer_id", pl.String, required=True),
        "customer_key": _column(t, "customer_key", pl.String),
        "product_id": _column(t, "product_id", pl.String, required=True),
        "sales_channel": _column(t, "sales_channel", pl.String, pa.Check.isin(
            SALES_CHANNELS, name="sales_channel_allowed", title=f"sales_channel is one of {_one_of(SALES_CHANNELS)}")),
        "payment_method": _column(t, "payment_method", pl.String, pa.Check.isin(
            PAYMENT_METHODS, name="payment_method_allowed",
            title=f"payment_method is one of {_one_of(PAYMENT_METHODS)}")),
        "quantity": _column(t, "quantity", pl.Int32, pa.Check.in_range(
            *QUANTITY_RANGE, name="quantity_range", ignore_na=False,
            title=f"quantity between {QUANTITY_RANGE[0]} and {QUANTITY_RANGE[1]}")),
        "unit_price": _column(t, "unit_price", pl.Float64, pa.Check.ge(
            0, name="unit_price_valid", ignore_na=False, title="unit_price is present and not negative")),
        "discount_percent": _column(t, "discount_percent", pl.Float64, pa.Check.in_range(
            0, 100, name="discount_range", title="discount_percent between 0 and 100")),
        "total": _column(t, "total", pl.Float64),
        "status": _column(t, "status", pl.String, pa.Check.isin(
            ORDER_STATUSES, name="status_allowed", title=f"status is one of {_one_of(ORDER_STATUSES)}")),
        "order_timestamp": _column(t, "order_timestamp", pl.Datetime, _timestamp_in_partition("order_timestamp")),
    }, [
        _rule(_total_matches, "total_matches",
              f"total = quantity x unit_price x (1 - discount/100) within {TOTAL_TOLERANCE}",
              ("quantity", "unit_price", "discount_percent", "total")),
        _rule(_customer_known, "unknown_customer", "customer is known to the customer master", ("customer_id",)),
        UNKNOWN_PRODUCT,
    ])  # fmt: skip


def _inventory_movements() -> pa.DataFrameSchema:
    t = "inventory_movements"
    return _contract("InventoryMovementsContract", {
        "update_id": _column(t, "update_id", pl.String, _unique_across_days("update_id"), required=True),
        "store_id": _column(t, "store_id", pl.String, required=True),
        "product_id": _column(t, "product_id", pl.String, required=True),
        "quantity_change": _column(t, "quantity_change", pl.Int32),
        "update_type": _column(t, "update_type", pl.String, pa.Check.isin(
            UPDATE_TYPES, name="update_type_allowed", ignore_na=False,
            title=f"update_type is one of {_one_of(UPDATE_TYPES)}")),
        "update_timestamp": _column(t, "update_timestamp", pl.Datetime, _timestamp_in_partition("update_timestamp")),
    }, [
        _rule(_sign_matches_type, "sign_matches_type",
              "quantity_change sign matches update_type (sale/damage < 0, restock/return > 0)",
              ("update_type", "quantity_change")),
        UNKNOWN_PRODUCT,
    ])  # fmt: skip


def _products() -> pa.DataFrameSchema:
    # A catalog is a snapshot: the same product is delivered every day, so no cross-day uniqueness.
    t = "products"
    return _contract("ProductsContract", {
        "product_id": _column(t, "product_id", pl.String, required=True),
        "name": _column(t, "name", pl.String, _rule(_present, "name_present", "product name is present", ("name",))),
        "category": _column(t, "category", pl.String, _rule(
            _present, "category_present", "product category is present", ("category",))),
        "cost_price": _column(t, "cost_price", pl.Float64),
        "retail_price": _column(t, "retail_price", pl.Float64),
    }, [
        _rule(_prices_valid, "prices_valid", "retail_price present, prices not negative",
              ("cost_price", "retail_price")),
        _rule(_retail_not_below_cost, "retail_not_below_cost", "retail_price >= cost_price",
              ("cost_price", "retail_price")),
    ])  # fmt: skip


def _customers() -> pa.DataFrameSchema:
    """Standardised source records (CRM profiles and web-shop accounts) before matching; a snapshot."""
    t = "customers"
    return _contract("CustomersContract", {
        "source_id": _column(t, "source_id", pl.String, required=True),
        "email": _column(t, "email", pl.String, pa.Check.str_matches(
            EMAIL_PATTERN, name="email_valid", title="email is a valid address")),
        "country": _column(t, "country", pl.String, pa.Check.str_matches(
            r"^[A-Z]{2}$", name="country_code_valid", title="country is an ISO alpha-2 code")),
        "customer_tier": _column(t, "customer_tier", pl.String, pa.Check.isin(
            CUSTOMER_TIERS, name="tier_allowed", title=f"customer_tier is one of {_one_of(CUSTOMER_TIERS)}")),
        "registration_date": _column(t, "registration_date", pl.Date, _rule(
            _not_after_business_day, "registration_not_future", "registration date is not after the business date",
            ("registration_date",))),
    })  # fmt: skip


def _campaign_performance() -> pa.DataFrameSchema:
    # Performance is delivered again every day for a running campaign: no cross-day uniqueness.
    t = "campaign_performance"
    return _contract("CampaignPerformanceContract", {
        "campaign_id": _column(t, "campaign_id", pl.String, required=True),
        **{m: _column(t, m, pl.Float64 if m in ("spend", "revenue") else pl.Int64) for m in METRICS},
    }, [
        _rule(_metrics_non_negative, "metrics_non_negative", f"{', '.join(METRICS)} are not negative", METRICS),
        _rule(_not_above, "clicks_within_impressions", "clicks <= impressions", ("clicks", "impressions")),
        _rule(_not_above, "conversions_within_clicks", "conversions <= clicks", ("conversions", "clicks")),
        _rule(_not_above, "dates_ordered", "end_date >= start_date", ("start_date", "end_date")),
    ])  # fmt: skip


CONTRACTS: dict[str, pa.DataFrameSchema] = {
    "orders": _orders(),
    "inventory_movements": _inventory_movements(),
    "products": _products(),
    "customers": _customers(),
    "campaign_performance": _campaign_performance(),
}
