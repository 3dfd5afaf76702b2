"""Format readers. Each stages one landing file into temp tables the bronze loader consumes."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from shopflow_assets.landing import LandingFile
from shopflow_assets.readers import csv, json, parquet
from shopflow_assets.readers.base import FileProbe, FileRejected, Staged, probe_file
from shopflow_assets.sources import SourceSpec

Reader = Callable[[duckdb.DuckDBPyConnection, LandingFile, SourceSpec, FileProbe, Staged], None]

READERS: dict[str, Reader] = {"csv": csv.stage, "json": json.stage, "parquet": parquet.stage}

__all__ = ["READERS", "FileProbe", "FileRejected", "Reader", "Staged", "probe_file"]
