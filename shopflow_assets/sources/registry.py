"""One entry per landing source.

Assets, checks, sensors and the generator are all built from this table, so adding a source is
adding an entry here (plus, later, its silver contract), never a new module of boilerplate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

FileFormat = Literal["csv", "json", "parquet"]


@dataclass(frozen=True)
class Column:
    """A delivered field and the DuckDB type bronze stores it as.

    ``path`` is the JSON path inside one record (nested fields are flattened into
    ``<parent>_<leaf>`` names); CSV and Parquet columns are matched by name.
    """

    name: str
    type: str = "VARCHAR"
    path: str | None = None
    description: str | None = None  # shown in the UI's column schema of bronze.<source>

    @property
    def json_path(self) -> str:
        return self.path or f"$.{self.name}"


@dataclass(frozen=True)
class SourceSpec:
    name: str
    format: FileFormat
    extensions: tuple[str, ...]
    columns: tuple[Column, ...]
    key: str
    description: str
    # JSON only: where the record array sits in the document ("$" for a top-level array),
    # and document-level fields copied onto every record.
    records_path: str = "$"
    document_columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.document_columns + self.columns

    @property
    def column_descriptions(self) -> dict[str, str]:
        return {c.name: c.description for c in self.all_columns if c.description}


def _cols(*specs: str | tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    out = []
    for s in specs:
        out.append(Column(s) if isinstance(s, str) else Column(*s))
    return tuple(out)


def _described(columns: tuple[Column, ...], **descriptions: str) -> tuple[Column, ...]:
    """The columns with their descriptions; every column must have one."""
    missing = {c.name for c in columns} - set(descriptions)
    extra = set(descriptions) - {c.name for c in columns}
    if missing or extra:
        raise ValueError(f"column descriptions: missing {sorted(missing)}, unknown {sorted(extra)}")
    return tuple(replace(c, description=descriptions[c.name]) for c in columns)


SOURCES: dict[str, SourceSpec] = {
    s.name: s
    for s in (
        SourceSpec(
            name="orders",
            format="csv",
            extensions=(".csv",),
            key="order_id",
            description="Point-of-sale and web-shop orders, one CSV per day.",
            columns=_described(
                _cols(
                    "order_id",
                    "customer_id",
                    "product_id",
                    "store_id",
                    "sales_channel",
                    "payment_method",
                    ("quantity", "INTEGER"),
                    ("unit_price", "DECIMAL(12,2)"),
                    ("discount_percent", "DECIMAL(5,2)"),
                    ("total", "DECIMAL(14,2)"),
                    "status",
                    ("order_timestamp", "TIMESTAMP"),
                ),
                order_id="Order id (business key).",
                customer_id="CRM or web-shop customer id.",
                product_id="Product id.",
                store_id="Store or web shop that took the order.",
                sales_channel="Sales channel as delivered.",
                payment_method="Payment method as delivered.",
                quantity="Units ordered.",
                unit_price="Price per unit.",
                discount_percent="Discount in percent.",
                total="Order total as delivered.",
                status="Order status as delivered.",
                order_timestamp="When the order was placed.",
            ),
        ),
        SourceSpec(
            name="inventory",
            format="csv",
            extensions=(".csv",),
            key="update_id",
            description="Stock movements per store and product, one CSV per day.",
            columns=_described(
                _cols(
                    "update_id",
                    "store_id",
                    "product_id",
                    ("quantity_change", "INTEGER"),
                    "update_type",
                    ("update_timestamp", "TIMESTAMP"),
                ),
                update_id="Stock movement id (business key).",
                store_id="Store whose stock changed.",
                product_id="Product id.",
                quantity_change="Signed change in units.",
                update_type="Movement type as delivered.",
                update_timestamp="When the movement happened.",
            ),
        ),
        SourceSpec(
            name="products",
            format="json",
            extensions=(".json",),
            key="product_id",
            description="Product catalog: the full set on the first day, then new and changed products.",
            records_path="$.products",
            document_columns=(
                Column("snapshot_date", "DATE", "$.snapshot_date", "Date of the catalog file."),
            ),
            columns=_described(
                _cols(
                    "product_id",
                    "name",
                    "category",
                    "brand",
                    "supplier",
                    ("cost_price", "DECIMAL(12,2)"),
                    ("retail_price", "DECIMAL(12,2)"),
                    ("active", "BOOLEAN"),
                    ("last_updated", "TIMESTAMP"),
                ),
                product_id="Product id (business key).",
                name="Product name.",
                category="Product category.",
                brand="Brand.",
                supplier="Supplier.",
                cost_price="Purchase price per unit.",
                retail_price="Selling price per unit.",
                active="Whether the product is on sale.",
                last_updated="When the source last changed the product.",
            ),
        ),
        SourceSpec(
            name="customers",
            format="parquet",
            extensions=(".parquet",),
            key="customer_id",
            description="CRM customer profiles (Parquet export): full set, then new and changed.",
            columns=_described(
                _cols(
                    "customer_id",
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "country",
                    "city",
                    ("registration_date", "DATE"),
                    "customer_tier",
                    ("preferred_categories", "VARCHAR[]"),
                    ("updated_at", "TIMESTAMP"),
                ),
                customer_id="CRM customer id (business key).",
                first_name="First name.",
                last_name="Last name.",
                email="E-mail.",
                phone="Phone number as delivered.",
                country="Country.",
                city="City.",
                registration_date="When the customer registered.",
                customer_tier="Loyalty tier.",
                preferred_categories="Preferred product categories.",
                updated_at="When the CRM last changed the profile.",
            ),
        ),
        SourceSpec(
            name="accounts",
            format="json",
            extensions=(".json",),
            key="id",
            description="Web-shop accounts (nested JSON): full set, then new and changed.",
            records_path="$.accounts",
            columns=_described(
                _cols(
                    "id",
                    ("name_first", "VARCHAR", "$.name.first"),
                    ("name_last", "VARCHAR", "$.name.last"),
                    ("contact_email", "VARCHAR", "$.contact.email"),
                    ("contact_phone", "VARCHAR", "$.contact.phone"),
                    ("address_country", "VARCHAR", "$.address.country"),
                    ("address_city", "VARCHAR", "$.address.city"),
                    ("registered", "TIMESTAMP"),
                    ("orders_count", "INTEGER"),
                    ("marketing_opt_in", "BOOLEAN"),
                ),
                id="Web-shop account id (business key).",
                name_first="First name (name.first).",
                name_last="Last name (name.last).",
                contact_email="E-mail (contact.email).",
                contact_phone="Phone (contact.phone).",
                address_country="Country (address.country).",
                address_city="City (address.city).",
                registered="When the account was created.",
                orders_count="Orders placed with the account.",
                marketing_opt_in="Marketing consent.",
            ),
        ),
        SourceSpec(
            name="campaigns",
            format="json",
            extensions=(".json",),
            key="campaign_id",
            description="Marketing campaigns with their running performance (JSON array).",
            records_path="$",
            columns=_described(
                _cols(
                    "campaign_id",
                    "name",
                    "channel",
                    ("start_date", "DATE"),
                    ("end_date", "DATE"),
                    ("target_categories", "VARCHAR[]"),
                    ("budget", "DECIMAL(14,2)"),
                    ("performance_impressions", "BIGINT", "$.performance.impressions"),
                    ("performance_clicks", "BIGINT", "$.performance.clicks"),
                    ("performance_conversions", "BIGINT", "$.performance.conversions"),
                    ("performance_spend", "DECIMAL(14,2)", "$.performance.spend"),
                    ("performance_revenue", "DECIMAL(14,2)", "$.performance.revenue"),
                ),
                campaign_id="Campaign id (business key).",
                name="Campaign name.",
                channel="Marketing channel.",
                start_date="First day of the campaign.",
                end_date="Last day of the campaign.",
                target_categories="Targeted product categories.",
                budget="Planned budget.",
                performance_impressions="Impressions so far (performance.impressions).",
                performance_clicks="Clicks so far (performance.clicks).",
                performance_conversions="Conversions so far (performance.conversions).",
                performance_spend="Money spent so far (performance.spend).",
                performance_revenue="Attributed revenue so far (performance.revenue).",
            ),
        ),
    )
}


def get_source(name: str) -> SourceSpec:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None
