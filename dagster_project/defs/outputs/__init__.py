"""Outputs: the files the monitoring group hands over."""
