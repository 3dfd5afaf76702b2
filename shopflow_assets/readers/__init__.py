"""Format readers. Each prepares one landing file: the SQL that yields its typed rows and its rejects."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from shopflow_assets.landing import LandingFile
from shopflow_assets.readers import csv, json, parquet
from shopflow_assets.readers.base import FileProbe, FileRejected, Prepared, Staged, probe_file
from shopflow_assets.sources import SourceSpec

Reader = Callable[[duckdb.DuckDBPyConnection, LandingFile, SourceSpec, FileProbe, Staged], Prepared]

READERS: dict[str, Reader] = {"csv": csv.prepare, "json": json.prepare, "parquet": parquet.prepare}

__all__ = ["READERS", "FileProbe", "FileRejected", "Prepared", "Reader", "Staged", "probe_file"]
