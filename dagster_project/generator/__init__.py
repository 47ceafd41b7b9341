"""Placeholder docstring (rewritten below)."""
