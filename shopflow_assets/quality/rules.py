"""Rule ids, their readable names and the value sets they test: plain data, cheap to import
(the Pandera contracts that implement the rules live in contracts.py)."""

ORDER_STATUSES = ["pending", "completed", "cancelled", "refunded"]
SALES_CHANNELS = ["web", "mobile", "store", "marketplace"]
PAYMENT_METHODS = ["card", "paypal", "cash", "gift_card", "bank_transfer"]
UPDATE_TYPES = ["sale", "restock", "return", "adjustment", "damage"]
CUSTOMER_TIERS = ["bronze", "silver", "gold", "platinum"]
EMAIL_PATTERN = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
QUANTITY_RANGE = (1, 1000)
TOTAL_TOLERANCE = 0.01

# Human-readable names for every rule id, shown in checks, quarantine reasons and reports.
RULE_NAMES: dict[str, str] = {
    "order_id_not_null": "order_id is present",
    "order_id_unique": "order_id is unique in the partition",
    "customer_id_not_null": "customer_id is present",
    "product_id_not_null": "product_id is present",
    "quantity_range": f"quantity between {QUANTITY_RANGE[0]} and {QUANTITY_RANGE[1]}",
    "unit_price_valid": "unit_price is present and not negative",
    "discount_range": "discount_percent between 0 and 100",
    "status_allowed": f"status is one of {', '.join(ORDER_STATUSES)}",
    "sales_channel_allowed": f"sales_channel is one of {', '.join(SALES_CHANNELS)}",
    "payment_method_allowed": f"payment_method is one of {', '.join(PAYMENT_METHODS)}",
    "total_matches": f"total = quantity x unit_price x (1 - discount/100) within {TOTAL_TOLERANCE}",
    "timestamp_in_partition": "timestamp falls on the file's business date",
    "unknown_customer": "customer is known to the customer master",
    "unknown_product": "product is in the catalog",
    "update_id_not_null": "update_id is present",
    "update_id_unique": "update_id is unique in the partition",
    "store_id_not_null": "store_id is present",
    "update_type_allowed": f"update_type is one of {', '.join(UPDATE_TYPES)}",
    "sign_matches_type": "quantity_change sign matches update_type (sale/damage < 0, restock/return > 0)",
    "product_id_unique": "product_id is unique in the delivery",
    "prices_valid": "retail_price present, prices not negative",
    "retail_not_below_cost": "retail_price >= cost_price",
    "name_present": "product name is present",
    "category_present": "product category is present",
    "source_id_not_null": "source customer id is present",
    "source_id_unique": "source customer id is unique in the delivery",
    "email_valid": "email is a valid address",
    "country_code_valid": "country is an ISO alpha-2 code",
    "tier_allowed": f"customer_tier is one of {', '.join(CUSTOMER_TIERS)}",
    "registration_not_future": "registration date is not after the business date",
    "campaign_id_not_null": "campaign_id is present",
    "campaign_id_unique": "campaign_id is unique in the delivery",
    "metrics_non_negative": "impressions, clicks, conversions, spend, revenue are not negative",
    "clicks_within_impressions": "clicks <= impressions",
    "conversions_within_clicks": "conversions <= clicks",
    "dates_ordered": "end_date >= start_date",
}
