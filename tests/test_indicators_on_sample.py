"""Every indicator of both plans on the committed sample, after one full run of the CLI."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow(seconds=80)

ROOT = Path(__file__).resolve().parent.parent
# the full text of both plans, kept in the repository so a clone needs nothing beside it
PLAN = ROOT / "docs" / "plan" / "shuangqing_women_and_children_plans_2021-2025.txt"
CATALOGUE = ROOT / "dbt" / "seeds" / "indicator_catalogue.csv"


def catalogue() -> list[dict[str, str]]:
    with CATALOGUE.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def published(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse["warehouse"] / "monitoring.duckdb"), read_only=True,
                         config={"enable_external_access": False})
    yield con
    con.close()


def test_every_catalogue_indicator_has_a_district_value_for_2020_to_2024(published):
    rows = catalogue()
    assert len(rows) >= 50
    distinct = published.execute("SELECT count(DISTINCT indicator_code) FROM marts.fct_indicator_values").fetchone()[0]
    assert distinct >= len(rows)
    years = dict(published.execute(
        "SELECT indicator_code, list(DISTINCT period_year ORDER BY period_year) FROM marts.fct_indicator_values "
        "WHERE area_code = '430502' AND period_year BETWEEN 2020 AND 2024 GROUP BY 1").fetchall())
    missing = {r["indicator_code"]: years.get(r["indicator_code"]) for r in rows
               if years.get(r["indicator_code"]) != [2020, 2021, 2022, 2023, 2024]}
    assert not missing, f"indicators without a district row for every year 2020-2024: {missing}"


def test_person_based_indicators_have_female_male_and_total_rows(published):
    by_sex = [r["indicator_code"] for r in catalogue() if r["sex_scope"] == "by_sex"]
    assert by_sex
    found = dict(published.execute(
        "SELECT indicator_code, list(DISTINCT sex ORDER BY sex) FROM marts.fct_indicator_values "
        "WHERE area_code = '430502' AND period_year = 2023 GROUP BY 1").fetchall())
    lacking = [code for code in by_sex if not {"1", "2", "_T"} <= set(found.get(code, []))]
    assert not lacking


def test_township_values_exist_for_record_based_indicators(published):
    townships = published.execute(
        "SELECT count(DISTINCT area_code) FROM marts.fct_indicator_values "
        "WHERE indicator_code = 'c_hlt_infant_mortality' AND period_year = 2023").fetchone()[0]
    assert townships == 13  # 12 townships + the district


# (indicator_code, operator, value, the plan's own words) — the targets as the plan states them.
SPOT_TARGETS = [
    ("w_hlt_maternal_mortality", "<=", 12, "孕产妇死亡率控制在12/10万以下"),
    ("w_hlt_cervical_screening", ">=", 70, "适龄妇女宫颈癌人群筛查率达70%以上"),
    ("w_hlt_hiv_mtct", "<=", 3, "艾滋病母婴传播率下降至3%以下"),
    ("c_hlt_infant_mortality", "<=", 5, "婴儿死亡率和新生儿死亡率分别控制在6‰、5‰和3‰以下"),
    ("c_hlt_u5_mortality", "<=", 6, "5岁以下儿童死亡率、婴儿死亡率和新生儿死亡率分别控制在6‰"),
    ("c_hlt_neonatal_mortality", "<=", 3, "新生儿死亡率分别控制在6‰、5‰和3‰以下"),
    ("c_edu_preschool_ger", ">=", 92, "学前三年毛入园率达到92%"),
    ("c_hlt_child_system_management", ">=", 90, "3岁以下儿童系统管理率和7岁以下儿童健康管理率均达到90%以上"),
    ("c_wel_childcare_places_per_1000", ">=", 4.5, "每千人拥有3岁以下婴幼儿托位数达到4.5个以上"),
    ("w_dec_village_committee_female_share", ">=", 30, "村委会成员中女性比例达到30%以上"),
    ("c_saf_injury_mortality", "pct_change_vs_baseline", -20, "儿童伤害死亡率以2020年为基数下降20%"),
]


@pytest.mark.parametrize("code,operator,value,words", SPOT_TARGETS)
def test_catalogue_targets_match_the_plan_text(code, operator, value, words):
    plan = re.sub(r"\s+", "", PLAN.read_text(encoding="utf-8"))
    assert words in plan, f"the plan does not say: {words}"
    rows = {r["indicator_code"]: r for r in catalogue()}
    assert code in rows, f"{code} not in the catalogue"
    assert rows[code]["target_operator"] == operator
    assert float(rows[code]["target_value"]) == pytest.approx(value)


def test_the_run_prints_where_results_are_and_how_to_open_them_read_only(sample_warehouse):
    out = sample_warehouse["stdout"]
    assert "monitoring.duckdb" in out and "-readonly" in out


def test_the_run_reports_in_a_screenful_and_keeps_the_full_log_in_a_file(sample_warehouse):
    """Stage lines, the file table, the publication summary and where things are: under 60 lines, no DEBUG;
    Dagster's whole log is in the file the run names."""
    out, err = sample_warehouse["stdout"], sample_warehouse["stderr"]
    lines = (out + err).splitlines()
    assert len(lines) < 60, len(lines)
    assert "DEBUG" not in out + err and "Traceback" not in out + err
    stages = [line for line in out.splitlines() if re.match(r"\[\d/6\] ", line)]
    assert len(stages) == 6 and all(line.endswith("完成 ok") for line in stages), stages
    log = Path(re.search(r"完整日志 full log: (\S+)", out).group(1))
    text = log.read_text(encoding="utf-8")
    assert text.count("STEP_SUCCESS") >= 40 and "RUN_SUCCESS" in text
