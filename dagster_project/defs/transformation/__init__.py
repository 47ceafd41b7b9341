"""Transformation: the dbt models as Dagster assets."""
