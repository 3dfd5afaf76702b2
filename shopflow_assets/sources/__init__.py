"""The source registry: every landing source described as data."""

from shopflow_assets.sources.registry import SOURCES, Column, SourceSpec, get_source

__all__ = ["SOURCES", "Column", "SourceSpec", "get_source"]
