"""How every step that writes the warehouse runs, whatever its layer."""

import dagster as dg

# One DuckDB file admits one writing process: every writing step takes a slot of this pool (limit 1).
WRITER_POOL = "duckdb_writer"
# Transient trouble (a file still being copied, a lock held past the resource's wait) gets two
# more tries with backoff; a failure that survives them fails the run with the partition named.
TRANSIENT_RETRIES = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)

# Gold's reference data that no source delivers (the stores seed, its dimension, the calendar): cheap,
# unpartitioned, and needed by marts downstream of every source, so every file-sensor job builds them
# too, whichever source's file arrives first.
STATIC_REFERENCE = dg.AssetSelection.assets(["gold", "stores"], ["gold", "dim_stores"], ["gold", "dim_date"])
