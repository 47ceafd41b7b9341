"""docs/architecture.md states how many models, seeds, tests and indicators the dbt project has: they must be true.

When this fails after adding models, seeds or indicators, replace the table between the `counts` markers with the
one printed in the failure message.
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter

from dagster_project.config import DBT_PROJECT_DIR, PROJECT_ROOT


def counts_table() -> str:
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    nodes = [n for n in manifest["nodes"].values() if n["package_name"] == "monitoring"]
    models = Counter(n["original_file_path"].split("/")[1] for n in nodes if n["resource_type"] == "model")
    reporting = sum(1 for n in nodes if n["resource_type"] == "model" and n["name"].startswith("rpt_"))
    seeds = sum(1 for n in nodes if n["resource_type"] == "seed")
    data_tests = sum(1 for n in nodes if n["resource_type"] == "test")
    unit_tests = sum(1 for u in manifest.get("unit_tests", {}).values() if u["package_name"] == "monitoring")
    macros = sum(1 for m in manifest["macros"].values() if m["package_name"] == "monitoring")
    with (DBT_PROJECT_DIR / "seeds" / "indicator_catalogue.csv").open(encoding="utf-8") as fh:
        catalogue = list(csv.DictReader(fh))
    targeted = sum(1 for row in catalogue if (row.get("target_operator") or "").strip())
    rows = [("staging models", models["staging"]), ("intermediate models", models["intermediate"]),
            (f"mart models (of which `rpt_*`: {reporting})", models["marts"]), ("seeds", seeds),
            ("data tests", data_tests), ("unit tests", unit_tests), ("macros", macros),
            (f"indicators in the catalogue (with a plan target: {targeted})", len(catalogue))]
    return "\n".join(["| what | how many |", "|---|---|", *(f"| {what} | {n} |" for what, n in rows)])


def test_architecture_counts_match_the_dbt_project():
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = re.search(r"<!-- counts:begin -->\n(.*?)\n<!-- counts:end -->", text, re.S)
    assert documented, "docs/architecture.md has lost its counts markers"
    expected = counts_table()
    assert documented.group(1).strip() == expected, f"replace the counts table with:\n{expected}"
