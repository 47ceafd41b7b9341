"""What stopped a department's data, said so that the clerk who sent the file can act on it.

A blocking finding is a reason some of a department's figures are not computed from its latest file:

* a file rejected as a whole (`audit.file_loads`, status `rejected`, not replaced since by a file that
  loaded): unreadable, a required column missing, no sheet matching the template, ...;
* a period that failed the quality gate's blocking rules (`audit.gate_verdicts`), with each failed rule
  of that period (`audit.gx_results`: its Chinese description says what to do, its examples point at
  file and row).

(The validation rules across sources, `marts.fct_validation_findings`, never block: they are listed on
the feedback workbooks' 核查发现 sheet.) One reader for the three places that show them: the console
summary of `cli run`, `cli status` and the first sheet of the department's feedback workbook. Every
text here comes from the audit tables, where file names and values are already masked (no ID number).
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache

import duckdb

from dagster_project.config import SEEDS_DIR
from dagster_project.contracts import load_contracts

# At most this many findings are printed on the console (all are in the feedback workbooks).
LISTED = 20
_EXAMPLE_LOCATION = re.compile(r" @ (?P<file>[^@]+?):(?P<row>\d+)$")


@dataclass(frozen=True)
class BlockingFinding:
    kind: str                  # rejected_file | quality_gate
    department: str
    extract: str | None
    period_year: int | None
    source_file: str | None    # masked, as in the ledger
    sheet: str | None
    row: int | None            # the clerk's row number (header = 1), where one row is at fault
    column: str | None         # the contract column, where one column is at fault
    rule: str
    rows_affected: int | None
    problem_zh: str            # what is wrong and what to do, in Chinese
    problem_en: str
    examples: tuple[str, ...] = ()

    @property
    def where_zh(self) -> str:
        parts = [self.source_file or _extract_title(self.extract) or "-"]
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(f"列「{_column_zh(self.extract, self.column)}」({self.column})")
        return "，".join(parts)

    @property
    def what_zh(self) -> str:
        head = "整份文件拒收" if self.kind == "rejected_file" else "未通过质量关卡"
        count = f"，{self.rows_affected} 行" if self.rows_affected else ""
        return f"{head}（{self.rule}{count}）"


@lru_cache(maxsize=1)
def _department_labels() -> dict[str, str]:
    with (SEEDS_DIR / "department_labels.csv").open(encoding="utf-8") as fh:
        return {row["department"]: row["label_zh"] for row in csv.DictReader(fh)}


def department_label(department: str) -> str:
    return f"{_department_labels().get(department, department)} {department}"


def _extract_title(extract: str | None) -> str | None:
    found = load_contracts().extracts.get(extract) if extract else None
    return found.title_zh if found else None


def _column_zh(extract: str | None, column: str) -> str:
    try:
        col = load_contracts().extracts[extract].column(column)
    except KeyError:
        return column
    return col.zh[0] if col.zh else column


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                       "AND table_schema = ? AND table_name = ?", [schema, table]).fetchone()[0] > 0


def _line_of(notes: str | None) -> int | None:
    for note in json.loads(notes or "[]") if (notes or "").startswith("[") else []:
        if isinstance(note, str) and note.startswith("line "):
            tail = note[5:].strip()
            if tail.isdigit():
                return int(tail)
    return None


def _rejected_files(con: duckdb.DuckDBPyConnection) -> list[BlockingFinding]:
    rows = con.execute("""
        SELECT f.department, f.extract, f.period_year, f.source_file, f.sheet_name, f.message_zh, f.message_en,
               f.notes, f.rows_read
        FROM audit.file_loads f
        WHERE f.status = 'rejected' AND f.extract IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM audit.file_loads c
                          WHERE c.status = 'loaded' AND c.extract = f.extract
                            AND c.period_year IS NOT DISTINCT FROM f.period_year
                            AND c.source_department IS NOT DISTINCT FROM f.source_department
                            AND c.loaded_at > f.loaded_at)
        ORDER BY f.department, f.period_year, f.source_file""").fetchall()
    out = []
    for department, extract, year, file, sheet, zh, en, notes, rows_read in rows:
        rules = [n for n in json.loads(notes) if isinstance(n, str)] if (notes or "").startswith("[") else []
        rule = next((n for n in rules if re.fullmatch(r"[a-z_]+", n)), "rejected")
        out.append(BlockingFinding("rejected_file", department, extract, year, file, sheet, _line_of(notes), None,
                                   rule, rows_read or None, zh or "", en or ""))
    return out


def _gate_failures(con: duckdb.DuckDBPyConnection) -> list[BlockingFinding]:
    if not (_has(con, "audit", "gate_verdicts") and _has(con, "audit", "gx_results")):
        return []
    rows = con.execute("""
        WITH failed AS (
            SELECT g.extract, g.period_year, r.department, r.rule_id, r.column_name, r.unexpected_count,
                   r.description_zh, r.description_en, r.examples, r.observed_value
            FROM audit.gate_verdicts g
            JOIN audit.gx_results r
              ON r.extract = g.extract AND r.run_id = g.run_id AND r.severity = 'blocking' AND NOT r.success
             AND (r.period_years IS NULL OR g.period_year IS NULL
                  OR list_contains(CAST(r.period_years AS INTEGER[]), g.period_year))
            WHERE NOT g.passed_blocking
            -- the period's own validation when the periods were validated one by one, else the whole table's
            QUALIFY row_number() OVER (PARTITION BY g.extract, g.period_year, r.rule_id
                                       ORDER BY r.period_years IS NULL, r.recorded_at DESC) = 1)
        SELECT f.*, (SELECT string_agg(l.source_file, '、' ORDER BY l.source_file) FROM audit.file_loads l
                     WHERE l.is_current AND l.extract = f.extract AND l.period_year IS NOT DISTINCT FROM f.period_year),
               (SELECT any_value(l.sheet_name) FROM audit.file_loads l
                     WHERE l.is_current AND l.extract = f.extract AND l.period_year IS NOT DISTINCT FROM f.period_year)
        FROM failed f ORDER BY f.department, f.period_year, f.extract, f.rule_id""").fetchall()
    out = []
    for extract, year, department, rule, column, count, zh, en, examples, observed, files, sheet in rows:
        shown = tuple(json.loads(examples or "[]"))[:3]
        located = [_EXAMPLE_LOCATION.search(e) for e in shown]
        first_row = next((int(m["row"]) for m in located if m), None)
        problem_zh, problem_en = zh or rule, en or rule
        if not shown and observed:
            problem_zh += f"（实际：{observed}）"
            problem_en += f" (observed {observed})"
        out.append(BlockingFinding("quality_gate", department, extract, year, files, sheet, first_row,
                                   column if column and not column.startswith("_") else None, rule, count,
                                   problem_zh, problem_en, shown))
    return out


def read_blocking_findings(con: duckdb.DuckDBPyConnection) -> list[BlockingFinding]:
    """Every blocking finding in the working database (or a published snapshot: same `audit` schema)."""
    if not _has(con, "audit", "file_loads"):
        return []
    return _rejected_files(con) + _gate_failures(con)


def format_findings(findings: list[BlockingFinding], listed: int = LISTED) -> str:
    """Console lines, Chinese first: where (file, sheet, row, column), what failed, and what to do."""
    if not findings:
        return "阻断性问题：无 / blocking findings: none"
    lines = [f"阻断性问题 {len(findings)} 项（相关数据未计入指标，须由报送部门更正后重新报送；明细见各部门反馈表“阻断问题”页）"
             f" / {len(findings)} blocking finding(s): the department must correct and resend (feedback workbooks, "
             "sheet 阻断问题 Blocking)"]
    for f in findings[:listed]:
        year = f"{f.period_year}年度 " if f.period_year is not None else ""
        lines.append(f"  [{department_label(f.department)}] {year}{f.where_zh}：{f.what_zh}")
        lines.append(f"      处理办法：{f.problem_zh}")
        if f.examples:
            lines.append("      例 e.g.: " + "；".join(f.examples))
    if len(findings) > listed:
        lines.append(f"  …另有 {len(findings) - listed} 项 / {len(findings) - listed} more")
    return "\n".join(lines)


# The feedback workbook's sheet (exports/feedback.py): one row per finding of the department and year.
SHEET = "阻断问题 Blocking"
COLUMNS = ["类型 Kind", "文件 File", "工作表 Sheet", "行号 Row", "列 Column", "规则 Rule", "行数 Rows",
           "问题及处理办法", "Problem and what to do", "示例（已脱敏） Examples (masked)"]


def sheet_rows(findings: list[BlockingFinding], department: str, year: int | None) -> list[dict]:
    kinds = {"rejected_file": "整份拒收 file rejected", "quality_gate": "质量关卡 quality gate"}
    return [{
        "类型 Kind": kinds[f.kind], "文件 File": f.source_file, "工作表 Sheet": f.sheet, "行号 Row": f.row,
        "列 Column": f"{_column_zh(f.extract, f.column)} {f.column}" if f.column else None, "规则 Rule": f.rule,
        "行数 Rows": f.rows_affected, "问题及处理办法": f.problem_zh, "Problem and what to do": f.problem_en,
        "示例（已脱敏） Examples (masked)": "；".join(f.examples) or None,
    } for f in findings if f.department == department and f.period_year == year]
