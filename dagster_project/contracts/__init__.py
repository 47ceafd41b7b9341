"""The data request templates as versioned contracts.

`extract_templates_v1.yaml` is the one place that says what each department
sends: canonical column names, header aliases, logical types and code lists.
Ingestion, the generator, the quality suites and the raw-table DDL all read it
from here, so adding an extract means adding one entry to that file.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from dagster_project.config import CONTRACTS_FILE, SEEDS_DIR

# How each logical type is stored in the raw tables of the working database.
STORAGE_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
    "sex": "VARCHAR",
    "township": "VARCHAR",
    "area": "VARCHAR",
    "committee": "VARCHAR",
    "residence": "VARCHAR",
    "code": "VARCHAR",
}

# Audit columns added to every raw row: which load, which file, which row.
AUDIT_COLUMNS = {
    "_load_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_sha256": "VARCHAR",
    "_row_number": "BIGINT",
    "_period_year": "INTEGER",
    "_source_department": "VARCHAR",
    # Contract column names whose value was blanked on this row for a defect (empty list when none):
    # the record still counts wherever that field is not needed (see rule_texts, action exclude_field).
    "_invalid_fields": "VARCHAR[]",
}

# Column types without which a record cannot be placed: a defect in one keeps the whole row out.
ROW_CRITICAL_TYPES = frozenset({"township", "area", "committee"})


def pseudonym_column(id_column: str) -> str:
    """Name of the column that replaces a raw ID-number column.

    `id_number` -> `person_pid`, `mother_id_number` -> `mother_pid`,
    `victim_id_number` -> `victim_pid`.
    """
    stem = id_column.removesuffix("id_number").rstrip("_")
    return f"{stem or 'person'}_pid"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    zh: tuple[str, ...] = ()
    required: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    code_list: str | None = None
    pattern: str | None = None
    not_after_period_end: bool = False
    sex_column: str | None = None
    birth_date_column: str | None = None
    expected_sex: str | None = None
    critical: bool = False   # explicit: the record means nothing without this value (see is_row_critical)

    @property
    def is_row_critical(self) -> bool:
        """A defect in this column keeps the whole row out (quarantine); in any other column only the
        field is blanked and the record still counts where the field is not needed."""
        return self.critical or self.type in ROW_CRITICAL_TYPES

    @property
    def stored_name(self) -> str:
        return pseudonym_column(self.name) if self.type == "id_number" else self.name

    @property
    def storage_type(self) -> str:
        return "VARCHAR" if self.type == "id_number" else STORAGE_TYPES[self.type]

    def aliases(self) -> list[str]:
        """Every header text that maps to this column (compared after normalisation)."""
        return [self.name, *self.zh]


@dataclass(frozen=True)
class Extract:
    name: str
    department: str
    title_zh: str
    grain: str
    period_basis: str
    file_pattern: str
    unique_key: tuple[str, ...]
    columns: tuple[Column, ...]
    date_order: tuple[tuple[str, str], ...] = ()
    unique_across_years: bool = False   # events: a record id may appear in one period only
    # events: the date column that decides the row's statistical year in dbt (a late report revises its
    # event's year); None = the file's year is the row's year
    event_date: str | None = None

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def raw_dir_name(self) -> str:
        """Sub-folder of MONITOR_RAW_DIR where the department drops this extract."""
        return self.department

    @property
    def has_year_in_name(self) -> bool:
        return "{year}" in self.file_pattern

    def file_regex(self) -> re.Pattern[str]:
        """Matches a file stem such as `births_2023` or `health_2023` (forms)."""
        pattern = re.escape(self.file_pattern)
        pattern = pattern.replace(re.escape("{year}"), r"(?P<year>\d{4})")
        pattern = pattern.replace(re.escape("{source_department}"), r"(?P<source_department>[a-z_]+?)")
        return re.compile(rf"^{pattern}$")

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def field_columns(self) -> tuple[Column, ...]:
        """The columns a defect blanks instead of quarantining the row."""
        return tuple(c for c in self.columns if not c.is_row_critical)

    def ddl(self) -> str:
        cols = [f'"{c.stored_name}" {c.storage_type}' for c in self.columns]
        cols += [f'"{name}" {typ}' for name, typ in AUDIT_COLUMNS.items()]
        return f"CREATE TABLE IF NOT EXISTS {self.raw_table} (\n  " + ",\n  ".join(cols) + "\n)"


@dataclass(frozen=True)
class Contracts:
    version: int
    code_lists: dict[str, dict[str, str]]
    extracts: dict[str, Extract] = field(default_factory=dict)

    def code_list(self, name: str) -> dict[str, str]:
        """A code list: raw value -> canonical code. Seed-backed lists come from dbt/seeds."""
        if name in self.code_lists:
            return self.code_lists[name]
        if name == "form_item":
            return {r["item_code"]: r["item_code"] for r in read_seed("form_items")}
        if name == "age_group":
            codes = {r["age_group_code"]: r["age_group_code"] for r in read_seed("age_groups")}
            codes["T"] = "_T"
            return codes
        raise KeyError(f"unknown code list {name}")

    def by_department(self) -> dict[str, list[Extract]]:
        out: dict[str, list[Extract]] = {}
        for ex in self.extracts.values():
            out.setdefault(ex.department, []).append(ex)
        return out


def read_seed(name: str, seeds_dir: Path | None = None) -> list[dict[str, str]]:
    path = (seeds_dir or SEEDS_DIR) / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def township_codes(seeds_dir: Path | None = None) -> dict[str, str]:
    """Township-level area codes -> Chinese name, from the user-editable areas seed."""
    return {r["area_code"]: r["name_zh"] for r in read_seed("areas", seeds_dir) if r["level"] == "township"}


def area_codes(seeds_dir: Path | None = None) -> dict[str, str]:
    return {r["area_code"]: r["name_zh"] for r in read_seed("areas", seeds_dir)}


def _column(raw: dict[str, Any]) -> Column:
    raw = dict(raw)
    raw["zh"] = tuple(raw.get("zh") or ())
    if raw.get("allowed") is not None:
        raw["allowed"] = tuple(str(v) for v in raw["allowed"])
    return Column(**raw)


@lru_cache(maxsize=4)
def load_contracts(path: Path = CONTRACTS_FILE) -> Contracts:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    code_lists = {k: {str(a): str(b) for a, b in v.items()} for k, v in doc["code_lists"].items()}
    extracts = {}
    for name, spec in doc["extracts"].items():
        extracts[name] = Extract(
            name=name,
            department=spec["department"],
            title_zh=spec["title_zh"],
            grain=spec["grain"],
            period_basis=spec["period_basis"],
            file_pattern=spec["file_pattern"],
            unique_key=tuple(spec["unique_key"]),
            columns=tuple(_column(c) for c in spec["columns"]),
            date_order=tuple(tuple(p) for p in spec.get("date_order", [])),
            unique_across_years=bool(spec.get("unique_across_years", False)),
            event_date=spec.get("event_date"),
        )
    return Contracts(version=int(doc["version"]), code_lists=code_lists, extracts=extracts)
