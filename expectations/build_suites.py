"""Build the Great Expectations suites of every extract from the contracts.

    .venv/bin/python expectations/build_suites.py            # (re)write expectations/<department>/<extract>.json
    .venv/bin/python expectations/build_suites.py --check    # exit 1 if a suite file is missing or out of date
    (add --no-gx to skip parsing every suite with Great Expectations, which takes a few seconds)

One suite per contract extract, written to `expectations/<department>/<extract>.json`
in GX 1.x suite JSON (`name`, `expectations` with `type`/`kwargs`/`meta`/`severity`,
`meta`). The suites validate the LOADED raw table `raw.<extract>` of the working
database, i.e. after ingestion has quarantined bad rows. Most rules are derived
from the contract (`dagster_project/contracts/extract_templates_v1.yaml`); the
plausibility rules a contract cannot express are the hand-written additions:
`hand_written()` and the tables above it (BLANK_SHARE_MAX, SCHOOL_STAGES, ...). Re-run the script after changing the contract, adding an
extract or editing the additions; the output is deterministic, and
`tests/test_quality_suites.py` fails when a committed suite differs from it.

Every expectation carries GX's own `severity` (`critical` for blocking rules, `warning`) and in `meta`:
  rule_id         stable id within the suite (recorded in audit.gx_results)
  severity        `blocking` (the extract must not flow on) or `warning`
  description_zh  what a department clerk should do about a failure
  description_en  the same in English
  scope           how the runner (dagster_project/quality) evaluates it:
                    rows    on the raw rows, in bounded batches (map rules, column set, uniqueness)
                    schema  on the table's catalogue: one row per column (column_name, data_type)
                    period  on a per-period summary computed in DuckDB (row counts, means, shares)
  metric          (scope `period` only) the aggregate that fills the summary column named by
                  `kwargs.column`: {"agg": "count"} | {"agg": "mean", "column": c}
                  | {"agg": "share", "column": c, "values": [...], "among": [...]}
                  | {"agg": "distinct_count", "column": c}

Code lists that users may edit (dbt/seeds: areas, form items, age groups) are not
copied into the suites: they are GX suite parameters (`{"$PARAMETER": name}`)
filled in from the seeds at validation time, so editing a seed needs no rebuild.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # run as a script: make `dagster_project` importable
    sys.path.insert(0, str(PROJECT_ROOT))

from dagster_project.contracts import AUDIT_COLUMNS, Column, Contracts, Extract, load_contracts  # noqa: E402

EXPECTATIONS_DIR = Path(__file__).resolve().parent

# A 15- or 18-character citizen ID number (GB 11643) anywhere in a value, not part of a longer
# digit run: area code (6), birth date (YYYYMMDD, or YYMMDD in old 15-digit numbers), sequence,
# check character. Requiring a plausible date keeps 15/18-digit record numbers from other
# systems (case numbers, serials) from blocking a whole extract. RE2-compatible (no
# look-around), so it also works on Arrow-backed pandas strings.
_MMDD = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
ID_NUMBER_REGEX = (r"(?:^|[^0-9])(?:[0-9]{6}(?:18|19|20)[0-9]{2}" + _MMDD + r"[0-9]{3}[0-9Xx]"
                   r"|[0-9]{8}" + _MMDD + r"[0-9]{3})(?:[^0-9]|$)")
# What ingestion writes instead of an ID number: hex HMAC-SHA256.
PSEUDONYM_REGEX = r"^[0-9a-f]{64}$"
SHA256_REGEX = r"^[0-9a-f]{64}$"

SEX_CODES = ["1", "2", "0", "9"]
SEX_LABELS_ZH = {"1": "1（男）", "2": "2（女）", "0": "0（未知）", "9": "9（未说明）", "T": "T（合计）"}
RESIDENCE_CODES = ["urban", "rural"]

# Seed-backed code lists, passed as GX suite parameters at validation time
# (dagster_project.quality.suite_parameters computes them from dbt/seeds).
SEED_PARAMETERS = {
    "township_codes": "dbt/seeds/areas.csv, level = township",
    "area_codes": "dbt/seeds/areas.csv, level = county or township",
    "township_count": "number of township-level rows in dbt/seeds/areas.csv",
    "committee_code_regex": "12 digits starting with a township code of dbt/seeds/areas.csv",
    "form_item_codes": "dbt/seeds/form_items.csv item_code",
    "age_group_codes": "dbt/seeds/age_groups.csv age_group_code (plus _T)",
}
_SEED_LISTS = {"form_item": "form_item_codes", "age_group": "age_group_codes"}

ADMIN_ZH = "这是入库系统内部的问题，部门无需操作：请数据仓库管理员检查入库程序并重新入库。"
ADMIN_EN = "An internal problem of the load, nothing for the department to do: the warehouse administrator must check ingestion and reload."


# --------------------------------------------------------------------------------------------
# Hand-written additions: plausibility rules (warnings) the contract cannot express.
# --------------------------------------------------------------------------------------------
# Columns whose blanks are allowed but, above the share given, point at an incomplete export.
# A required column that is not row-critical (contracts: Column.is_row_critical) may be blank where a bad
# value was blanked at ingestion: a warning, not a blocking rule, above this share of the rows.
REQUIRED_BLANK_SHARE_MAX = 0.10
BLANK_SHARE_MAX: dict[str, dict[str, float]] = {
    "births": {"mother_id_number": 0.05, "birth_weight_g": 0.05, "gestation_weeks": 0.05,
               "hospital_delivery": 0.05, "antenatal_visits": 0.10, "postpartum_visit": 0.10,
               "hiv_tested": 0.10, "syphilis_tested": 0.10, "hbv_tested": 0.10, "newborn_visited": 0.10},
    "deaths": {"cause_icd10": 0.10, "injury_death": 0.10},
    "child_health": {"id_number": 0.20, "health_checks": 0.05},
    "cancer_screening": {"id_number": 0.05, "result": 0.05},
    "students": {"id_number": 0.05},
    "student_health": {"myopia": 0.10, "fitness_rating": 0.10},
    "social_assistance": {"id_number": 0.05, "monthly_amount_yuan": 0.05},
    "legal_aid": {"id_number": 0.10},
}
# Share of records with sex 0 (unknown) or 9 (not stated) above which the clerk should look.
UNKNOWN_SEX_SHARE_MAX = 0.01
# Extracts in which every township is expected to appear in every period (completeness).
EVERY_TOWNSHIP_EXPECTED = ("population", "births", "child_health")
# School stage -> (school types, lowest grade, highest grade, name in Chinese): grade 0 = kindergarten.
SCHOOL_STAGES = {
    "kindergarten": (["kindergarten"], 0, 0, "幼儿园"),
    "primary": (["primary"], 1, 6, "小学"),
    "junior": (["junior"], 7, 9, "初中"),
    "upper_secondary": (["senior_general", "secondary_vocational", "technical"], 10, 12, "普通高中、中职和技工学校"),
}


def _zh(col: Column) -> str:
    return col.zh[0] if col.zh else col.name


def _rule(type_: str, kwargs: dict[str, Any], *, rule_id: str, severity: str, zh: str, en: str,
          scope: str = "rows", metric: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"rule_id": rule_id, "severity": severity, "description_zh": zh,
                            "description_en": en, "scope": scope}
    if metric is not None:
        meta["metric"] = metric
    return {"type": type_, "kwargs": kwargs, "meta": meta,
            "severity": "critical" if severity == "blocking" else "warning"}


def period_column(extract: Extract) -> str | None:
    """The column that says which period a row belongs to.

    For event records too (births, deaths, screenings) this is the year in the file's name, not the year
    of the event date that dbt counts them in: the gate judges each file as it was sent (a period without
    rows = a file not sent; townships reporting, mean birth weight, share of boys = what that file holds)
    and a failed gate withholds that file. A late event moves into an earlier year only in dbt, after its
    own file has passed the gate.
    """
    if extract.has_year_in_name:
        return "_period_year"
    names = {c.name for c in extract.columns}
    return "year" if "year" in names else None


def stored_columns(extract: Extract) -> dict[str, str]:
    """Column name -> DuckDB type of `raw.<extract>`, exactly as `Extract.ddl()` creates it."""
    cols = {c.stored_name: c.storage_type for c in extract.columns}
    cols.update(AUDIT_COLUMNS)
    return cols


def _code_rule(extract: Extract, col: Column, contracts: Contracts) -> dict[str, Any] | None:
    name, zh = col.stored_name, _zh(col)
    rid = f"code_list.{name}"
    if col.type == "sex":
        codes = list(col.allowed) if col.allowed else SEX_CODES
        labels = "、".join(SEX_LABELS_ZH[c] for c in codes)
        return _rule("expect_column_values_to_be_in_set", {"column": name, "value_set": codes},
                     rule_id=rid, severity="blocking",
                     zh=f"「{zh}」只能填 {labels}（也可填男/女）：请更正后重新报送。",
                     en=f"{name} must be one of {', '.join(codes)} (GB/T 2261.1); correct the value and resend.")
    if col.type == "residence":
        return _rule("expect_column_values_to_be_in_set", {"column": name, "value_set": RESIDENCE_CODES},
                     rule_id=rid, severity="blocking",
                     zh=f"「{zh}」只能填城镇或乡村：请更正后重新报送。",
                     en=f"{name} must be urban or rural (城镇/乡村); correct the value and resend.")
    if col.type == "township":
        return _rule("expect_column_values_to_be_in_set", {"column": name, "value_set": {"$PARAMETER": "township_codes"}},
                     rule_id=rid, severity="blocking",
                     zh=f"「{zh}」必须是本区现行的9位乡镇街道代码（如430502001兴隆街道，代码表见dbt/seeds/areas.csv）：请核对代码后重新报送。",
                     en=f"{name} must be a current 9-digit township code of the district (dbt/seeds/areas.csv); check the code and resend.")
    if col.type == "area":
        return _rule("expect_column_values_to_be_in_set", {"column": name, "value_set": {"$PARAMETER": "area_codes"}},
                     rule_id=rid, severity="blocking",
                     zh=f"「{zh}」必须是本区代码430502（全区合计）或本区9位乡镇街道代码：请核对代码后重新报送。",
                     en=f"{name} must be the district code 430502 or one of its 9-digit township codes; check the code and resend.")
    if col.type == "committee":
        return _rule("expect_column_values_to_match_regex", {"column": name, "regex": {"$PARAMETER": "committee_code_regex"}},
                     rule_id=rid, severity="blocking",
                     zh=f"「{zh}」必须是12位代码，且前9位是本区的乡镇街道代码：请核对后重新报送。",
                     en=f"{name} must be 12 digits starting with a township code of the district; check and resend.")
    if col.type == "code":
        if col.code_list in _SEED_LISTS:
            value_set: Any = {"$PARAMETER": _SEED_LISTS[col.code_list]}
            listed = "数据仓库发布的代码表"
        else:
            mapping = contracts.code_list(col.code_list)
            value_set = sorted(set(mapping.values()))
            if col.code_list == "form_sex":
                listed = "、".join(SEX_LABELS_ZH[c] for c in value_set)
            else:
                listed = "、".join(k for k in mapping if not k.isascii()) or "、".join(value_set)
        return _rule("expect_column_values_to_be_in_set", {"column": name, "value_set": value_set},
                     rule_id=rid, severity="blocking",
                     zh=f"「{zh}」只能填{listed}中的取值：请按数据报送模板的代码表更正后重新报送。",
                     en=f"{name} must be a value of the code list '{col.code_list}'; correct it and resend.")
    return None


def _range_rule(col: Column) -> dict[str, Any] | None:
    if col.type not in ("integer", "decimal") or (col.min is None and col.max is None):
        return None
    kwargs: dict[str, Any] = {"column": col.stored_name}
    if col.min is not None:
        kwargs["min_value"] = col.min
    if col.max is not None:
        kwargs["max_value"] = col.max
    fmt = lambda v: f"{v:g}"  # noqa: E731
    if col.min is not None and col.max is not None:
        zh_range, en_range = f"应在 {fmt(col.min)} 至 {fmt(col.max)} 之间", f"must be between {fmt(col.min)} and {fmt(col.max)}"
    elif col.min is not None:
        zh_range, en_range = f"不能小于 {fmt(col.min)}", f"must be at least {fmt(col.min)}"
    else:
        zh_range, en_range = f"不能大于 {fmt(col.max)}", f"must be at most {fmt(col.max)}"
    return _rule("expect_column_values_to_be_between", kwargs, rule_id=f"range.{col.stored_name}", severity="blocking",
                 zh=f"「{_zh(col)}」{zh_range}：请核对超出范围的数值（单位、录入错误）后重新报送。",
                 en=f"{col.stored_name} {en_range}; check the values outside the range (units, typing errors) and resend.")


def build_suite(extract: Extract, contracts: Contracts) -> dict[str, Any]:
    """The suite of one extract, as a JSON-ready dict (deterministic)."""
    cols = stored_columns(extract)
    period = period_column(extract)
    rules: list[dict[str, Any]] = []

    # ---- structure (blocking) ---------------------------------------------------------------
    rules.append(_rule(
        "expect_table_columns_to_match_set", {"column_set": list(cols), "exact_match": True},
        rule_id="columns_match_contract", severity="blocking",
        zh=f"入库表 {extract.raw_table} 的列与数据报送模板（第{contracts.version}版）不一致。{ADMIN_ZH}",
        en=f"The columns of {extract.raw_table} differ from contract version {contracts.version}. {ADMIN_EN}"))
    rules.append(_rule(
        "expect_column_pair_values_to_be_in_set",
        {"column_A": "column_name", "column_B": "data_type", "value_pairs_set": [[c, t] for c, t in cols.items()]},
        rule_id="column_types", severity="blocking", scope="schema",
        zh=f"入库表 {extract.raw_table} 的列类型与数据报送模板不一致。{ADMIN_ZH}",
        en=f"Column types of {extract.raw_table} differ from the contract. {ADMIN_EN}"))

    for col in extract.columns:
        if col.required and col.is_row_critical:
            rules.append(_rule(
                "expect_column_values_to_not_be_null", {"column": col.stored_name},
                rule_id=f"not_null.{col.stored_name}", severity="blocking",
                zh=f"「{_zh(col)}」是必填项，不能为空：请为每一行补填后重新报送。",
                en=f"{col.stored_name} is required and must not be blank; fill it in on every row and resend."))
        elif col.required and col.stored_name not in BLANK_SHARE_MAX.get(extract.name, {}):
            # Not row-critical: ingestion blanks a bad value and the record still counts where the field is not
            # needed, so a blank is no reason to stop the extract; a field blank on many rows is still reported.
            pct = f"{REQUIRED_BLANK_SHARE_MAX:.0%}"
            rules.append(_rule(
                "expect_column_values_to_not_be_null",
                {"column": col.stored_name, "mostly": round(1 - REQUIRED_BLANK_SHARE_MAX, 4)},
                rule_id=f"blank_share.{col.stored_name}", severity="warning",
                zh=f"必填项「{_zh(col)}」空白或无效（已置空）的记录超过 {pct}：这些记录不计入需要该项的指标，请核对后补填重新报送。",
                en=f"More than {pct} of rows have the required {col.stored_name} blank or invalid (blanked); they are left out "
                   "of the indicators that need it: check and resend."))
    audit_required = ["_load_id", "_source_file", "_source_sha256", "_row_number"]
    if extract.has_year_in_name:
        audit_required.append("_period_year")
    if "{source_department}" in extract.file_pattern:
        audit_required.append("_source_department")
    for name in audit_required:
        rules.append(_rule(
            "expect_column_values_to_not_be_null", {"column": name},
            rule_id=f"not_null.{name}", severity="blocking",
            zh=f"审计列 {name} 为空，无法追溯到报送文件。{ADMIN_ZH}",
            en=f"Audit column {name} is blank, so rows cannot be traced to their file. {ADMIN_EN}"))

    for col in extract.columns:
        for rule in (_code_rule(extract, col, contracts), _range_rule(col)):
            if rule:
                rules.append(rule)

    key = [extract.column(k).stored_name for k in extract.unique_key]
    key_zh = "、".join(f"「{_zh(extract.column(k))}」" for k in extract.unique_key)
    if extract.unique_across_years or period is None or period in key:
        column_list = key
        zh_scope, en_scope = "在各报送期之间", "across all periods"
    else:
        column_list = [period, *key]
        zh_scope, en_scope = "在同一报送期内", "within a period"
    if len(column_list) == 1:  # GX's compound rule needs two columns; blanks are ignored by both
        unique_type, unique_kwargs = "expect_column_values_to_be_unique", {"column": column_list[0]}
    else:
        unique_type = "expect_compound_columns_to_be_unique"
        unique_kwargs = {"column_list": column_list, "ignore_row_if": "any_value_is_missing"}
    rules.append(_rule(
        unique_type, unique_kwargs,
        rule_id="unique_key", severity="blocking",
        zh=f"{key_zh}{zh_scope}不能重复：请删除重复的记录或更正编号后重新报送。",
        en=f"The record key ({', '.join(key)}) must be unique {en_scope}; remove duplicate records or correct the key and resend."))

    # ---- privacy (blocking) ------------------------------------------------------------------
    for col in extract.columns:
        if col.type == "id_number":
            rules.append(_rule(
                "expect_column_values_to_match_regex", {"column": col.stored_name, "regex": PSEUDONYM_REGEX},
                rule_id=f"pseudonym_format.{col.stored_name}", severity="blocking",
                zh=f"「{_zh(col)}」没有被正确假名化（应为64位十六进制串），数据不得继续流转。{ADMIN_ZH}",
                en=f"{col.stored_name} is not a 64-hex-digit pseudonym; the data must not flow on. {ADMIN_EN}"))
    rules.append(_rule(
        "expect_column_values_to_match_regex", {"column": "_source_sha256", "regex": SHA256_REGEX},
        rule_id="sha256_format._source_sha256", severity="blocking",
        zh=f"审计列 _source_sha256 不是文件的SHA-256摘要。{ADMIN_ZH}",
        en=f"Audit column _source_sha256 is not a SHA-256 digest. {ADMIN_EN}"))
    checked_elsewhere = {c.stored_name for c in extract.columns if c.type == "id_number"} | {"_source_sha256"}
    zh_by_name = {c.stored_name: _zh(c) for c in extract.columns}
    for name, typ in cols.items():
        if typ != "VARCHAR" or name in checked_elsewhere:
            continue
        label = f"「{zh_by_name[name]}」" if name in zh_by_name else f"审计列 {name} "
        rules.append(_rule(
            "expect_column_values_to_not_match_regex", {"column": name, "regex": ID_NUMBER_REGEX},
            rule_id=f"no_id_number.{name}", severity="blocking",
            zh=(f"{label}中出现了形似15位或18位身份证号的数字串。身份证号只能填在身份证号列（入库时会被假名化），"
                "请从该列删去身份证号后重新报送。"),
            en=(f"{name} contains a string shaped like a 15- or 18-digit citizen ID number. ID numbers belong only in the "
                "ID-number column (pseudonymised on load); remove them from this column and resend.")))

    # ---- completeness over periods (blocking) --------------------------------------------------
    rules.append(_rule(
        "expect_column_values_to_be_between", {"column": "row_count", "min_value": 1},
        rule_id="rows_per_period", severity="blocking", scope="period", metric={"agg": "count"},
        zh=f"有报送期没有任何「{extract.title_zh}」数据（文件未报送或整份被拒收）：请报送或重新报送该期文件。",
        en=f"A period has no rows of {extract.name} (file not sent or rejected as a whole); send or resend that period's file."))

    rules.extend(hand_written(extract))
    return {
        "name": f"{extract.department}.{extract.name}",
        "expectations": rules,
        "meta": {
            "extract": extract.name,
            "department": extract.department,
            "title_zh": extract.title_zh,
            "raw_table": extract.raw_table,
            "contract_version": contracts.version,
            "period_column": period,
            "unique_key": key,
            "parameters": {p: SEED_PARAMETERS[p] for p in sorted(_parameters_used(rules))},
            "generated_by": "expectations/build_suites.py (do not edit by hand: change the contract or the script and re-run it)",
        },
    }


def hand_written(extract: Extract) -> list[dict[str, Any]]:
    """Plausibility rules (warnings) beyond the contract."""
    rules: list[dict[str, Any]] = []
    for name, max_share in BLANK_SHARE_MAX.get(extract.name, {}).items():
        col = extract.column(name)
        pct = f"{max_share:.0%}"
        rules.append(_rule(
            "expect_column_values_to_not_be_null", {"column": col.stored_name, "mostly": round(1 - max_share, 4)},
            rule_id=f"blank_share.{col.stored_name}", severity="warning",
            zh=f"「{_zh(col)}」空白的记录超过 {pct}：请核对系统导出是否漏了这一项，能补填的请补填。",
            en=f"More than {pct} of rows have {col.stored_name} blank; check whether the export dropped it and fill in what you can."))
    for col in extract.columns:
        if col.type == "sex" and not col.allowed:
            pct = f"{UNKNOWN_SEX_SHARE_MAX:.0%}"
            rules.append(_rule(
                "expect_column_values_to_be_in_set",
                {"column": col.stored_name, "value_set": ["1", "2"], "mostly": round(1 - UNKNOWN_SEX_SHARE_MAX, 4)},
                rule_id=f"unknown_sex_share.{col.stored_name}", severity="warning",
                zh=f"「{_zh(col)}」为0（未知）或9（未说明）的记录超过 {pct}：请尽量核实并填写1（男）或2（女）。",
                en=f"More than {pct} of rows have {col.stored_name} unknown (0) or not stated (9); verify and record 1 or 2 where possible."))
    if extract.name == "births":
        rules.append(_rule(
            "expect_column_values_to_be_between", {"column": "mean_birth_weight_g", "min_value": 3000, "max_value": 3500},
            rule_id="mean.birth_weight_g", severity="warning", scope="period",
            metric={"agg": "mean", "column": "birth_weight_g"},
            zh="平均出生体重不在3000–3500克之间：请核对出生体重是否以克为单位填写、是否有成批录入错误。",
            en="Mean birth weight is outside 3000-3500 g; check that weights are in grams and look for systematic entry errors."))
        rules.append(_rule(
            "expect_column_values_to_be_between", {"column": "male_share_child_sex", "min_value": 0.49, "max_value": 0.56},
            rule_id="male_share.child_sex", severity="warning", scope="period",
            metric={"agg": "share", "column": "child_sex", "values": ["1"], "among": ["1", "2"]},
            zh="男婴占活产的比例不在49%–56%之间（正常出生性别比103–107约为51%–52%）：请核对婴儿性别是否填反、是否漏报。",
            en="The share of boys among live births is outside 0.49-0.56 (a normal sex ratio at birth of 103-107 is about 0.51); check for swapped sex codes or missing records."))
    if extract.name in EVERY_TOWNSHIP_EXPECTED:
        rules.append(_rule(
            "expect_column_values_to_be_between",
            {"column": "townships_reporting", "min_value": {"$PARAMETER": "township_count"}},
            rule_id="townships_reporting", severity="warning", scope="period",
            metric={"agg": "distinct_count", "column": "township_code"},
            zh="有乡镇街道在该期没有任何记录：请核对是否漏报了某个乡镇街道的数据。",
            en="Some township has no rows in the period; check whether a township's records were left out."))
    if extract.name in ("students", "student_health"):
        for stage, (types, lo, hi, zh_stage) in SCHOOL_STAGES.items():
            # a GX 1.x row condition, serialised (= Column("school_type").is_in(types))
            condition = {"type": "comparison", "column": {"name": "school_type"}, "operator": "IN", "parameter": types}
            grades = f"{lo}" if lo == hi else f"{lo}–{hi}"
            rules.append(_rule(
                "expect_column_values_to_be_between",
                {"column": "grade", "min_value": lo, "max_value": hi, "row_condition": condition},
                rule_id=f"grade_fits_school_type.{stage}", severity="warning",
                zh=f"{zh_stage}学生的「年级」应为{grades}：请核对年级或学校类型是否填错。",
                en=f"Students of {stage.replace('_', ' ')} schools should be in grade {grades.replace('–', '-')}; check the grade or the school type."))
    return rules


def _parameters_used(rules: list[dict[str, Any]]) -> set[str]:
    used: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "$PARAMETER" in value:
                used.add(value["$PARAMETER"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk([r["kwargs"] for r in rules])
    return used


def suite_path(extract: Extract, root: Path = EXPECTATIONS_DIR) -> Path:
    return root / extract.department / f"{extract.name}.json"


def render(suite: dict[str, Any]) -> str:
    return json.dumps(suite, ensure_ascii=False, indent=2) + "\n"


def build_all(contracts: Contracts | None = None, root: Path = EXPECTATIONS_DIR) -> dict[Path, str]:
    """Every suite file's path and exact text."""
    contracts = contracts or load_contracts()
    return {suite_path(e, root): render(build_suite(e, contracts)) for e in contracts.extracts.values()}


def orphan_suites(files: dict[Path, str], root: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Suite files on disk that no contract extract produces (e.g. an extract was removed)."""
    return sorted(p for p in root.glob("*/*.json") if p not in files)


def _check_with_gx(files: dict[Path, str]) -> None:
    """Parse every suite with GX itself, so a wrong expectation type or argument fails here, not at run time."""
    import great_expectations as gx

    for path, text in files.items():
        gx.ExpectationSuite(**{k: v for k, v in json.loads(text).items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a suite file is missing or stale")
    parser.add_argument("--no-gx", action="store_true", help="skip parsing the suites with Great Expectations")
    args = parser.parse_args(argv)
    files = build_all()
    if not args.no_gx:
        _check_with_gx(files)
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    orphans = orphan_suites(files)
    for p in orphans:
        print(f"no contract extract for suite {p.relative_to(PROJECT_ROOT)}: delete it", file=sys.stderr)
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(PROJECT_ROOT)}", file=sys.stderr)
        return 1 if stale or orphans else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path], encoding="utf-8")
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    print(f"{len(files)} suites, {len(stale)} updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
