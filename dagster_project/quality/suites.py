"""Reading the suite files and the code lists they take as parameters."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dagster_project.config import EXPECTATIONS_DIR, SEEDS_DIR
from dagster_project.contracts import load_contracts, read_seed

SCOPES = ("schema", "rows", "period")
SEVERITIES = ("blocking", "warning")

# Expectations that can be evaluated batch by batch and summed: map rules (one verdict per row)
# and the column set. Anything that needs all rows at once must be a `period` rule (computed
# in DuckDB) or a uniqueness rule (batches are cut so that equal keys share a batch).
ROW_SCOPE_TYPES = frozenset({
    "expect_table_columns_to_match_set",
    "expect_column_to_exist",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_pair_values_to_be_in_set",
    "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_multicolumn_sum_to_equal",
})
UNIQUENESS_TYPES = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
METRIC_AGGS = frozenset({"count", "mean", "share", "distinct_count"})
REQUIRED_META = ("rule_id", "severity", "description_zh", "description_en", "scope")


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    meta: dict[str, Any]
    expectations: tuple[dict[str, Any], ...]
    by_rule: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)

    @property
    def extract(self) -> str:
        return self.meta["extract"]

    @property
    def department(self) -> str:
        return self.meta["department"]

    @property
    def raw_table(self) -> str:
        return self.meta.get("raw_table") or f"raw.{self.extract}"

    @property
    def period_column(self) -> str | None:
        return self.meta.get("period_column")

    def in_scope(self, scope: str) -> list[dict[str, Any]]:
        return [e for e in self.expectations if e["meta"]["scope"] == scope]

    def partition_key(self) -> list[str]:
        """Columns on which batches are cut: equal values always land in the same batch.

        The intersection of every uniqueness rule's columns: rows equal on a rule's
        whole key are equal on the intersection, so no duplicate is split across batches.
        """
        keys: list[list[str]] = []
        for e in self.in_scope("rows"):
            if e["type"] == "expect_compound_columns_to_be_unique":
                keys.append(list(e["kwargs"]["column_list"]))
            elif e["type"] == "expect_column_values_to_be_unique":
                keys.append([e["kwargs"]["column"]])
        if not keys:
            return []
        common = [c for c in keys[0] if all(c in k for k in keys[1:])]
        if not common:
            raise SuiteError(f"{self.path}: uniqueness rules share no column, so the table cannot be cut into batches")
        # the period column alone would put a whole year in one batch: cut on the rest if possible
        rest = [c for c in common if c != self.period_column]
        return rest or common


def suite_file(extract_name: str, expectations_dir: Path | None = None) -> Path:
    extracts = load_contracts().extracts
    if extract_name not in extracts:
        raise SuiteError(f"{extract_name} is not an extract of the contract (known: {', '.join(extracts)})")
    extract = extracts[extract_name]
    return (expectations_dir or EXPECTATIONS_DIR) / extract.department / f"{extract_name}.json"


def load_suite(extract_name: str, expectations_dir: Path | None = None) -> Suite:
    path = suite_file(extract_name, expectations_dir)
    if not path.exists():
        raise SuiteError(f"no suite for extract {extract_name}: {path} is missing (run expectations/build_suites.py)")
    return _load(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _load(path: Path, _mtime: int) -> Suite:
    doc = json.loads(path.read_text(encoding="utf-8"))
    expectations = tuple(doc["expectations"])
    by_rule: dict[str, dict[str, Any]] = {}
    for e in expectations:
        meta = e.get("meta") or {}
        missing = [k for k in REQUIRED_META if not meta.get(k)]
        if missing:
            raise SuiteError(f"{path}: expectation {e.get('type')} lacks meta {missing}")
        rid = meta["rule_id"]
        if rid in by_rule:
            raise SuiteError(f"{path}: rule_id {rid} is used twice")
        if meta["severity"] not in SEVERITIES or meta["scope"] not in SCOPES:
            raise SuiteError(f"{path}: rule {rid}: severity must be one of {SEVERITIES}, scope one of {SCOPES}")
        if meta["scope"] == "rows" and e["type"] not in ROW_SCOPE_TYPES | UNIQUENESS_TYPES:
            raise SuiteError(f"{path}: rule {rid}: {e['type']} needs all rows at once; give it scope 'period' with a metric")
        if meta["scope"] == "period" and (meta.get("metric") or {}).get("agg") not in METRIC_AGGS:
            raise SuiteError(f"{path}: rule {rid}: a period rule needs meta.metric.agg in {sorted(METRIC_AGGS)}")
        by_rule[rid] = e
    return Suite(name=doc["name"], path=path, meta=doc.get("meta") or {}, expectations=expectations, by_rule=by_rule)


def suite_parameters(seeds_dir: Path | None = None) -> dict[str, Any]:
    """Values of the `$PARAMETER`s the suites use, read from the user-editable seeds at validation time."""
    seeds = seeds_dir or SEEDS_DIR
    areas = read_seed("areas", seeds)
    townships = sorted(r["area_code"] for r in areas if r["level"] == "township")
    return {
        "township_codes": townships,
        "township_count": len(townships),
        # forms: the district as a whole or one of its townships (ingestion accepts any seed area)
        "area_codes": sorted(r["area_code"] for r in areas if r["level"] in ("county", "township")),
        "committee_code_regex": "^(?:" + "|".join(townships) + r")[0-9]{3}$",
        "form_item_codes": sorted({r["item_code"] for r in read_seed("form_items", seeds)}),
        "age_group_codes": sorted({r["age_group_code"] for r in read_seed("age_groups", seeds)} | {"_T"}),
    }
