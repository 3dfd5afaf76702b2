"""The silver tables as data: where each one's candidate records come from and how they are keyed.

Candidates are bronze records typed, trimmed and standardised in SQL, before any rule is applied.
The build (build.py) deduplicates them, validates them with the table's Pandera contract and
routes them to silver, quarantine or the duplicates log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shopflow_assets.lib.sql import sql_str

CandidateSql = Callable[[date, date], str]


@dataclass(frozen=True)
class SilverTable:
    name: str
    bronze: tuple[str, ...]  # bronze tables the candidates come from
    key: str  # business key: deduplication and quarantine record_key
    candidates: CandidateSql  # SELECT of the candidates delivered in [from, end)
    description: str
    versioned: bool = False  # True: master data kept as versions (valid_from/valid_to) built from the ledger
    silver_deps: tuple[str, ...] = ()  # other silver assets the candidates look things up in
    extra_columns: tuple[str, ...] = ()  # non-contract columns the contract's checks read
    ledger: str | None = None  # silver table with one row per accepted record (default: the table)

    @property
    def ledger_table(self) -> str:
        return self.ledger or self.name


def _window(alias: str, start: date, end: date) -> str:
    return (
        f"{alias}._partition_date >= DATE {sql_str(start.isoformat())} "
        f"AND {alias}._partition_date < DATE {sql_str(end.isoformat())}"
    )


def _text(expr: str) -> str:
    return f"NULLIF(trim({expr}), '')"


def _lower(expr: str) -> str:
    return f"lower({_text(expr)})"


LINEAGE = "_partition_date, _source_file, _record_number"

# Other silver tables the candidates look up, as `lookup_<name>` views with just these columns.
# Before the first build of a lookup table the view is empty, so orders that arrive before any
# catalog or customer file are kept and flagged as unknown instead of failing the run.
LOOKUP_COLUMNS: dict[str, dict[str, str]] = {
    "customer_id_map": {
        "source_id": "VARCHAR",
        "customer_key": "VARCHAR",
        "valid_from": "DATE",
        "valid_to": "DATE",
    },
    "products": {"product_id": "VARCHAR", "valid_from": "DATE", "valid_to": "DATE"},
}


def lookup_time(alias: str, column: str) -> str:
    """The moment a record resolves master data at: its own timestamp, or its day when that is missing."""
    return f"coalesce({alias}.{column}, {alias}._partition_date::TIMESTAMP)"


def valid_at(alias: str, moment: str) -> str:
    """The version valid at `moment`: versions are half-open [valid_from, valid_to) in whole UTC days."""
    return f"{alias}.valid_from <= {moment} AND ({alias}.valid_to IS NULL OR {moment} < {alias}.valid_to)"


def orders_candidates(start: date, end: date) -> str:
    # Customers and products resolve against the master-data versions valid at the order's own
    # timestamp, whether or not a catalog or CRM file arrived that day.
    at = lookup_time("o", "order_timestamp")
    return f"""
    SELECT {_text("o.order_id")} AS order_id, {_text("o.customer_id")} AS customer_id, m.customer_key,
           {_text("o.product_id")} AS product_id, {_text("o.store_id")} AS store_id,
           {_lower("o.sales_channel")} AS sales_channel, {_lower("o.payment_method")} AS payment_method,
           o.quantity, o.unit_price, o.discount_percent, o.total,
           round(o.quantity * o.unit_price * (1 - o.discount_percent / 100), 2)::DECIMAL(14, 2) AS net_amount,
           {_lower("o.status")} AS status, o.order_timestamp,
           p.product_id IS NOT NULL AS _chk_product_known,
           o._partition_date, o._source_file, o._record_number
    FROM bronze.orders o
    LEFT JOIN lookup_customer_id_map m ON m.source_id = {_text("o.customer_id")} AND {valid_at("m", at)}
    LEFT JOIN lookup_products p ON p.product_id = {_text("o.product_id")} AND {valid_at("p", at)}
    WHERE {_window("o", start, end)}"""


def inventory_candidates(start: date, end: date) -> str:
    at = lookup_time("i", "update_timestamp")
    return f"""
    SELECT {_text("i.update_id")} AS update_id, {_text("i.store_id")} AS store_id,
           {_text("i.product_id")} AS product_id, i.quantity_change, {_lower("i.update_type")} AS update_type,
           i.update_timestamp, p.product_id IS NOT NULL AS _chk_product_known,
           i._partition_date, i._source_file, i._record_number
    FROM bronze.inventory i
    LEFT JOIN lookup_products p ON p.product_id = {_text("i.product_id")} AND {valid_at("p", at)}
    WHERE {_window("i", start, end)}"""


def products_candidates(start: date, end: date) -> str:
    return f"""
    SELECT {_text("product_id")} AS product_id, {_text("name")} AS name, {_lower("category")} AS category,
           {_text("brand")} AS brand, {_text("supplier")} AS supplier, cost_price, retail_price, active,
           last_updated, snapshot_date, {LINEAGE}
    FROM bronze.products b WHERE {_window("b", start, end)}"""


def customers_candidates(start: date, end: date) -> str:
    """CRM profiles and web-shop accounts in one standardised shape."""
    return f"""
    SELECT 'crm' AS source_system, {_text("customer_id")} AS source_id,
           title_case(first_name) AS first_name, title_case(last_name) AS last_name,
           {_lower("email")} AS email, NULLIF(regexp_replace(phone, '[^0-9]', '', 'g'), '') AS phone,
           upper({_text("country")}) AS country, title_case(city) AS city, registration_date,
           {_lower("customer_tier")} AS customer_tier, preferred_categories,
           NULL::BOOLEAN AS marketing_opt_in, updated_at, {LINEAGE}
    FROM bronze.customers b WHERE {_window("b", start, end)}
    UNION ALL
    SELECT 'webshop', {_text("id")}, title_case(name_first), title_case(name_last),
           {_lower("contact_email")}, NULLIF(regexp_replace(contact_phone, '[^0-9]', '', 'g'), ''),
           upper({_text("address_country")}), title_case(address_city), registered::DATE,
           NULL, NULL, marketing_opt_in, registered, {LINEAGE}
    FROM bronze.accounts b WHERE {_window("b", start, end)}"""


def campaigns_candidates(start: date, end: date) -> str:
    return f"""
    SELECT {_text("campaign_id")} AS campaign_id, {_text("name")} AS name, {_lower("channel")} AS channel,
           start_date, end_date, target_categories, budget,
           performance_impressions AS impressions, performance_clicks AS clicks,
           performance_conversions AS conversions, performance_spend AS spend, performance_revenue AS revenue,
           round(performance_clicks / NULLIF(performance_impressions, 0), 6) AS ctr,
           round(performance_conversions / NULLIF(performance_clicks, 0), 6) AS conversion_rate,
           round(performance_spend / NULLIF(performance_conversions, 0), 4) AS cost_per_conversion,
           round(performance_revenue / NULLIF(performance_spend, 0), 4) AS roas,
           {LINEAGE}
    FROM bronze.campaigns b WHERE {_window("b", start, end)}"""


SILVER_TABLES: dict[str, SilverTable] = {
    t.name: t
    for t in (
        SilverTable(
            name="products",
            bronze=("products",),
            key="product_id",
            candidates=products_candidates,
            versioned=True,
            ledger="product_deliveries",
            description="The product catalog as versioned history: one row per product per change "
            "(valid_from/valid_to), with margin.",
        ),
        SilverTable(
            name="customers",
            bronze=("customers", "accounts"),
            key="source_id",
            candidates=customers_candidates,
            versioned=True,
            ledger="customer_deliveries",
            extra_columns=("_partition_date",),
            description="The customer master as versioned history: CRM and web-shop records matched into "
            "one person, one row per person per change (valid_from/valid_to).",
        ),
        SilverTable(
            name="orders",
            bronze=("orders",),
            key="order_id",
            candidates=orders_candidates,
            silver_deps=("customer_id_map", "products"),
            extra_columns=("_partition_date", "_chk_product_known"),
            description="Orders: typed, cleaned, deduplicated, net_amount recomputed, customer_key resolved.",
        ),
        SilverTable(
            name="inventory_movements",
            bronze=("inventory",),
            key="update_id",
            candidates=inventory_candidates,
            silver_deps=("products",),
            extra_columns=("_partition_date", "_chk_product_known"),
            description="Stock movements: typed, update_type normalised, sign checked against the type.",
        ),
        SilverTable(
            name="campaign_performance",
            bronze=("campaigns",),
            key="campaign_id",
            candidates=campaigns_candidates,
            extra_columns=("start_date", "end_date"),
            description="Campaign performance flattened, with CTR, conversion rate, cost per conversion and ROAS.",
        ),
    )
}


# Column descriptions the UI shows in each silver asset's column schema. Plain data, so the code
# location describes its columns without loading Pandera; the contracts' Fields take theirs from here.
LINEAGE_DESCRIPTIONS: dict[str, str] = {
    "_partition_date": "Business day (partition) the record was delivered for.",
    "_source_file": "Landing file the record came from, relative to the landing root.",
    "_record_number": "Record number within its landing file (1-based, records not lines).",
    "_flags": "Ids of the non-rejecting rules this record failed (empty: clean).",
    "_run_id": "Dagster run that wrote the row.",
    "_processed_at": "When the row was written to silver (UTC).",
    "_delivered_on": "Day the record (of the version's source id) was delivered.",
    "valid_from": "First day (00:00 UTC) the version is valid: the delivery day that opened it.",
    "valid_to": "Day (00:00 UTC) the version stopped being valid (exclusive); null while current.",
    "is_current": "Whether the version is valid now (valid_to is null).",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "orders": {
        "order_id": "Order id from the source system (business key).",
        "customer_id": "Customer id as delivered (CRM or web-shop id).",
        "customer_key": "Matched person in silver.customers; null when the id is unknown at the order's timestamp.",
        "product_id": "Product id; flagged when no catalog version is valid at the order's timestamp.",
        "store_id": "Store (or web shop) that took the order.",
        "sales_channel": "Lower-cased sales channel (store, web, ...).",
        "payment_method": "Lower-cased payment method.",
        "quantity": "Units ordered.",
        "unit_price": "Price per unit as delivered.",
        "discount_percent": "Discount in percent (0-100).",
        "total": "Order total as delivered.",
        "net_amount": "Recomputed quantity x unit_price x (1 - discount), rounded to cents.",
        "status": "Lower-cased order status.",
        "order_timestamp": "When the order was placed.",
    },
    "inventory_movements": {
        "update_id": "Stock movement id (business key).",
        "store_id": "Store whose stock changed.",
        "product_id": "Product whose stock changed; flagged when no catalog version is valid at its timestamp.",
        "quantity_change": "Signed change in units; the sign must match update_type.",
        "update_type": "Lower-cased movement type (sale, restock, return, damage, ...).",
        "update_timestamp": "When the movement happened.",
    },
    "products": {
        "product_id": "Product id (business key).",
        "name": "Product name.",
        "category": "Lower-cased product category.",
        "brand": "Brand.",
        "supplier": "Supplier.",
        "cost_price": "Purchase price per unit.",
        "retail_price": "Selling price per unit.",
        "active": "Whether the product is on sale.",
        "last_updated": "When the source last changed the product.",
        "snapshot_date": "Date of the catalog file the version came from.",
        "margin": "retail_price - cost_price.",
        "margin_pct": "Margin in percent of retail_price.",
    },
    "customers": {
        "customer_key": "The matched person: one key for all their CRM and web-shop ids.",
        "source_system": "Where the record came from: crm or webshop.",
        "source_id": "Id in the source system (business key).",
        "first_name": "First name, title-cased.",
        "last_name": "Last name, title-cased.",
        "email": "Lower-cased, trimmed e-mail.",
        "phone": "Phone number, digits only.",
        "country": "Upper-cased ISO country code.",
        "city": "City, title-cased.",
        "registration_date": "When the customer registered.",
        "customer_tier": "Lower-cased CRM loyalty tier (null for web-shop accounts).",
        "preferred_categories": "CRM preferred product categories.",
        "marketing_opt_in": "Web-shop marketing consent (null for CRM profiles).",
        "updated_at": "When the source last changed the record.",
        "source_ids": "All source ids matched into this person.",
        "source_systems": "Source systems the person's records come from.",
        "record_count": "Number of source records matched into this person.",
    },
    "customer_id_map": {
        "source_system": "crm or webshop.",
        "source_id": "CRM or web-shop id.",
        "customer_key": "The matched person the id belongs to.",
        "is_survivor": "Whether this id's record represents the person in silver.customers.",
        "first_seen": "Day the id was first delivered.",
    },
    "customer_duplicates": {
        "customer_key": "The kept person.",
        "kept_id": "Source id whose record represents the person.",
        "merged_ids": "Other source ids merged into the person.",
        "match_reason": "Why the records were matched (e-mail, phone, name, ...).",
        "source_systems": "Source systems the merged records came from.",
        "record_count": "Number of source records merged.",
    },
    "campaign_performance": {
        "campaign_id": "Campaign id (business key).",
        "name": "Campaign name.",
        "channel": "Lower-cased marketing channel.",
        "start_date": "First day of the campaign.",
        "end_date": "Last day of the campaign.",
        "target_categories": "Product categories the campaign targets.",
        "budget": "Planned budget.",
        "impressions": "Impressions so far.",
        "clicks": "Clicks so far.",
        "conversions": "Conversions so far.",
        "spend": "Money spent so far.",
        "revenue": "Revenue attributed so far.",
        "ctr": "clicks / impressions.",
        "conversion_rate": "conversions / clicks.",
        "cost_per_conversion": "spend / conversions.",
        "roas": "Return on ad spend: revenue / spend.",
    },
}


def column_descriptions(name: str) -> dict[str, str]:
    """Every described column of a silver table, its own and the lineage ones."""
    return {**LINEAGE_DESCRIPTIONS, **COLUMN_DESCRIPTIONS[name]}
