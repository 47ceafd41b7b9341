"""Every dbt test that Dagster declares as a (blocking) asset check can run in the step that declares it.

dagster-dbt runs a step's tests only when every model or seed the test reads is built in that step: a mart
test with a parent in another dbt step (a seed: seeds have their own step) was declared as a blocking check
of the combined step, never ran, and every run logged "Blocking asset check … emitted no result … will
proceed without gating on it" (issue 17: the `relationships` test of fct_validation_findings.rule_code on
the validation_rules seed). This test reads the manifest the pipeline uses and the step grouping of
`defs/transformation/assets.py`; `test_no_id_numbers_leak` checks a real run's log for the warning.
"""
from __future__ import annotations

import json

from dagster_project.defs.transformation.assets import MANIFEST, dbt_step_groups, is_mart_test


def _group_of() -> dict[str, str]:
    return {f"{kind}.monitoring.{name}": group for group, names in dbt_step_groups().items() for name in names
            for kind in ("model", "seed", "snapshot")}


def checks_that_cannot_run(manifest: dict) -> list[str]:
    """The asset-check tests with a parent built in another dbt step than the model they are attached to."""
    group_of = _group_of()
    stranded = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "test" or not is_mart_test(manifest, unique_id):
            continue
        attached = node.get("attached_node") or node["depends_on"]["nodes"][0]
        groups = {group_of.get(parent) for parent in node["depends_on"]["nodes"]}
        if groups != {group_of.get(attached)}:
            stranded.append(unique_id)
    return stranded


def test_every_declared_check_has_all_its_parents_in_its_step():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert checks_that_cannot_run(manifest) == []
    # the checks exist (the rule-code relationship is one of them, and runs now)
    checks = [u for u, n in manifest["nodes"].items() if n["resource_type"] == "test" and is_mart_test(manifest, u)]
    assert any("relationships_fct_validation_findings_rule_code" in u for u in checks)


def test_the_detector_finds_a_test_on_a_seed():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    test = next(u for u, n in manifest["nodes"].items() if "relationships_fct_validation_findings_rule_code" in u)
    broken = json.loads(json.dumps(manifest))
    broken["nodes"][test]["depends_on"]["nodes"] = ["seed.monitoring.validation_rules",
                                                   "model.monitoring.fct_validation_findings"]
    assert checks_that_cannot_run(broken) == [test]
