"""python -m dagster_project.generator"""
from dagster_project.generator.cli import main

raise SystemExit(main())
