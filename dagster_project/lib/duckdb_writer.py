"""What every step that writes the working database shares: its Dagster pool and its retry policy."""
from dagster import Backoff, Jitter, RetryPolicy

# DuckDB admits one writer process; a step that finds the working database locked (another process,
# or the dbt of a step that has just failed and not yet exited) waits and tries again: 10 s, 20 s, 40 s.
WRITER_RETRY_POLICY = RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
WRITER_POOL = "duckdb_writer"
