"""Reports from click logs and the snapshot (DuckDB)."""
