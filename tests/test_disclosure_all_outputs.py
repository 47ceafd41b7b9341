"""One disclosure policy for every output: every file of a run is either public - and then no suppressed count
can be recovered from all public files together (tests/disclosure_attack.py) - or named and marked internal.

The run is the shared sample run (`make run` on the committed sample). The attack is also shown to work: a
deliberately leaky set of outputs is caught (so this test can fail).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from dagster_project.exports.disclosure import load_decisions
from tests.compendium_workbook import public_compendium_cells, sheet_tables
from tests.disclosure_attack import Published, Truth, attack

pytestmark = pytest.mark.slow(seconds=150)

INTERNAL_MARK = "内部使用"
SEX_LABELS = {"女": "2", "男": "1", "合计": "_T"}
SDMX_SEX = {"F": "2", "M": "1", "_T": "_T"}
SUBMISSION_SEXES = [("女 Female", "女·分子 Female numerator", "2", "女"), ("男 Male", "男·分子 Male numerator", "1", "男"),
                    ("合计 Total", "合计·分子 Total numerator", "_T", "合计")]


# ------------------------------------------------------------------------------------------- which files are public
def classify(path: Path, exports: Path) -> str:
    """'internal' | 'not_statistics' | a public kind the attack reads. An unknown file fails the test: a new
    output must be classified here (and, if public, read by the attack)."""
    relative = path.relative_to(exports)
    parts = relative.parts
    if any(INTERNAL_MARK in part for part in parts):
        return "internal"
    if parts[0] == "feedback":
        return "internal"        # returned to the department that sent the rows (its own records)
    if parts[0] in ("quality", "data_dictionary"):
        return "internal"        # the monitoring group's quality pages; dbt docs (no figures)
    if parts[0] == "submissions":
        name = parts[-1]
        if name == "LATEST" or name == "manifest.json" or "_snapshot" in parts:
            return "internal"    # bookkeeping of the snapshots (the values kept for the next diff)
        if re.fullmatch(r"公开_省级报送_\d{4}\.csv", name):
            return "submission_csv"
        if re.fullmatch(r"公开_省级报送_\d{4}\.xlsx", name):
            return "submission_xlsx"
        if re.fullmatch(r"公开_SDMX_\d{4}\.csv", name):
            return "sdmx_csv"
        if re.fullmatch(r"公开_报送情况_\d{4}\.csv", name):
            return "completeness_csv"
        if name.startswith("公开_") and name.endswith(".xml"):
            return "sdmx_structure"
    if parts[0] == "reports" and re.fullmatch(r"公开_统计资料_\d{4}\.xlsx", parts[-1]):
        return "compendium_xlsx"
    if parts[0] == "reports" and re.fullmatch(r"公开_统计资料_\d{4}\.(html|pdf)", parts[-1]):
        return "compendium_print"  # the same tables as the workbook, printed (tests/test_compendium.py compares them)
    if parts[0] == "indicators" and parts[-1].startswith("公开_指标数据_"):
        return {".csv": "indicators_csv", ".xlsx": "indicators_xlsx", ".parquet": "indicators_parquet"}.get(path.suffix, "unknown")
    return "unknown"


def outputs_of(exports: Path) -> dict[str, list[Path]]:
    kinds: dict[str, list[Path]] = {}
    for path in sorted(p for p in exports.rglob("*") if p.is_file()):
        kinds.setdefault(classify(path, exports), []).append(path)
    return kinds


# ------------------------------------------------------------------------------------------- reading what is public
def _number(text) -> float | None:
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        return None if isinstance(text, float) and math.isnan(text) else float(text)
    try:
        return float(str(text).replace(",", ""))
    except ValueError:
        return None


def read_submission_rows(rows: list[dict], year: int, output: str, published: Published, count_units: set[str]) -> None:
    for row in rows:
        code, area = row["指标代码 Code"], row["地区代码 Area code"]
        note = row.get("小数保护 Suppression") or ""
        for value_col, num_col, sex, label in SUBMISSION_SEXES:
            if f"{label}一次抑制" in note:  # a told primary: most often its numerator is 1..threshold
                published.primary_marked.add((code, "numerator", year, area, sex))
            published.add_count(output, code, "numerator", year, area, sex, _number(row.get(num_col)))
            if code in count_units:
                published.add_count(output, code, "numerator", year, area, sex, _number(row.get(value_col)))
            else:
                published.add_rate(output, code, year, area, sex, _number(row.get(value_col)))


def read_indicator_rows(rows: list[dict], output: str, published: Published, sex_codes: dict[str, str],
                        structure: dict) -> None:
    for row in rows:
        code, year, area = row["指标代码 Indicator code"], int(float(row["年度 Year"])), row["地区代码 Area code"]
        sex = sex_codes[row["性别 Sex"]]
        structure.setdefault(code, set()).add((row["年龄组 Age group"], row["城乡 Residence"]))
        published.add_count(output, code, "numerator", year, area, sex, _number(row["分子 Numerator"]))
        published.add_count(output, code, "denominator", year, area, sex, _number(row["分母 Denominator"]))
        published.add_rate(output, code, year, area, sex, _number(row["数值 Value"]))
        if _number(row["95%置信区间下限 CI lower"]) is not None or _number(row["95%置信区间上限 CI upper"]) is not None:
            published.cis[(code, year, area, sex)].add(output)
        note = row.get("小数保护 Suppression") or ""
        for label, kind in (("分子", "numerator"), ("分母", "denominator")):
            if f"{label}一次抑制" in note:
                published.primary_marked.add((code, kind, year, area, sex))


def _xlsx_rows(path: Path, sheets=None) -> list[dict]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows: list[dict] = []
    try:
        for sheet in book.worksheets:
            if sheets is not None and not sheets(sheet.title):
                continue
            values = list(sheet.iter_rows(values_only=True))
            if not values:
                continue
            header = [str(h) if h is not None else "" for h in values[0]]
            rows += [dict(zip(header, r)) for r in values[1:]]
    finally:
        book.close()
    return rows


def read_public_outputs(exports: Path, con) -> tuple[Published, dict]:
    """Everything the public files show, pooled; and each indicator's (age group, residence) combinations."""
    published = Published()
    structure: dict = {}
    count_units = {r[0] for r in con.execute(
        "SELECT indicator_code FROM main_marts.dim_indicator WHERE unit = 'count'").fetchall()}
    sex_codes = dict(con.execute("SELECT name_zh, sex_code FROM main_marts.dim_sex").fetchall())
    for kind, paths in outputs_of(exports).items():
        for path in paths:
            output = str(path.relative_to(exports))
            year = int(re.search(r"_(\d{4})\.", path.name).group(1)) if re.search(r"_(\d{4})\.", path.name) else None
            if kind == "submission_csv":
                read_submission_rows(pl.read_csv(path, infer_schema_length=0).to_dicts(), year, output, published, count_units)
            elif kind == "submission_xlsx":
                rows = _xlsx_rows(path, sheets=lambda title: title not in ("说明 Notes", "报送情况 Completeness", "扣发与覆盖不全 Withheld"))
                read_submission_rows(rows, year, output, published, count_units)
            elif kind == "sdmx_csv":
                frame = pl.read_csv(path, infer_schema_length=0)
                kinds_told = "D" in set(frame["CONF_STATUS"])  # then C means primary
                for row in frame.iter_rows(named=True):
                    code, area, sex = row["INDICATOR"].lower(), row["REF_AREA"], SDMX_SEX.get(row["SEX"])
                    value = _number(row["OBS_VALUE"])
                    if kinds_told and row["CONF_STATUS"] == "C" and sex is not None:
                        published.primary_marked.add((code, "numerator", year, area, sex))
                    if sex is None or row.get("URBANISATION", "_T") != "_T":
                        assert value is None, f"{output}: a public observation outside the public cells: {row}"
                        continue
                    if code in count_units:
                        published.add_count(output, code, "numerator", year, area, sex, value)
                    else:
                        published.add_rate(output, code, year, area, sex, value)
            elif kind == "completeness_csv":
                frame = pl.read_csv(path, infer_schema_length=0)
                assert not [c for c in frame.columns if "记录" in c or "rows" in c.lower()], \
                    f"{output}: row counts of a register reveal small counts"
            elif kind == "sdmx_structure":
                text = path.read_text(encoding="utf-8")
                assert not re.search(r"ObsValue|OBS_VALUE=|<Obs\b", text), f"{output}: a structure file with observations"
            elif kind == "indicators_csv":
                read_indicator_rows(pl.read_csv(path, infer_schema_length=0).to_dicts(), output, published, sex_codes, structure)
            elif kind == "indicators_parquet":
                frame = pl.read_parquet(path).with_columns(pl.all().cast(pl.String))
                read_indicator_rows(frame.to_dicts(), output, published, sex_codes, structure)
            elif kind == "compendium_xlsx":
                # the figures by sex of the district and its townships (residence total); the compendium's own
                # linked tables (urban/rural, population by age) are attacked in tests/test_compendium.py
                for key, value in public_compendium_cells(sheet_tables(path), con).items():
                    if key[0] == "p" or key[4] != "_T":
                        continue
                    measure, code, cell_year, area, _, sex = key
                    if measure == "n":
                        published.add_count(output, code, "numerator", cell_year, area, sex, value)
                    elif code not in count_units:
                        published.add_rate(output, code, cell_year, area, sex, value)
            elif kind == "indicators_xlsx":
                rows = _xlsx_rows(path, sheets=lambda title: "说明" not in title)
                read_indicator_rows(rows, output, published, sex_codes, structure)
    return published, structure


