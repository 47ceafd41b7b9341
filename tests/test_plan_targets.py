"""Every number the two plans set, wherever it is written, is in the indicator catalogue or listed as not a target.

The plans' text (docs/plan/) is parsed into clauses, `<domain>·主要目标N` and `<domain>·策略措施N` (N is the
clause's own number in the text), and every number in them is taken with its unit and the words around it:
percentages, ‰, /10万, counts (名 张 个 所 家 人), ranges (3-5家, 0—6岁, 35岁至45岁), ages, years, hours, the
few numbers written in words (一半, 全覆盖, 应保尽保, 两次) and the yes/no facility goals (达到二级标准, 建有…中心).
The operator comes from the plan's own verb: >= for 达到/以上/不低于/至少/增至/稳定在, > for 超过/高于, <= for
以下/以内/控制在/降至, ≈ for 左右, = for 实现…全覆盖.

Each number must be either a catalogue target (same clause, operator and value, a compatible unit, and its
target_text_zh the plan's own words around the number) or a row of dbt/seeds/plan_numbers_outside_catalogue.csv
(an age, a year, a norm with no data ...). Conversely every catalogue target quotes its clause and a number in
those words, and every 主要目标 goal is cited by an indicator or listed as not measured. Only files in the
repository are read.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "docs" / "plan" / "shuangqing_women_and_children_plans_2021-2025.txt"
CATALOGUE = ROOT / "dbt" / "seeds" / "indicator_catalogue.csv"
OUTSIDE = ROOT / "dbt" / "seeds" / "plan_numbers_outside_catalogue.csv"
COVERAGE_DOC = ROOT / "docs" / "plan_coverage.md"

KINDS = {"not_a_target", "not_measured", "measured_under_other_clause"}
# Operators of a target that has a number of its own (increase/decrease/balanced have none in the text).
NUMERIC_OPERATORS = {">=", ">", "<=", "=", "≈", "pct_change_vs_baseline"}


# ------------------------------------------------------------------------------------------------
# The plans' text as clauses
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clause:
    plan: str          # women | children
    key: str           # 妇女与健康·策略措施5
    section: str       # 主要目标 | 策略措施
    text: str          # the clause without its number and without whitespace


def read_clauses(path: Path = PLAN) -> dict[str, Clause]:
    """The numbered clauses of part 二 (发展领域、主要目标和策略措施) of both plans."""
    clauses: dict[str, list] = {}
    plan = domain = section = key = None
    in_domains = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"\s+", "", raw)
        if not line:
            continue
        if line.startswith("双清区妇女发展规划"):
            plan, in_domains = "women", False
        elif line.startswith("双清区儿童发展规划"):
            plan, in_domains = "children", False
        elif re.match(r"^[一二三四五六七八九十]+、", line):
            # only part 二 holds the domains; 三、组织实施 and 四、监测评估 set no figures
            in_domains, domain, section, key = line.startswith("二、"), None, None, None
        elif in_domains and (m := re.match(r"^（[一二三四五六七八九十]+）(.+)$", line)):
            domain, section, key = m.group(1), None, None
        elif in_domains and domain and line in ("主要目标", "策略措施"):
            section, key = line, None
        elif in_domains and domain and section:
            if m := re.match(r"^(\d+)\.", line):
                key = f"{domain}·{section}{m.group(1)}"
                assert key not in clauses, f"clause {key} twice"
                clauses[key] = [plan, section, line[m.end():]]
            elif key:       # a clause running over two lines (妇女与经济·策略措施6)
                clauses[key][2] += line
    return {k: Clause(p, k, s, t) for k, (p, s, t) in clauses.items()}


# ------------------------------------------------------------------------------------------------
# Numbers, their units and the plan's verb
# ------------------------------------------------------------------------------------------------
UNITS = ["/10万", "‰", "%", "个月", "月龄", "小时", "课时", "岁", "年", "天", "次", "名", "张", "个", "所", "家", "人"]
_UNIT = "|".join(re.escape(u) for u in UNITS)
NUMBER = re.compile(rf"(?P<low>\d+(?:\.\d+)?)(?:(?P<unit1>{_UNIT})?(?:[-—–]|至)(?P<high>\d+(?:\.\d+)?))?(?P<unit>{_UNIT})?")
# Numbers written in words: (pattern, value, unit). 'facility' = a yes/no facility goal (a count >= 1).
WORDS = [
    (re.compile(r"一半"), 50.0, "%"),
    (re.compile(r"(?<!健)全覆盖|应保尽保"), 100.0, "%"),          # not 健全覆盖全民 (健全 + 覆盖)
    (re.compile(r"达到[一二三]级标准"), 1.0, "facility"),
    (re.compile(r"建有[^，。；]*?中心"), 1.0, "facility"),
    (re.compile(r"(?<![第“])[一两二三四五六七八九十]+(?:次|课时)(?!性)"), None, "次"),
    (re.compile(r"不低于中部平均水平"), None, ""),
]
COUNT_UNITS = {"名", "张", "个", "所", "家", "人"}
# unit of the number in the text -> catalogue units it can be the target of
CATALOGUE_UNITS = {
    "%": {"percent"}, "‰": {"per_1000"}, "/10万": {"per_100k"}, "facility": {"count"},
    **{u: {"count", "per_1000", "per_1000_population"} for u in COUNT_UNITS},
}
# the plan's verbs, nearest before the number (a longer verb ending later wins: 达到 over 达)
VERBS = {
    "超过": ">", "高于": ">",
    "达到": ">=", "达": ">=", "不低于": ">=", "不少于": ">=", "至少": ">=", "增至": ">=", "提高到": ">=",
    "稳定在": ">=", "保持在": ">=", "设置": ">=", "配备": ">=", "建立": ">=",
    "控制在": "<=", "降至": "<=", "下降至": "<=", "不超过": "<=",
    "实现": "=",
}
AFTER = {"以上": ">=", "以下": "<=", "以内": "<=", "左右": "≈"}
SEGMENT_END = "，。；：！？"
SENTENCE_END = "。；！？"


@dataclass(frozen=True)
class Number:
    clause: str
    start: int
    end: int
    text: str                 # as written: 12/10万, 3-5家, 一半
    value: float | None       # the target's value (the low end of a range)
    unit: str
    operator: str | None
    segment: str              # between ，。； around the number
    sentence: str             # between 。； around the number

    def __str__(self) -> str:
        return f"{self.clause}: {self.text} ({self.operator} {self.value}) in 「{self.segment}」"


def _bounds(text: str, start: int, end: int, stops: str) -> tuple[int, int]:
    left = max(text.rfind(c, 0, start) for c in stops) + 1
    rights = [i for i in (text.find(c, end) for c in stops) if i >= 0]
    return left, min(rights) if rights else len(text)


def operator_of(text: str, start: int, end: int) -> str | None:
    seg_start, seg_end = _bounds(text, start, end, SEGMENT_END)
    after, before = text[end:seg_end], text[seg_start:start]
    for word, op in AFTER.items():
        if after.startswith(word):
            return op
    if "为基数下降" in before:
        return "pct_change_vs_baseline"
    found = [(before.rfind(v) + len(v), len(v), op) for v, op in VERBS.items() if v in before]
    return max(found)[2] if found else None


def numbers_in(clause: Clause) -> list[Number]:
    text, spans = clause.text, []
    for m in NUMBER.finditer(text):
        unit = m.group("unit") or m.group("unit1") or ""
        spans.append((m.start(), m.end(), float(m.group("low")), unit, m.group("high") is not None))
    for pattern, value, unit in WORDS:
        spans += [(m.start(), m.end(), value, unit, False) for m in pattern.finditer(text)]
    out = []
    for start, end, value, unit, is_range in sorted(spans):
        op = operator_of(text, start, end)
        if op is None and ((is_range and unit in COUNT_UNITS) or unit == "facility"):
            op = ">="          # a range the plan aims at (3-5家): at least its lower end; 达到二级标准, 建有…中心: yes
        if op == "pct_change_vs_baseline" and value is not None:
            value = -value     # 下降20% -> -20
        s0, s1 = _bounds(text, start, end, SEGMENT_END)
        t0, t1 = _bounds(text, start, end, SENTENCE_END)
        out.append(Number(clause.key, start, end, text[start:end], value, unit, op, text[s0:s1], text[t0:t1]))
    return out


# ------------------------------------------------------------------------------------------------
# The checks (functions, so a test can run them on a changed catalogue and see them fail)
# ------------------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _covers(text: str, words: str, number: Number) -> bool:
    """The words occur in the clause at a place that holds the number."""
    if not words:
        return False
    i = text.find(words)
    while i >= 0:
        if i <= number.start and number.end <= i + len(words):
            return True
        i = text.find(words, i + 1)
    return False


def _same_operator(catalogue_op: str, plan_op: str | None, value: float) -> bool:
    # 100 % cannot be exceeded: 达到100% (>=) and 实现全覆盖 (=) are one target
    return catalogue_op == plan_op or (value == 100 and {catalogue_op, plan_op} <= {">=", "="})


def is_catalogue_target(row: dict[str, str], number: Number, clause: Clause) -> bool:
    op = row["target_operator"]
    if row["plan_clause"] != number.clause or op not in NUMERIC_OPERATORS or not row["target_value"]:
        return False
    if not _covers(clause.text, row["target_text_zh"], number):
        return False
    value = float(row["target_value"])
    # a change on the baseline (下降20%) is in percent whatever the indicator's unit
    units = CATALOGUE_UNITS.get(number.unit, set()) if op != "pct_change_vs_baseline" else {row["unit"]} if number.unit == "%" else set()
    if number.value is not None and value == number.value and _same_operator(op, number.operator, value) \
            and row["unit"] in units:
        return True
    # a minimum for every unit (每所卫生院至少1名…, 村级至少…1人) is monitored as the share of units
    # meeting it: 100 % of the units
    return (number.unit in COUNT_UNITS and number.operator in (">=", None) and ("每" in number.sentence or "村级" in number.sentence)
            and row["unit"] == "percent" and value == 100 and op in ("=", ">="))


def is_listed(row: dict[str, str], number: Number, clause: Clause) -> bool:
    return row["plan_clause"] == number.clause and row["number_text"] == number.text \
        and _covers(clause.text, row["words_zh"], number)


def uncovered_numbers(clauses, catalogue, outside) -> list[str]:
    problems = []
    for clause in clauses.values():
        for number in numbers_in(clause):
            targets = [r["indicator_code"] for r in catalogue if is_catalogue_target(r, number, clause)]
            listed = [r for r in outside if is_listed(r, number, clause)]
            if targets and listed:
                problems.append(f"{number}: both a target ({', '.join(targets)}) and listed as {listed[0]['kind']}")
            elif not targets and not listed:
                problems.append(f"{number}: neither a catalogue target nor in plan_numbers_outside_catalogue.csv")
    return problems


def targets_not_in_the_text(clauses, catalogue) -> list[str]:
    problems = []
    for row in catalogue:
        op, code = row["target_operator"], row["indicator_code"]
        if not op:
            continue
        clause = clauses.get(row["plan_clause"])
        if clause is None:
            problems.append(f"{code}: cites {row['plan_clause']!r}, which is not a clause of the plans")
            continue
        if not row["target_text_zh"] or row["target_text_zh"] not in clause.text:
            problems.append(f"{code}: target_text_zh 「{row['target_text_zh']}」 is not the words of {clause.key}")
            continue
        if op in NUMERIC_OPERATORS and row["target_value"]:
            if not any(is_catalogue_target(row, n, clause) for n in numbers_in(clause)):
                problems.append(f"{code}: {op} {row['target_value']} {row['unit']} is no number of 「{row['target_text_zh']}」 ({clause.key})")
        elif op in NUMERIC_OPERATORS and not row["target_reference_indicator"] and op != "≈":
            problems.append(f"{code}: operator {op} without a target value")
    return problems


def bad_outside_rows(clauses, catalogue, outside) -> list[str]:
    problems, codes = [], {r["indicator_code"] for r in catalogue}
    seen = set()
    for i, row in enumerate(outside, start=2):
        where = f"plan_numbers_outside_catalogue.csv line {i} ({row['plan_clause']} {row['number_text']})"
        clause = clauses.get(row["plan_clause"])
        key = (row["plan_clause"], row["number_text"], row["words_zh"])
        if key in seen:
            problems.append(f"{where}: twice")
        seen.add(key)
        if clause is None:
            problems.append(f"{where}: not a clause of the plans")
            continue
        if row["plan"] != clause.plan:
            problems.append(f"{where}: plan {row['plan']} but the clause is of the {clause.plan}' plan")
        if row["kind"] not in KINDS:
            problems.append(f"{where}: kind {row['kind']!r}")
        if not row["reason_zh"].strip() or not row["reason_en"].strip():
            problems.append(f"{where}: reason in Chinese and English needed")
        if row["words_zh"] not in clause.text:
            problems.append(f"{where}: 「{row['words_zh']}」 is not the plan's words")
        if row["number_text"] and not any(is_listed(row, n, clause) for n in numbers_in(clause)):
            problems.append(f"{where}: no number {row['number_text']!r} in those words")
        if not row["number_text"] and clause.section != "主要目标":
            problems.append(f"{where}: a goal row (no number) must be a 主要目标")
        if row["kind"] == "measured_under_other_clause":
            named = [c.strip() for c in row["indicator_codes"].split(";") if c.strip()]
            if not named or set(named) - codes:
                problems.append(f"{where}: indicator_codes {row['indicator_codes']!r} not all in the catalogue")
    return problems


def unmeasured_goals_not_listed(clauses, catalogue, outside) -> list[str]:
    cited = {r["plan_clause"] for r in catalogue}
    goal_rows = {r["plan_clause"] for r in outside if not r["number_text"]}
    return [f"{k}: no indicator cites this goal and it is not listed as unmeasured (「{c.text[:40]}…」)"
            for k, c in clauses.items() if c.section == "主要目标" and k not in cited and k not in goal_rows]


# ------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clauses() -> dict[str, Clause]:
    return read_clauses()


@pytest.fixture(scope="module")
def catalogue() -> list[dict[str, str]]:
    return read_csv(CATALOGUE)


@pytest.fixture(scope="module")
def outside() -> list[dict[str, str]]:
    return read_csv(OUTSIDE)


def test_the_plans_parse_into_their_numbered_clauses(clauses):
    goals = [k for k, c in clauses.items() if c.section == "主要目标"]
    assert len(goals) == 79 + 73          # the women's plan's 主要目标, the children's
    assert {c.plan for c in clauses.values()} == {"women", "children"}
    assert sum(1 for k in clauses if k.startswith("妇女与健康·主要目标")) == 10
    assert sum(1 for k in clauses if k.startswith("妇女与健康·策略措施")) == 12
    assert sum(1 for k in clauses if k.startswith("儿童与健康·策略措施")) == 14
    assert "村级至少保证有1人承担妇幼健康服务工作" in clauses["妇女与健康·策略措施2"].text
    assert "完善高校女毕业生创业扶持政策" in clauses["妇女与经济·策略措施6"].text   # the clause's second line


@pytest.mark.parametrize("clause,text,value,unit,operator", [
    ("妇女与健康·主要目标3", "12/10万", 12, "/10万", "<="),
    ("妇女与健康·策略措施5", "90%", 90, "%", ">="),
    ("妇女与健康·策略措施6", "15/10万", 15, "/10万", "<="),
    ("儿童与健康·策略措施2", "2.8张", 2.8, "张", ">="),
    ("儿童与健康·策略措施10", "25%", 25, "%", "<="),
    ("儿童与福利·策略措施13", "3-5家", 3, "家", ">="),
    ("儿童与健康·策略措施9", "0-6岁", 0, "岁", None),
    ("妇女与健康·策略措施5", "35岁至45岁", 35, "岁", None),
    ("妇女与经济·主要目标6", "40%", 40, "%", "≈"),
    ("妇女参与决策和管理·主要目标5", "一半", 50, "%", ">="),
    ("儿童与环境·主要目标7", "全覆盖", 100, "%", "="),
    ("儿童与安全·主要目标1", "20%", -20, "%", "pct_change_vs_baseline"),
    ("妇女与健康·策略措施2", "达到二级标准", 1, "facility", ">="),
])
def test_numbers_are_read_with_their_unit_and_the_plans_verb(clauses, clause, text, value, unit, operator):
    found = [n for n in numbers_in(clauses[clause]) if n.text == text]
    assert found, [str(n) for n in numbers_in(clauses[clause])]
    assert (found[0].value, found[0].unit, found[0].operator) == (value, unit, operator)


def test_超过_is_strictly_greater(clauses):
    treated = [n for n in numbers_in(clauses["妇女与健康·策略措施5"]) if "超过" in n.segment]
    assert [(n.text, n.operator) for n in treated] == [("90%", ">")]


def test_every_number_of_the_plans_is_a_catalogue_target_or_listed(clauses, catalogue, outside):
    problems = uncovered_numbers(clauses, catalogue, outside)
    assert not problems, "\n".join(problems)


def test_every_catalogue_target_quotes_its_clause_and_a_number_in_it(clauses, catalogue):
    problems = targets_not_in_the_text(clauses, catalogue)
    assert not problems, "\n".join(problems)


def test_every_listed_number_and_goal_is_in_the_plans_with_its_reason(clauses, catalogue, outside):
    problems = bad_outside_rows(clauses, catalogue, outside)
    assert not problems, "\n".join(problems)


def test_every_main_goal_is_measured_or_listed_as_unmeasured(clauses, catalogue, outside):
    problems = unmeasured_goals_not_listed(clauses, catalogue, outside)
    assert not problems, "\n".join(problems)


def _without(rows, code):
    return [r for r in rows if r["indicator_code"] != code]


def _changed(rows, code, **values):
    return [dict(r, **values) if r["indicator_code"] == code else r for r in rows]


def test_the_checks_fail_when_a_target_is_dropped_weakened_or_misquoted(clauses, catalogue, outside):
    # a target deleted: its number is no longer accounted for
    assert any("新生儿访视率保持在90%以上" in p for p in uncovered_numbers(clauses, _without(catalogue, "c_hlt_newborn_visit"), outside))
    # weakened to a direction (the state before this catalogue): the plan's 25% is left over
    weakened = _changed(catalogue, "c_hlt_caries_12", target_operator="decrease", target_value="")
    assert any("25%" in p for p in uncovered_numbers(clauses, weakened, outside))
    # 超过90% is not 达到90%以上
    wrong_op = _changed(catalogue, "w_hlt_cervical_cancer_treatment", target_operator=">=")
    assert any("超过90%" in p for p in uncovered_numbers(clauses, wrong_op, outside))
    assert any(p.startswith("w_hlt_cervical_cancer_treatment") for p in targets_not_in_the_text(clauses, wrong_op))
    # a wrong value, a wrong clause, words that are not the plan's
    assert targets_not_in_the_text(clauses, _changed(catalogue, "c_hlt_paediatric_beds_per_1000", target_value="2.5"))
    assert targets_not_in_the_text(clauses, _changed(catalogue, "c_hlt_newborn_visit", plan_clause="儿童与健康·策略措施3"))
    assert targets_not_in_the_text(clauses, _changed(catalogue, "c_hlt_infant_mortality", target_text_zh="婴儿死亡率控制在5‰以下"))
    # a number only listed: dropping its row leaves it unaccounted for
    rest = [r for r in outside if not (r["plan_clause"] == "妇女与法律·策略措施12" and r["number_text"] == "12338")]
    assert any("12338" in p for p in uncovered_numbers(clauses, catalogue, rest))
    # a goal left without an indicator and without a row
    rest = [r for r in outside if r["plan_clause"] != "妇女与健康·主要目标8"]
    problems = unmeasured_goals_not_listed(clauses, catalogue, rest)
    assert problems and all(p.startswith("妇女与健康·主要目标8") for p in problems)


def test_the_coverage_document_lists_every_unmeasured_goal_and_strategy_target(catalogue, outside):
    doc = COVERAGE_DOC.read_text(encoding="utf-8")
    missing = [f"{r['plan_clause']} 「{r['words_zh']}」" for r in outside
               if r["kind"] == "not_measured" and (r["words_zh"] not in doc or r["reason_zh"] not in doc)]
    missing += [r["indicator_code"] for r in catalogue
                if "策略措施" in r["plan_clause"] and r["target_operator"] and f"`{r['indicator_code']}`" not in doc]
    assert not missing, "docs/plan_coverage.md lacks:\n" + "\n".join(missing)
