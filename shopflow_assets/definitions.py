"""The ShopFlow code location: everything under `defs/`, one folder per layer plus automation and the
resources. Importing it does no I/O: resources resolve paths when runs start."""

import warnings
from pathlib import Path

import dagster as dg

# Dagster's CLI resolves `--select '*'` and `--select 'group:...'` through its own beta parameter
# (AssetSelection.all/groups(include_sources=...)) and printed a BetaWarning on every such run. Filtered
# once here, where every process that loads the location passes, and only for that Dagster module.
warnings.filterwarnings(
    "ignore", category=dg.BetaWarning, module=r"dagster\._core\.definitions\.antlr_asset_selection"
)

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
