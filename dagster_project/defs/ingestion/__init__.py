"""Ingestion: the extract assets and their yearly partitions."""
