"""The final evaluation (终期监测报告) of the 2021–2025 plans: one self-contained HTML file and its tables as XLSX.

    write_final_evaluation(settings) -> ($MONITOR_EXPORTS_DIR/reports/内部使用_终期监测报告_<period>.html, ….xlsx)

Everything it shows comes from dbt (marts.rpt_final_evaluation, rpt_final_evaluation_summary,
rpt_plan_goals_unmeasured, dim_status); this module only lays the rows out. It is written from whatever
years are loaded: before the target year it is a preview (预评估), and final once the target year is in.
Like the annual report it is an internal document for the working committee (no small-cell protection), named
and marked 内部使用 in the file names, the title, a banner, every printed page and every sheet of the workbook.
"""
from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import duckdb
import polars as pl
import xlsxwriter

from dagster_project import database
from dagster_project.config import Settings
from dagster_project.exports.worksheets import write_notes, write_sheet
from dagster_project.report import INTERNAL_PREFIX
from dagster_project.report.charts import fmt
from dagster_project.report.render import CSS, INTERNAL_BANNER, INTERNAL_MARK

PERIOD = "2021-2025"
FURTHEST = 10  # indicators listed as furthest from their target

# (column of rpt_final_evaluation, header: Chinese first, English beside) for the XLSX table
EVALUATION_COLUMNS = [
    ("plan_label_zh", "规划 Plan"), ("domain_zh", "领域 Domain"), ("indicator_code", "指标代码 Code"),
    ("name_zh", "指标 Indicator"), ("unit_label_zh", "单位 Unit"), ("target_short_zh", "目标 Target"),
    ("baseline_year", "基线年度 Baseline year"), ("baseline_value", "基线值 Baseline"),
    ("latest_year", "最近年度 Latest year"), ("latest_value", "最近值 Latest value"),
    ("change_since_baseline", "较基线变化 Change"), ("judged_value", "判断值 Judged value"),
    ("judged_ci_lower", "95%下限 CI lower"), ("judged_ci_upper", "95%上限 CI upper"),
    ("status_zh", "状态 Status"), ("evaluation_group_zh", "评估 Evaluation"), ("trend_zh", "趋势 Trend"),
    ("gender_gap_trend_zh", "性别差距 Gender gap"), ("township_gap", "乡镇极差 Township spread"),
    ("urban_minus_rural", "城乡差 Urban − rural"), ("shortfall", "距目标 Shortfall"),
    ("responsible_department_zh", "责任部门 Department"),
]
SUMMARY_COLUMNS = [
    ("plan_label_zh", "规划 Plan"), ("domain_zh", "领域 Domain"), ("indicators", "指标数 Indicators"),
    ("with_target", "有目标 With target"), ("met", "达标 Met"), ("basically_met", "基本达标 Basically met"),
    ("not_met", "未达标 Not met"), ("not_assessed", "无法评估 Not assessed"),
]


def final_evaluation_paths(settings: Settings) -> tuple[Path, Path]:
    stem = settings.reports_dir / f"{INTERNAL_PREFIX}终期监测报告_{PERIOD}"
    return stem.with_suffix(".html"), stem.with_suffix(".xlsx")