# ------------------------------------------------------------------------------------------- what the warehouse knows
def quantity_of(row: dict, kind: str):
    """What a count is: its catalogue definition (the same words and age group are the same persons or events)."""
    text = row[f"{kind}_zh"]
    if text:
        return ("defined", text, row["age_group_code"])
    base = row["computed_from"] if row["computed_from"] and not row["derivation"] else row["indicator_code"]
    return ("indicator", base, kind)


def warehouse_truth(con, data_dir: Path) -> Truth:
    decisions = load_decisions(con, data_dir)
    indicators = {r["indicator_code"]: r for r in con.execute(
        "SELECT indicator_code, unit, factor, numerator_zh, denominator_zh, age_group_code, computed_from, derivation "
        "FROM main_marts.dim_indicator").pl().iter_rows(named=True)}
    counts, statuses, value_status = {}, {}, {}
    quantity = {}
    for r in decisions.cells.iter_rows(named=True):
        code = r["indicator_code"]
        ind = indicators[code]
        if not r["protects_counts"]:
            continue  # GPIs (rates of rates) and averages: their counts are not counts of persons
        cell = (code, r["period_year"], r["area_code"], r["sex"])
        value_status[cell] = r["value_status"]
        kinds = ["numerator"] + (["denominator"] if ind["unit"] != "count" else [])
        for kind in kinds:
            quantity[(code, kind)] = quantity_of(ind, kind)
            counts[(code, kind, *cell[1:])] = float(r[kind] or 0.0)
            statuses[(code, kind, *cell[1:])] = r[f"{kind}_status"]
    # one quantity only where every indicator defining it holds the same counts; otherwise keep them apart
    by_quantity: dict = {}
    for (code, kind, year, area, sex), value in counts.items():
        by_quantity.setdefault((quantity[(code, kind)], year, area, sex), set()).add(value)
    clashing = {q for (q, *_), values in by_quantity.items() if len(values) > 1}
    for key, q in list(quantity.items()):
        if q in clashing:
            quantity[key] = ("indicator", *key)
    areas = con.execute("SELECT area_code, parent_code FROM main_marts.dim_area WHERE is_reported "
                        "ORDER BY level_order, area_code").fetchall()
    reported = {a for a, _ in areas}
    children: dict[str, list[str]] = {}
    for area, parent in areas:
        if parent in reported:
            children.setdefault(parent, []).append(area)
    return Truth(
        counts=counts, statuses=statuses, value_status=value_status, children=children, areas=[a for a, _ in areas],
        factor={c: (1.0 if r["unit"] == "count" else float(r["factor"] or 1.0)) for c, r in indicators.items()},
        quantity=quantity,
        gpi_base={c: r["computed_from"] for c, r in indicators.items() if r["derivation"] == "gpi" and r["computed_from"]},
        threshold=decisions.threshold,
    )


