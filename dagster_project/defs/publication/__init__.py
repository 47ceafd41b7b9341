"""Publication: the analysts' read-only database."""