def _frames(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    district = con.execute(
        "SELECT area_code, name_zh FROM main_marts.dim_area WHERE level = 'county' AND is_reported ORDER BY area_code LIMIT 1"
    ).fetchone()
    if district is None:
        raise ValueError("no county-level area in the warehouse")
    code = district[0]
    return {
        "district": pl.DataFrame({"area_code": [code], "name_zh": [district[1]]}),
        "rows": con.execute("SELECT * FROM main_marts.rpt_final_evaluation WHERE area_code = ? "
                            "ORDER BY plan_order, catalogue_order", [code]).pl(),
        "summary": con.execute("SELECT * FROM main_marts.rpt_final_evaluation_summary WHERE area_code = ? "
                               "ORDER BY plan_order, domain_order", [code]).pl(),
        "unmeasured": con.execute("SELECT * FROM main_marts.rpt_plan_goals_unmeasured ORDER BY display_order").pl(),
        "statuses": con.execute("SELECT * FROM main_marts.dim_status ORDER BY sort_order").pl(),
    }


def _num(value, digits) -> str:
    return "" if value is None else fmt(value, digits)


def render_final_evaluation(frames: dict[str, pl.DataFrame], generated_at: dt.datetime | None = None) -> str:
    rows, summary = frames["rows"], frames["summary"]
    district = frames["district"]["name_zh"][0]
    latest = rows["latest_year"].max() if rows.height else None
    target_year = rows["target_year"].drop_nulls().max() if rows.height else None
    final = latest is not None and target_year is not None and latest >= target_year
    kind = "终期监测报告" if final else f"终期监测报告（预评估，数据截至{latest}年）"
    title = f"{district}妇女儿童发展规划（2021–2025年）{kind}"
    colours = dict(frames["statuses"].select("status", "colour").iter_rows())
    out = [f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(INTERNAL_MARK)} · {escape(title)}</title>'
           f'<meta name="disclosure" content="internal"><style>{CSS}</style></head><body><main>',
           INTERNAL_BANNER, f"<h1>{escape(title)}</h1>",
           f'<p class="note">内部报告，供区妇儿工委及评估组使用，未做小数保护。判断规则与年度预警相同（小数字合并率、'
           f'置信区间、方向性目标），见年度监测报告“说明”一节。生成于 {(generated_at or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")}。'
           f'<span class="en">Internal report of the plan period; verdicts follow the yearly warnings\' rules.</span></p>']
    # summary by domain
    out.append('<section id="summary"><h2>一、达标情况汇总 <span class="en">Summary by domain</span></h2><table><thead><tr>'
               + "".join(f"<th>{escape(h)}</th>" for _, h in SUMMARY_COLUMNS) + "</tr></thead><tbody>")
    for r in summary.iter_rows(named=True):
        cls = ' class="total"' if r["is_plan_total"] else ""
        out.append(f"<tr{cls}>" + "".join(
            f'<td{" class=num" if isinstance(r[c], int) else ""}>{escape(str(r[c]))}</td>' for c, _ in SUMMARY_COLUMNS) + "</tr>")
    out.append("</tbody></table></section>")
    # furthest from target
    furthest = rows.filter(pl.col("evaluation_group") == "not_met", pl.col("shortfall_rank").is_not_null()) \
                   .sort("shortfall_rank").head(FURTHEST)
    out.append('<section id="furthest"><h2>二、距目标最远的指标 <span class="en">Furthest from target</span></h2>'
               "<table><thead><tr><th>指标</th><th>规划</th><th class='num'>判断值</th><th>目标</th><th class='num'>差距</th>"
               "<th class='num'>相对差距</th><th>责任部门</th></tr></thead><tbody>")
    for r in furthest.iter_rows(named=True):
        d = r["unit_decimals"]
        out.append(f'<tr><td>{escape(r["name_zh"])}</td><td>{escape(r["plan_label_zh"])}</td>'
                   f'<td class="num">{_num(r["judged_value"], d)}</td><td>{escape(r["target_short_zh"] or "")}</td>'
                   f'<td class="num">{_num(r["shortfall"], d)}</td><td class="num">{r["relative_shortfall"]:.0%}</td>'
                   f'<td>{escape(r["responsible_department_zh"] or "")}</td></tr>')
    out.append("</tbody></table></section>")
    # every indicator, by plan and domain
    out.append('<section id="indicators"><h2>三、各指标评估 <span class="en">Every indicator</span></h2>')
    for (plan_label, domain), part in rows.group_by(["plan_label_zh", "domain_zh"], maintain_order=True):
        out.append(f"<h3>{escape(plan_label)} · {escape(domain)}</h3><table><thead><tr><th>指标</th><th>单位</th>"
                   "<th class='num'>基线</th><th class='num'>最近值</th><th>目标</th><th>评估</th><th>趋势</th>"
                   "<th>性别差距</th><th class='num'>乡镇极差</th><th class='num'>城乡差</th><th>责任部门</th></tr></thead><tbody>")
        for r in part.iter_rows(named=True):
            d = r["unit_decimals"]
            base = f'{_num(r["baseline_value"], d)}<br><span class="en">{r["baseline_year"]}</span>' if r["baseline_value"] is not None else ""
            last = f'{_num(r["latest_value"], d)}<br><span class="en">{r["latest_year"]}</span>' if r["latest_value"] is not None else ""
            badge = (f'<span class="badge" style="background:{colours.get(r["status"], "#9e9e9e")}">'
                     f'{escape(r["evaluation_group_zh"] or "")}</span><br><span class="en">{escape(r["status_zh"] or "")}</span>')
            out.append(f'<tr data-indicator="{escape(r["indicator_code"])}"><td>{escape(r["name_zh"])}</td>'
                       f'<td>{escape(r["unit_label_zh"] or "")}</td><td class="num">{base}</td><td class="num">{last}</td>'
                       f'<td>{escape(r["target_short_zh"] or "")}</td><td>{badge}</td><td>{escape(r["trend_zh"] or "")}</td>'
                       f'<td>{escape(r["gender_gap_trend_zh"] or "")}</td><td class="num">{_num(r["township_gap"], d)}</td>'
                       f'<td class="num">{_num(r["urban_minus_rural"], d)}</td><td>{escape(r["responsible_department_zh"] or "")}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    # goals that could not be measured
    unmeasured = frames["unmeasured"]
    out.append(f'<section id="unmeasured"><h2>四、未能监测的规划目标 <span class="en">Plan goals not monitored</span></h2>'
               f"<p>{unmeasured.height} 项目标没有可统计的数据或为定性目标，由评估组另行评估。</p>"
               "<table><thead><tr><th>条款</th><th>规划原文</th><th>理由</th></tr></thead><tbody>")
    for r in unmeasured.iter_rows(named=True):
        out.append(f'<tr><td>{escape(r["plan_clause"])}</td><td>{escape(r["words_zh"])}</td><td>{escape(r["reason_zh"])}</td></tr>')
    out.append("</tbody></table></section></main></body></html>")
    return "\n".join(out)


def _table(frame: pl.DataFrame, columns: list[tuple[str, str]]) -> pl.DataFrame:
    return frame.select([c for c, _ in columns]).rename(dict(columns))


def write_final_evaluation(settings: Settings, con: duckdb.DuckDBPyConnection | None = None,
                           generated_at: dt.datetime | None = None) -> tuple[Path, Path]:
    own = con is None
    con = con or database.connect(str(settings.work_db), read_only=True)
    try:
        frames = _frames(con)
    finally:
        if own:
            con.close()
    html_path, xlsx_path = final_evaluation_paths(settings)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    for path in (html_path, xlsx_path):  # an earlier version's unmarked names
        (path.parent / path.name.removeprefix(INTERNAL_PREFIX)).unlink(missing_ok=True)
    tmp_html, tmp_xlsx = html_path.with_name(html_path.name + ".tmp"), xlsx_path.with_name(xlsx_path.name + ".tmp")
    tmp_html.write_text(render_final_evaluation(frames, generated_at), encoding="utf-8")
    with xlsxwriter.Workbook(str(tmp_xlsx)) as workbook:
        names = write_sheet(_table(frames["summary"], SUMMARY_COLUMNS), workbook, "汇总 Summary")
        names += write_sheet(_table(frames["rows"], EVALUATION_COLUMNS), workbook, "指标评估 Indicators")
        names += write_sheet(frames["unmeasured"].select(
            pl.col("plan_clause").alias("条款 Clause"), pl.col("words_zh").alias("规划原文 Plan text"),
            pl.col("reason_zh").alias("理由 Reason"), pl.col("reason_en").alias("Reason (English)")),
            workbook, "未监测目标 Not monitored")
        write_notes(workbook, "说明 Notes", [
            ("内部使用 Internal", "终期监测报告的表格，未做小数保护，不得对外公布。",
             "Tables of the final evaluation; no small-cell protection. Not for publication.")],
            title=[f"{INTERNAL_MARK} · 终期监测报告 {PERIOD} / Final evaluation {PERIOD}"])
        for name in [*names, "说明 Notes"]:  # every sheet, on screen (tab) and printed (header)
            sheet = workbook.get_worksheet_by_name(name)
            sheet.set_header(f"&C{INTERNAL_MARK}")
            sheet.set_footer(f"&L{INTERNAL_MARK}&R&P/&N")
    tmp_html.replace(html_path)
    tmp_xlsx.replace(xlsx_path)
    return html_path, xlsx_path
