"""The value sets the contracts test, and how a failing record's values are shown: plain data and
SQL, cheap to import (the rules themselves are declared once, in the Pandera contracts: contracts.py)."""

from __future__ import annotations

from collections.abc import Mapping

from shopflow_assets.lib.sql import ident, sql_str

ORDER_STATUSES = ["pending", "completed", "cancelled", "refunded"]
SALES_CHANNELS = ["web", "mobile", "store", "marketplace"]
PAYMENT_METHODS = ["card", "paypal", "cash", "gift_card", "bank_transfer"]
UPDATE_TYPES = ["sale", "restock", "return", "adjustment", "damage"]
CUSTOMER_TIERS = ["bronze", "silver", "gold", "platinum"]
EMAIL_PATTERN = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
QUANTITY_RANGE = (1, 1000)
TOTAL_TOLERANCE = 0.01

# Helper column the build fills from bronze: the earliest earlier day the record's key was delivered.
FIRST_DELIVERED = "_chk_first_delivered_on"
HELPER_PREFIX = "_chk_"


def label(column: str) -> str:
    """A column as a reason shows it: helper columns without their prefix."""
    return column.removeprefix(HELPER_PREFIX)


def detail_sql(
    rule_expr: str, rule_columns: Mapping[str, tuple[str, ...]], sources: Mapping[str, str]
) -> str:
    """SQL: 'column = value, ...' for the rule in `rule_expr`, over the columns that rule shows, each
    read from the alias `sources[column]` (columns with no source are left out)."""
    whens = []
    for rule, columns in sorted(rule_columns.items()):
        parts = [
            f"'{label(c)} = ' || coalesce({sources[c]}.{ident(c)}::VARCHAR, 'null')"
            for c in columns
            if c in sources
        ]
        if parts:
            whens.append(f"WHEN {sql_str(rule)} THEN concat_ws(', ', {', '.join(parts)})")
    return f"CASE {rule_expr} {' '.join(whens)} END" if whens else "NULL::VARCHAR"
