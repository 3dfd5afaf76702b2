"""Silver: clean, conformed, deduplicated and validated tables, one per silver registry entry."""

from shopflow_assets.assets.silver.factory import build_silver_asset, silver_assets

__all__ = ["build_silver_asset", "silver_assets"]
