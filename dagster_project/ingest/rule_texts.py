"""Every row-level rule ingestion applies: what happens to the row and what the clerk is told.

action: `quarantine` (row kept out of the warehouse, listed in audit.quarantine and the
feedback file), `flag` (row loaded, finding listed in audit.row_flags), `normalise`
(value corrected mechanically, recorded in audit.row_flags so the department can fix its export).

A `quarantine` finding keeps the whole row out only when it concerns the whole row (column '*', the
duplicate rules) or a row-critical column (contracts: Column.is_row_critical, e.g. the township code,
a record id). On any other column the loader turns it into `exclude_field`: the row is loaded with that
field blanked (NULL; an invalid ID number gives a NULL pseudonym) and named in the row's
`_invalid_fields`, the finding goes to audit.row_flags with the reason below plus EXCLUDE_FIELD_ZH/EN,
and the record still counts in every indicator that does not need the field (dbt `needs`).
"""
from __future__ import annotations

import csv

from dagster_project.config import SEEDS_DIR

# The rules live in one place, the dbt seed `ingestion_rules.csv` (rule_id, action, label_zh, label_en, reason_zh,
# reason_en): ingestion reads it here, and the report and the analysts read its labels from main_seeds.ingestion_rules.
RULES_SEED = SEEDS_DIR / "ingestion_rules.csv"


def _load_rules() -> tuple[dict[str, tuple[str, str, str]], dict[str, tuple[str, str]]]:
    rules: dict[str, tuple[str, str, str]] = {}
    labels: dict[str, tuple[str, str]] = {}
    with RULES_SEED.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            rules[row["rule_id"]] = (row["action"], row["reason_zh"], row["reason_en"])
            labels[row["rule_id"]] = (row["label_zh"], row["label_en"])
    return rules, labels


# rule_id: (action, reason in Chinese for the clerk, reason in English); LABELS: rule_id: (short label zh, en)
RULES, LABELS = _load_rules()


# Rules about the whole row (or several rows): always quarantine, whatever the column they name.
ROW_RULES = frozenset({
    "field_count_mismatch", "undecodable_line", "truncated_line", "control_characters", "line_too_long",
    "repeated_header", "missing_required_column", "duplicate_row", "duplicate_key", "duplicate_across_files",
    "duplicate_file", "numerator_exceeds_denominator",
})
# Appended to the reason of a finding whose field was blanked (action exclude_field).
EXCLUDE_FIELD_ZH = "该字段已置空，该记录仍计入不需要此字段的指标。"
EXCLUDE_FIELD_EN = "The value was blanked; the record still counts where this field is not needed."


def action(rule_id: str) -> str:
    return RULES[rule_id][0]


def reason_zh(rule_id: str) -> str:
    return RULES[rule_id][1]


def reason_en(rule_id: str) -> str:
    return RULES[rule_id][2]
