"""The warehouse contract: schemas and shared tables in the DuckDB file."""
