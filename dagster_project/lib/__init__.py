"""Helpers of the Dagster definitions that are not definitions themselves (dbt in-process, instance settings)."""
