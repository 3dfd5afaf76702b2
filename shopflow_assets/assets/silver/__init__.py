"""Silver: clean, conformed, deduplicated and validated tables, one per silver registry entry."""

from shopflow_assets.assets.silver.factory import build_silver_asset, silver_assets, silver_checks

__all__ = ["build_silver_asset", "silver_assets", "silver_checks"]
