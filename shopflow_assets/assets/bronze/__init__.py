"""Bronze: landing files, typed and with lineage, one table per source."""

from shopflow_assets.assets.bronze.factory import bronze_assets, build_bronze_asset

__all__ = ["bronze_assets", "build_bronze_asset"]
