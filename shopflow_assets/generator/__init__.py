"""Synthetic landing-zone data for ShopFlow: every source, every day, with realistic dirt.

``generate()`` writes the files of the landing contract (PLATFORM.md) plus ``_manifest.json``, the
ground truth tests and demos compare the platform against. See ``manifest.py`` for its format.
"""

from shopflow_assets.generator.run import generate

__all__ = ["generate"]
