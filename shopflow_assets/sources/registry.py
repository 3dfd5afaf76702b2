"""One entry per landing source.

Assets, checks, sensors and the generator are all built from this table, so adding a source is
adding an entry here (plus, later, its silver contract), never a new module of boilerplate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def _cols(*specs: str | tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    out = []
    for s in specs:
        out.append(Column(s) if isinstance(s, str) else Column(*s))
    return tuple(out)


SOURCES: dict[str, SourceSpec] = {
    s.name: s
    for s in (
        SourceSpec(
            name="orders",
            format="csv",
            extensions=(".csv",),
            key="order_id",
            description="Point-of-sale and web-shop orders, one CSV per day.",
            columns=_cols(
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
        ),
        SourceSpec(
            name="inventory",
            format="csv",
            extensions=(".csv",),
            key="update_id",
            description="Stock movements per store and product, one CSV per day.",
            columns=_cols(
                "update_id",
                "store_id",
                "product_id",
                ("quantity_change", "INTEGER"),
                "update_type",
                ("update_timestamp", "TIMESTAMP"),
            ),
        ),
        SourceSpec(
            name="products",
            format="json",
            extensions=(".json",),
            key="product_id",
            description="Product catalog: the full set on the first day, then new and changed products.",
            records_path="$.products",
            document_columns=(Column("snapshot_date", "DATE", "$.snapshot_date"),),
            columns=_cols(
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
        ),
        SourceSpec(
            name="customers",
            format="parquet",
            extensions=(".parquet",),
            key="customer_id",
            description="CRM customer profiles (Parquet export): full set, then new and changed.",
            columns=_cols(
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
        ),
        SourceSpec(
            name="accounts",
            format="json",
            extensions=(".json",),
            key="id",
            description="Web-shop accounts (nested JSON): full set, then new and changed.",
            records_path="$.accounts",
            columns=_cols(
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
        ),
        SourceSpec(
            name="campaigns",
            format="json",
            extensions=(".json",),
            key="campaign_id",
            description="Marketing campaigns with their running performance (JSON array).",
            records_path="$",
            columns=_cols(
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
        ),
    )
}


def get_source(name: str) -> SourceSpec:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None
