"""The silver contracts: one Pandera (polars) DataFrameModel per silver table.

Every check is named with the rule id that rules.yaml configures; nullability and uniqueness of
business keys are named checks too, so that each failure maps to exactly one rule. Columns are nullable
at the type level because a null key is a rule failure (with a severity and action), not a crash.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.model_config import BaseConfig

from shopflow_assets.assets.silver.tables import COLUMN_DESCRIPTIONS
from shopflow_assets.quality.rules import (  # noqa: F401  (RULE_NAMES re-exported for callers)
    CUSTOMER_TIERS,
    EMAIL_PATTERN,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    QUANTITY_RANGE,
    RULE_NAMES,
    SALES_CHANNELS,
    TOTAL_TOLERANCE,
    UPDATE_TYPES,
)


def _described(table: str, column: str) -> str:
    """The column's description, shared with the UI's column schema (silver/tables.py)."""
    return COLUMN_DESCRIPTIONS[table][column]


def _present(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_not_null())


def _unique(data: pa.PolarsData) -> pl.LazyFrame:
    """Unique among present values: a missing key is its own rule, not a duplicate."""
    key = pl.col(data.key)
    return data.lazyframe.select(key.is_null() | ~key.is_duplicated())


def _in(data: pa.PolarsData, allowed: list[str]) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_in(allowed).fill_null(True))


def _on_partition_day(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col(data.key).dt.date() == pl.col("_partition_date")).fill_null(True))


class _Contract(pa.DataFrameModel):
    class Config(BaseConfig):
        strict = False  # candidates carry lineage and helper columns the contract does not judge
        coerce = False


class OrdersContract(_Contract):
    order_id: str = pa.Field(nullable=True, description=_described("orders", "order_id"))
    customer_id: str = pa.Field(nullable=True, description=_described("orders", "customer_id"))
    customer_key: str = pa.Field(nullable=True, description=_described("orders", "customer_key"))
    product_id: str = pa.Field(nullable=True, description=_described("orders", "product_id"))
    sales_channel: str = pa.Field(nullable=True, description=_described("orders", "sales_channel"))
    payment_method: str = pa.Field(nullable=True, description=_described("orders", "payment_method"))
    quantity: pl.Int32 = pa.Field(nullable=True, description=_described("orders", "quantity"))
    unit_price: pl.Float64 = pa.Field(nullable=True, description=_described("orders", "unit_price"))
    discount_percent: pl.Float64 = pa.Field(
        nullable=True, description=_described("orders", "discount_percent")
    )
    total: pl.Float64 = pa.Field(nullable=True, description=_described("orders", "total"))
    status: str = pa.Field(nullable=True, description=_described("orders", "status"))
    order_timestamp: pl.Datetime = pa.Field(
        nullable=True, description=_described("orders", "order_timestamp")
    )

    @pa.check("order_id", name="order_id_not_null", ignore_na=False)
    def order_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("order_id", name="order_id_unique", ignore_na=False)
    def order_id_unique(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("customer_id", name="customer_id_not_null", ignore_na=False)
    def customer_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("product_id", name="product_id_not_null", ignore_na=False)
    def product_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("quantity", name="quantity_range", ignore_na=False)
    def quantity_range(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("quantity").is_between(*QUANTITY_RANGE).fill_null(False))

    @pa.check("unit_price", name="unit_price_valid", ignore_na=False)
    def unit_price_valid(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("unit_price") >= 0).fill_null(False))

    @pa.check("discount_percent", name="discount_range")
    def discount_range(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("discount_percent").is_between(0, 100).fill_null(True))

    @pa.check("status", name="status_allowed")
    def status_allowed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _in(data, ORDER_STATUSES)

    @pa.check("sales_channel", name="sales_channel_allowed")
    def sales_channel_allowed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _in(data, SALES_CHANNELS)

    @pa.check("payment_method", name="payment_method_allowed")
    def payment_method_allowed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _in(data, PAYMENT_METHODS)

    @pa.check("order_timestamp", name="timestamp_in_partition")
    def timestamp_in_partition(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _on_partition_day(data)

    @pa.dataframe_check(name="total_matches")
    def total_matches(cls, data: pa.PolarsData) -> pl.LazyFrame:
        expected = pl.col("quantity") * pl.col("unit_price") * (1 - pl.col("discount_percent") / 100)
        return data.lazyframe.select(
            ((pl.col("total") - expected).abs() <= TOTAL_TOLERANCE + 1e-9).fill_null(True)
        )

    @pa.dataframe_check(name="unknown_customer")
    def unknown_customer(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("customer_id").is_null() | pl.col("customer_key").is_not_null())

    @pa.dataframe_check(name="unknown_product")
    def unknown_product(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("product_id").is_null() | pl.col("_chk_product_known"))


class InventoryMovementsContract(_Contract):
    update_id: str = pa.Field(nullable=True, description=_described("inventory_movements", "update_id"))
    store_id: str = pa.Field(nullable=True, description=_described("inventory_movements", "store_id"))
    product_id: str = pa.Field(nullable=True, description=_described("inventory_movements", "product_id"))
    quantity_change: pl.Int32 = pa.Field(
        nullable=True, description=_described("inventory_movements", "quantity_change")
    )
    update_type: str = pa.Field(nullable=True, description=_described("inventory_movements", "update_type"))
    update_timestamp: pl.Datetime = pa.Field(
        nullable=True, description=_described("inventory_movements", "update_timestamp")
    )

    @pa.check("update_id", name="update_id_not_null", ignore_na=False)
    def update_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("update_id", name="update_id_unique", ignore_na=False)
    def update_id_unique(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("product_id", name="product_id_not_null", ignore_na=False)
    def product_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("store_id", name="store_id_not_null", ignore_na=False)
    def store_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("update_type", name="update_type_allowed", ignore_na=False)
    def update_type_allowed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("update_type").is_in(UPDATE_TYPES).fill_null(False))

    @pa.check("update_timestamp", name="timestamp_in_partition")
    def timestamp_in_partition(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _on_partition_day(data)

    @pa.dataframe_check(name="sign_matches_type")
    def sign_matches_type(cls, data: pa.PolarsData) -> pl.LazyFrame:
        kind, change = pl.col("update_type"), pl.col("quantity_change")
        ok = (
            pl.when(kind.is_in(["sale", "damage"]))
            .then(change < 0)
            .when(kind.is_in(["restock", "return"]))
            .then(change > 0)
            .otherwise(change != 0)
        )
        return data.lazyframe.select(ok.fill_null(True))

    @pa.dataframe_check(name="unknown_product")
    def unknown_product(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("product_id").is_null() | pl.col("_chk_product_known"))


class ProductsContract(_Contract):
    product_id: str = pa.Field(nullable=True, description=_described("products", "product_id"))
    name: str = pa.Field(nullable=True, description=_described("products", "name"))
    category: str = pa.Field(nullable=True, description=_described("products", "category"))
    cost_price: pl.Float64 = pa.Field(nullable=True, description=_described("products", "cost_price"))
    retail_price: pl.Float64 = pa.Field(nullable=True, description=_described("products", "retail_price"))

    @pa.check("product_id", name="product_id_not_null", ignore_na=False)
    def product_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("product_id", name="product_id_unique", ignore_na=False)
    def product_id_unique(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("name", name="name_present", ignore_na=False)
    def name_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("category", name="category_present", ignore_na=False)
    def category_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.dataframe_check(name="prices_valid")
    def prices_valid(cls, data: pa.PolarsData) -> pl.LazyFrame:
        retail, cost = pl.col("retail_price"), pl.col("cost_price")
        return data.lazyframe.select(((retail >= 0) & (cost.is_null() | (cost >= 0))).fill_null(False))

    @pa.dataframe_check(name="retail_not_below_cost")
    def retail_not_below_cost(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("retail_price") >= pl.col("cost_price")).fill_null(True))


class CustomersContract(_Contract):
    """Standardised source records (CRM profiles and web-shop accounts) before matching."""

    source_id: str = pa.Field(nullable=True, description=_described("customers", "source_id"))
    email: str = pa.Field(nullable=True, description=_described("customers", "email"))
    country: str = pa.Field(nullable=True, description=_described("customers", "country"))
    customer_tier: str = pa.Field(nullable=True, description=_described("customers", "customer_tier"))
    registration_date: pl.Date = pa.Field(
        nullable=True, description=_described("customers", "registration_date")
    )

    @pa.check("source_id", name="source_id_not_null", ignore_na=False)
    def source_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("source_id", name="source_id_unique", ignore_na=False)
    def source_id_unique(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("email", name="email_valid")
    def email_valid(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("email").str.contains(EMAIL_PATTERN).fill_null(True))

    @pa.check("country", name="country_code_valid")
    def country_code_valid(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("country").str.contains(r"^[A-Z]{2}$").fill_null(True))

    @pa.check("customer_tier", name="tier_allowed")
    def tier_allowed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _in(data, CUSTOMER_TIERS)

    @pa.check("registration_date", name="registration_not_future")
    def registration_not_future(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("registration_date") <= pl.col("_partition_date")).fill_null(True)
        )


class CampaignPerformanceContract(_Contract):
    campaign_id: str = pa.Field(nullable=True, description=_described("campaign_performance", "campaign_id"))
    impressions: pl.Int64 = pa.Field(
        nullable=True, description=_described("campaign_performance", "impressions")
    )
    clicks: pl.Int64 = pa.Field(nullable=True, description=_described("campaign_performance", "clicks"))
    conversions: pl.Int64 = pa.Field(
        nullable=True, description=_described("campaign_performance", "conversions")
    )
    spend: pl.Float64 = pa.Field(nullable=True, description=_described("campaign_performance", "spend"))
    revenue: pl.Float64 = pa.Field(nullable=True, description=_described("campaign_performance", "revenue"))

    @pa.check("campaign_id", name="campaign_id_not_null", ignore_na=False)
    def campaign_id_not_null(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _present(data)

    @pa.check("campaign_id", name="campaign_id_unique", ignore_na=False)
    def campaign_id_unique(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.dataframe_check(name="metrics_non_negative")
    def metrics_non_negative(cls, data: pa.PolarsData) -> pl.LazyFrame:
        metrics = ["impressions", "clicks", "conversions", "spend", "revenue"]
        return data.lazyframe.select(pl.all_horizontal([(pl.col(m) >= 0).fill_null(True) for m in metrics]))

    @pa.dataframe_check(name="clicks_within_impressions")
    def clicks_within_impressions(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("clicks") <= pl.col("impressions")).fill_null(True))

    @pa.dataframe_check(name="conversions_within_clicks")
    def conversions_within_clicks(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("conversions") <= pl.col("clicks")).fill_null(True))

    @pa.dataframe_check(name="dates_ordered")
    def dates_ordered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("end_date") >= pl.col("start_date")).fill_null(True))


CONTRACTS: dict[str, type[_Contract]] = {
    "orders": OrdersContract,
    "inventory_movements": InventoryMovementsContract,
    "products": ProductsContract,
    "customers": CustomersContract,
    "campaign_performance": CampaignPerformanceContract,
}
