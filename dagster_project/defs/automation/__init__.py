"""Automation: the job, its executor, the sensor, the schedule and failure alerts."""
