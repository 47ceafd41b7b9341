"""Quality: the blocking gate checks and the end-of-run quality outputs."""
