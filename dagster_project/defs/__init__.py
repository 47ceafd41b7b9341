"""The Dagster definitions of the warehouse, one folder per domain (the layout of dagster-open-platform).

* ingestion/      reading the departments' files into `raw.*` (one asset per extract), yearly partitions
* quality/        the blocking Great Expectations gate per extract; the end-of-run Data Docs and feedback findings
* transformation/ the dbt models as assets (one step per department plus the combined marts)
* publication/    the analysts' read-only database
* outputs/        the files handed over: indicator tables, feedback, reports, the provincial submission
* automation/     the job, its run-locked executor, the file-drop sensor, the annual schedule, failure alerts

`dagster_project/definitions.py` assembles them once, from explicit lists. Helpers that know nothing of
Dagster's definitions (the in-process dbt runner, the Dagster instance settings) are in `dagster_project/lib/`.
"""