# ------------------------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def run(sample_warehouse):
    exports, data_dir = sample_warehouse["exports"], sample_warehouse["warehouse"]
    con = duckdb.connect(str(data_dir / "work.duckdb"), read_only=True)
    try:
        published, structure = read_public_outputs(exports, con)
        truth = warehouse_truth(con, data_dir)
    finally:
        con.close()
    return exports, published, structure, truth


def test_every_output_is_public_or_named_internal(run):
    exports, *_ = run
    kinds = outputs_of(exports)
    assert "unknown" not in kinds, f"outputs neither public (read by the attack) nor named {INTERNAL_MARK}: {kinds['unknown']}"
    for kind in ("submission_csv", "submission_xlsx", "sdmx_csv", "indicators_csv", "indicators_xlsx", "indicators_parquet"):
        assert kinds.get(kind), f"no public {kind} in the run"
    # the reports show every count: internal, in the file name and the title
    reports = kinds["internal"]
    names = [p.name for p in reports if p.parent.name == "reports"]
    assert names and all(n.startswith(INTERNAL_MARK) for n in names), names
    for path in (p for p in reports if p.suffix == ".html" and p.parent.name == "reports"):
        html = path.read_text(encoding="utf-8")
        # the title names it internal, and a banner says so on the page (and on every printed page)
        assert re.search(r"<title>[^<]*内部使用", html), path.name
        assert re.search(r'<div class="[^"]*banner[^"]*"[^>]*>\s*内部使用', html), path.name


def test_public_outputs_show_only_the_public_cells(run):
    """No age group or residence detail in public: one (defining age group, residence total) per indicator."""
    _, published, structure, truth = run
    assert structure, "the public indicator export holds no rows"
    assert {k: v for k, v in structure.items() if len(v) != 1 or next(iter(v))[1] != "合计"} == {}
    public_cells = {(c, y, a, s) for (c, _, y, a, s) in truth.counts}
    protected = {c for c, *_ in public_cells}
    shown = {(c, y, a, s) for (c, _, y, a, s) in published.counts} | set(published.rates)
    assert {cell for cell in shown if cell[0] in protected} - public_cells == set()


def test_no_suppressed_count_is_recoverable_from_all_public_outputs_together(run):
    _, published, _, truth = run
    suppressed = truth.suppressed()
    assert sum(1 for s in suppressed.values() if s == "primary") > 100  # the sample has plenty of small cells
    # the public files do hide them: a suppressed count shown anywhere is reported by the attack as "published"
    # the intruder also uses every mark telling a primary suppression (1..threshold) from a secondary one
    assert not published.primary_marked, "a public output tells primary from secondary suppressions"
    recovered = attack(published, truth)
    assert recovered == [], "\n".join(str(r) for r in recovered[:30]) + f"\n… {len(recovered)} in all"
