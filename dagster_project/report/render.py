"""The annual monitoring report as one self-contained HTML file (inline CSS and SVG, no script, no network)."""
from __future__ import annotations

import datetime as dt
from html import escape

import polars as pl

from dagster_project.report import charts
from dagster_project.report.charts import fmt
from dagster_project.report.data import ReportData

# columns of main_marts.fct_validation_findings shown in the report (others are left to the analysts' database)
FINDING_COLUMNS = {"importance": "重要性 Importance", "rule_code": "规则 Rule", "rule_group": "类别 Group",
                   "area_name_zh": "地区 Area", "departments": "部门 Department", "message_zh": "问题 Finding"}
IMPORTANCE_ORDER = {"high": 0, "medium": 1, "low": 2}

# The report shows every count (no small-cell protection): it is internal, and says so in its file name
# (report.INTERNAL_PREFIX), its title, a banner and the header of every printed page.
INTERNAL_MARK = "内部使用·未做小数保护"
INTERNAL_BANNER = ('<div class="internal-banner" role="note">内部使用 · 未做小数保护 · 不得对外公布 '
                   '<span class="en">Internal: every count is shown (no small-cell protection); not for publication. '
                   'Publish the 公开 editions of the provincial submission and the indicator export.</span></div>')

CSS = """
:root { --ink:#212121; --muted:#666; --line:#e0e0e0; }
* { box-sizing: border-box; }
body { font-family: 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC','Source Han Sans SC',sans-serif; color: var(--ink);
       margin: 0; background: #fafafa; line-height: 1.55; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
header.cover { border-bottom: 3px solid #ad1457; margin-bottom: 18px; }
h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 21px; margin-top: 36px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; } .en { color: var(--muted); font-weight: normal; font-size: 0.85em; }
.meta { color: var(--muted); font-size: 13px; }
nav ol { columns: 2; font-size: 14px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.code { color: var(--muted); font-size: 11px; font-family: monospace; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; color: #fff; font-size: 12px; white-space: nowrap; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.kpi { flex: 1 1 120px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.kpi b { display: block; font-size: 24px; } .kpi span { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(310px, 1fr)); gap: 10px 14px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #333; margin-bottom: 2px; }
figcaption .status { float: right; }
svg.chart { max-width: 100%; height: auto; }
.note { font-size: 12px; color: var(--muted); }
.flag { color: #ef6c00; font-weight: bold; }
details { margin: 8px 0; } summary { cursor: pointer; color: #1565c0; }
.ok { color: #2e7d32; } .bad { color: #c62828; }
.internal-banner { border: 2px solid #c62828; color: #c62828; font-weight: bold; padding: 6px 10px; margin: 0 0 12px; }
.internal-banner .en { color: #c62828; }
small.en, .label .en { display: block; font-size: 0.8em; }
/* Printing: A4; the domain tables, warnings and quality tables are wide, so their sections print on landscape
   pages; every page carries the internal mark and its number; table headers repeat and rows never split. */
@page { size: A4 portrait; margin: 14mm 12mm 14mm 12mm;
        @top-center { content: "内部使用 · 未做小数保护 · 不得对外公布"; font-size: 8pt; color: #c62828; }
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #666; } }
@page wide { size: A4 landscape; margin: 12mm 12mm 12mm 12mm; }
@media print {
  body { background: #fff; font-size: 10pt; line-height: 1.4; }
  main { max-width: none; padding: 0; }
  h1 { font-size: 20pt; } h2 { font-size: 15pt; margin-top: 0; break-before: page; } h3 { font-size: 12pt; }
  h2, h3, figcaption { break-after: avoid; }
  section.domain, section#warnings, section#quality { page: wide; }
  table { font-size: 8pt; width: 100%; table-layout: auto; }
  thead { display: table-header-group; } tfoot { display: table-footer-group; }
  tr, figure, .kpi, li { break-inside: avoid; }
  th { position: static; }
  th, td { padding: 2px 4px; }
  td.code { font-size: 7pt; word-break: break-all; }
  td.note { word-break: break-all; }
  td.indicator { min-width: 52mm; }
  td.num, th.num { white-space: nowrap; }
  .grid { grid-template-columns: repeat(4, 1fr); gap: 4px 8px; }
  svg.chart { max-width: 100%; height: auto; }
  nav ol { columns: 2; font-size: 9pt; }
  details { display: block; } summary { display: none; }
  .kpi b { font-size: 16pt; }
}
"""


def _badge(statuses, status: str | None) -> str:
    status = status or "no_value"
    return (f'<span class="badge" style="background:{statuses.colour(status)}">'
            f"{escape(statuses.label(status))}</span>")


def _rows_by(frame: pl.DataFrame, *keys: str) -> dict:
    if frame.is_empty():
        return {}
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in frame.iter_rows(named=True)}


def render_report(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    generated_at = generated_at or dt.datetime.now().replace(microsecond=0)
    indicators = data.indicators.to_dicts()
    warn = _rows_by(data.warnings, "indicator_code")
    values = _rows_by(data.values_by_sex, "indicator_code", "sex")
    gaps = _rows_by(data.gaps, "indicator_code")
    parts: list[str] = []
    title = f"{data.district_name}妇女儿童发展规划（2021–2025年）{data.year}年度监测报告"
    parts.append(INTERNAL_BANNER)
    parts.append(f"""<header class="cover"><div class="meta">{escape(data.district_name)}妇女儿童工作委员会 · 监测组 · 统计监测</div>
<h1>{escape(title)}</h1>
<div class="en">Annual monitoring report {data.year}: {escape(data.district_name)} women's and children's development plans 2021–2025</div>
<p class="meta">生成时间 Generated {generated_at.isoformat(sep=' ')} · 数据截至最近加载 Data as of last load {escape(str(data.run_info.get('last_load') or '—'))}
 · 统计期年份 period year {data.year}（卫健为统计年度：上年10月1日至当年9月30日；教育为学年）· 内部报送版，含小数字，谨慎解读</p></header>""")
    toc = [("summary", "一、摘要 Summary")]
    for i, (_plan, domain_zh, domain_en) in enumerate(data.domains):
        toc.append((f"domain-{i}", f"{domain_zh} {domain_en}"))
    toc += [("warnings", "预警清单 Warnings"), ("quality", "数据质量 Data quality"), ("methods", "说明 Methods")]
    parts.append("<nav><h2 style='margin-top:0'>目录 Contents</h2><ol>" + "".join(
        f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in toc) + "</ol></nav>")
    parts.append(_summary(data, indicators, warn))
    for i, domain in enumerate(data.domains):
        parts.append(_domain_section(data, i, domain, indicators, warn, values, gaps))
    parts.append(_warning_section(data, indicators, warn))
    parts.append(_quality_section(data))
    parts.append(_methods_section(data))
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dagster_project.report">
<meta name="disclosure" content="internal">
<title>{escape(INTERNAL_MARK)} · {escape(title)}</title>
<style>{CSS}</style></head>
<body><main>
{body}
<p class="note">本报告由监测数据仓库自动生成，所有图表为内嵌SVG，无需联网。This report is generated by the monitoring warehouse; all charts are inline SVG and the file opens without a network.</p>
</main></body></html>
"""


def _status_counts(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r] = counts.get(r, 0) + 1
    return counts


def _summary(data: ReportData, indicators: list[dict], warn: dict) -> str:
    targeted = [i for i in indicators if i["has_target"]]
    statuses = [warn.get(i["indicator_code"], {}).get("status", "no_value") for i in targeted]
    counts = _status_counts(statuses)
    warnings_count = sum(1 for i in indicators if warn.get(i["indicator_code"], {}).get("is_warning"))
    township_warnings = 0 if data.warnings_township.is_empty() else int(data.warnings_township["is_warning"].sum())
    kpis = [
        (len(indicators), "监测指标 indicators"), (len(targeted), "有量化目标 with a target"),
        *[(counts.get(code, 0), f"{data.statuses.label(code)} {data.statuses.labels_en.get(code, code)}")
          for code in ("met", "on_track", "not_significant", "at_risk", "missed")],
        (warnings_count, "全区预警 district warnings"), (township_warnings, "乡镇预警 township warnings"),
    ]
    out = ['<section id="summary"><h2>一、摘要 <span class="en">Summary</span></h2>']
    out.append('<div class="kpis">' + "".join(f'<div class="kpi"><b>{n}</b><span>{escape(t)}</span></div>' for n, t in kpis) + "</div>")
    by_domain = []
    for plan, domain_zh, _ in data.domains:
        codes = [i for i in targeted if i["domain_zh"] == domain_zh and i["plan"] == plan]
        by_domain.append((domain_zh, _status_counts(warn.get(i["indicator_code"], {}).get("status", "no_value") for i in codes)))
    out.append("<figure><figcaption>各领域有目标指标的达标状态（全区）Status of the indicators with a target, by domain</figcaption>"
               + charts.status_bars([("全部 All", counts)] + by_domain, f"{data.year}年各领域达标状态", data.statuses) + "</figure>")
    volatile = [i for i in indicators if warn.get(i["indicator_code"], {}).get("volatility_flag")]
    out.append("<h3>要点 Key points</h3><ul>")
    tally = "，".join(f"{data.statuses.label(code)}{counts.get(code, 0)}项"
                      for code in ("met", "on_track", "at_risk", "missed", "not_significant"))
    out.append(f"<li>{len(targeted)}项有量化目标的指标中，{tally}；其余为基线期、无法评估或无数据。</li>")
    out.extend(_at_risk_points(data))
    if volatile:
        out.append(f"<li>波动较大（较上年或较前几年均值变化超过规则界限）：{escape('、'.join(i['name_zh'] for i in volatile))}。</li>")
    completeness, publication = data.quality.get("completeness", []), data.quality.get("publication", [])
    withheld = sum(1 for p in publication if p["publication_status"] == "withheld")
    out.append(f"<li>数据质量：本年度应报{len(completeness)}项报表，"
               f"已收到可用{sum(1 for c in completeness if c['status'] == 'received')}项；"
               + (f"因所需数据缺失扣发{withheld}个指标、{len(publication) - withheld}个指标覆盖不全；" if publication else "指标全部发布；")
               + f"隔离行{sum((d['rows_quarantined'] or 0) for d in data.quality.get('by_department', []))}行（详见数据质量一节）。</li>")
    out.append("</ul></section>")
    return "\n".join(out)


def _domain_section(data: ReportData, index: int, domain: tuple, indicators: list[dict], warn: dict, values: dict,
                    gaps: dict) -> str:
    plan, domain_zh, domain_en = domain
    items = [i for i in indicators if i["domain_zh"] == domain_zh and i["plan"] == plan]
    plan_label = f'{items[0]["plan_label_zh"]} · {items[0]["plan_label_en"]}' if items else plan
    out = [f'<section id="domain-{index}" class="domain"><h2>{escape(domain_zh)} <span class="en">{escape(domain_en)} · {escape(plan_label)}</span></h2>']
    out.append('<table><thead><tr><th>代码 Code</th><th>指标 Indicator</th><th>单位</th><th class="num">女 F</th><th class="num">男 M</th>'
               '<th class="num">合计 Total</th><th>目标 Target</th><th>状态 Status</th><th class="num">2025预测 Projection</th><th>备注 Notes</th></tr></thead><tbody>')
    for ind in items:
        code, unit, digits = ind["indicator_code"], ind["unit"], ind["unit_decimals"]
        w = warn.get(code, {})
        notes = []
        cells = []
        for sex in ("2", "1", "_T"):
            v = values.get((code, sex))
            text = fmt(v["value"], digits) if v else ""
            if v and v["small_numbers_flag"]:
                text += '<span class="flag" title="事件数少于20">*</span>'
            cells.append(f'<td class="num">{text}</td>')
        if any(values.get((code, s), {}).get("zero_denominator_flag") for s in ("2", "1", "_T")):
            notes.append("分母为0")
        if any(values.get((code, s), {}).get("incomplete_data_flag") for s in ("2", "1", "_T")):
            notes.append("数据不完整")
        if w.get("volatility_flag"):
            notes.append("波动较大")
        if w.get("projected_to_miss"):
            notes.append("趋势下滑")
        status = w.get("status") if w else ("no_target" if not ind["has_target"] else "no_value")
        projection = fmt(w.get("projected_value"), digits) if w.get("projected_value") is not None else ""
        out.append(
            f'<tr id="ind-{escape(code)}" data-indicator="{escape(code)}"><td class="code">{escape(code)}</td>'
            f'<td class="indicator">{escape(ind["name_zh"])}<br><span class="en">{escape(ind["name_en"])}</span></td><td>{escape(ind["unit_label_zh"] or unit)}</td>'
            + "".join(cells)
            + f'<td>{escape(ind["target_short_zh"] or "")}</td><td>{_badge(data.statuses, status)}</td><td class="num">{projection}</td>'
            f'<td class="note">{escape("；".join(notes))}</td></tr>')
    out.append("</tbody></table><p class='note'>* 事件数少于20，率不稳定，谨慎解读。状态：目标针对妇女/女童的按女性值评估，其余按合计评估；2025预测为线性趋势外推。</p>")
    # each indicator's series against its target
    figures = []
    series = data.series
    for ind in items:
        code, unit = ind["indicator_code"], ind["unit"]
        rows = series.filter(pl.col("indicator_code") == code)
        points = [(y, v) for y, v in rows.select("period_year", "value").iter_rows() if v is not None]
        targets = [(y, t) for y, t in rows.select("period_year", "effective_target").iter_rows() if t is not None]
        w = warn.get(code, {})
        if ind["has_target"] and not targets and ind["target_value"] is not None and ind["target_operator"] in (">=", "<=", "=", "≈", "balanced"):
            targets = [(y, ind["target_value"]) for y, _ in points] or [(data.year, ind["target_value"])]
        projection = None
        if w.get("projected_value") is not None:
            projection = (w["projected_value"], w.get("projected_lower"), w.get("projected_upper"))
        status = w.get("status", "no_target" if not ind["has_target"] else "no_value")
        svg = charts.series_chart(points, targets, ind["unit_decimals"], data.statuses.colour(status), f"{ind['name_zh']}：历年数值与目标",
                                  target_year=ind["target_year"] or 2025, projection=projection, last_year=data.year)
        figures.append(f'<figure data-indicator="{escape(code)}"><figcaption>{escape(ind["name_zh"])} '
                       f'<span class="en">({escape(ind["unit_label_zh"] or unit)})</span><span class="status">{_badge(data.statuses, status)}</span></figcaption>{svg}</figure>')
    out.append("<h3>历年数值与目标（红色虚线：目标；点线：至2025年的趋势外推） "
               "<span class='en'>Series against target (dashed red: target; dotted: trend to 2025)</span></h3>")
    out.append('<div class="grid">' + "".join(figures) + "</div>")
    # gender gaps
    gap_rows = []
    for ind in items:
        g = gaps.get(ind["indicator_code"])
        if g and g["female_value"] is not None and g["male_value"] is not None and g["female_to_male_ratio"]:
            gap_rows.append((ind["name_zh"], g["female_to_male_ratio"], g["female_value"], g["male_value"], ind["unit_decimals"]))
    if gap_rows:
        out.append("<h3>性别差距 <span class='en'>Gender gaps (female / male; for enrolment the gender parity index)</span></h3>")
        out.append(charts.parity_chart(gap_rows, f"{domain_zh}：女/男之比"))
    # township comparison
    tv = data.township_values.filter(pl.col("indicator_code").is_in([i["indicator_code"] for i in items]))
    with_townships = [i for i in items if tv.filter(pl.col("indicator_code") == i["indicator_code"]).height >= 2]
    if with_townships:
        met = _rows_by(data.warnings_township, "indicator_code", "area_code")
        cells = {}
        for r in tv.iter_rows(named=True):
            m = met.get((r["indicator_code"], r["area_code"]), {})
            absolute = next((i for i in items if i["indicator_code"] == r["indicator_code"]), {}).get("target_operator") in (">=", "<=", "=", "≈", "balanced")
            cells[(r["indicator_code"], r["area_code"])] = (r["value"], m.get("met") if absolute else None, r["small_numbers_flag"])
        district = {i["indicator_code"]: warn.get(i["indicator_code"], {}).get("value") for i in with_townships}
        out.append("<h3>乡镇比较（绿色：达到全区目标；红色：未达到；蓝色：无绝对目标，颜色越深数值越高；*：事件数少于20） "
                   "<span class='en'>Townships (green: meets the district target; red: does not; blue: darker = higher, "
                   "no absolute target; *: fewer than 20 events)</span></h3>")
        out.append(charts.township_heatmap([(i["indicator_code"], i["name_zh"]) for i in with_townships], data.townships,
                                           cells, {i["indicator_code"]: i["unit_decimals"] for i in with_townships}, district,
                                           f"{domain_zh}：乡镇比较"))
    out.append("</section>")
    return "\n".join(out)


def _at_risk_points(data: ReportData) -> list[str]:
    """Every at-risk or missed measure of the district, named in full, by plan (rpt_early_warnings)."""
    actions = data.actions
    if actions.is_empty():
        return []
    district = actions.filter((pl.col("area_level") == "county") & pl.col("status").is_in(["at_risk", "missed"]))
    points = []
    for plan_clause_prefix, label in (("妇女", "妇女规划"), ("儿童", "儿童规划")):
        rows = district.filter(pl.col("plan_clauses_zh").fill_null("").str.starts_with(plan_clause_prefix))
        if rows.height:
            names = "、".join(f"{r['name_zh']}（{r['responsible_department_zh']}）" for r in rows.iter_rows(named=True))
            points.append(f"<li>{label}预计达标困难或未达标（{rows.height}项，括号内为责任部门）：{escape(names)}。</li>")
    towns = actions.filter(pl.col("area_level") == "township")
    if towns.height:
        points.append(f"<li>乡镇预警{towns.height}项（按指标列于预警清单，只列事件数足以支持判断的乡镇）。</li>")
    return points


def _warning_section(data: ReportData, indicators: list[dict], warn: dict) -> str:
    actions = data.actions
    district = actions.filter(pl.col("area_level") == "county") if not actions.is_empty() else actions
    out = ['<section id="warnings"><h2>预警清单 <span class="en">Warnings</span></h2>',
           f"<p>全区{district.height}项指标列入预警（达标困难、未达标、已达标但趋势显著下滑，或波动超过界限）；"
           "两个规划共用的指标只列一次并列出两处条款。规则见“说明”一节（预警规则参数表）。</p>"]
    out.append('<table><thead><tr><th>指标 Indicator</th><th>责任部门 Department</th><th>状态</th><th class="num">当年值</th>'
               '<th>目标</th><th class="num">差距</th><th class="num">每年需改善</th><th>原因 Reason</th></tr></thead><tbody>')
    for w in district.iter_rows(named=True):
        digits = w["unit_decimals"]
        out.append(f'<tr data-indicator="{escape(w["indicator_code"])}"><td class="indicator">{escape(w["name_zh"] or w["indicator_code"])}'
                   f'<br><span class="code">{escape(w["plan_clauses_zh"] or "")}</span></td>'
                   f'<td>{escape(w["responsible_department_zh"] or "")}</td><td>{_badge(data.statuses, w["status"])}</td>'
                   f'<td class="num">{fmt(w["judged_value"], digits)}</td><td>{escape(w["target_short_zh"] or "")}</td>'
                   f'<td class="num">{fmt(w["shortfall"], digits) if (w["shortfall"] or 0) > 0 else ""}</td>'
                   f'<td class="num">{fmt(w["yearly_change_needed"], digits)}</td><td>{escape(w["reason_zh"] or "")}</td></tr>')
    out.append("</tbody></table>")
    towns = actions.filter(pl.col("area_level") == "township") if not actions.is_empty() else actions
    if towns.height:
        out.append("<h3>乡镇预警（按指标）<span class='en'>Township warnings, by indicator</span></h3>"
                   "<p class='note'>只列判断依据至少20个事件（小数字按3年合并）的乡镇；其余不单独预警，原因见 marts.fct_early_warnings.warning_withheld_reason_zh。</p>")
        out.append('<table><thead><tr><th>指标 Indicator</th><th>责任部门</th><th>乡镇街道（当年值；原因）</th></tr></thead><tbody>')
        for key, rows in towns.group_by(["catalogue_order", "name_zh", "responsible_department_zh"], maintain_order=True):
            places = "；".join(f"{r['area_name_zh'] or r['area_code']}（{r['status_zh'] or r['status']}：{r['reason_zh'] or ''}）"
                              for r in rows.iter_rows(named=True))
            out.append(f"<tr><td>{escape(key[1] or '')}</td><td>{escape(key[2] or '')}</td><td>{escape(places)}</td></tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _quality_section(data: ReportData) -> str:
    q = data.quality
    out = ['<section id="quality"><h2>数据质量 <span class="en">Data quality</span></h2>']
    out.append("<h3>报送情况 <span class='en'>Reporting completeness: what was received for the year, and from how many townships</span></h3>")
    out.append('<table><thead><tr><th>报送数据 Input</th><th>状态 Status</th><th class="num">可用记录 Usable rows</th>'
               '<th class="num">报送乡镇 Townships</th><th class="num">报送率 Rate</th><th>文件 Files</th></tr></thead><tbody>')
    for c in q.get("completeness", []):
        ok = c["status"] == "received"
        status = f'<span class="{"ok" if ok else "bad"}">{escape(c["status_zh"])}{" ✓" if ok else " ✗"}</span>'
        towns = "" if c["townships_expected"] is None else f'{c["townships_reporting"]}/{c["townships_expected"]}'
        if c["townships_expected"] is not None and c["townships_reporting"] < c["townships_expected"]:
            towns = f'<span class="bad">{towns}</span>'
        out.append(f'<tr><td>{escape(c["feed_name_zh"])}</td><td>{status}</td><td class="num">{c["rows_usable"] or 0:,}</td>'
                   f'<td class="num">{towns}</td><td class="num">{c["reporting_rate_percent"]:.0f}%</td>'
                   f'<td class="note">{escape(", ".join(c["files"]))}</td></tr>')
    out.append("</tbody></table><p class='note'>报送乡镇：按乡镇报送的数据（常住人口、村（居）委会成员、按乡镇填报的报表项）"
               "当年有记录的乡镇街道数；出生、死亡、案件等全区登记收到即覆盖全区（某乡镇无记录可能只是当年无事件）。"
               "来源：分析库表 marts.fct_reporting_completeness。</p>")
    publication = q.get("publication", [])
    out.append("<h3>扣发与覆盖不全的指标 <span class='en'>Figures withheld or on incomplete coverage</span></h3>")
    if not publication:
        out.append("<p class='ok'>本年度所有指标的所需数据齐全，全部发布。</p>")
    else:
        out.append("<p class='note'>缺少所需数据（未报送、整份拒收、未通过阻断性检查）的指标本年度扣发；"
                   "只有部分乡镇街道数据齐全的指标只按这些乡镇计算（分子分母同口径），标注覆盖情况，不作达标判断。"
                   "来源：分析库表 marts.fct_indicator_publication。</p>")
        out.append('<table><thead><tr><th>指标 Indicator</th><th>状态 Status</th><th>原因 Reason</th></tr></thead><tbody>')
        for r in publication:
            cls = "bad" if r["publication_status"] == "withheld" else "note"
            out.append(f'<tr><td>{escape(r["name_zh"])} <span class="code">{escape(r["indicator_code"])}</span></td>'
                       f'<td class="{cls}">{escape(r["publication_status_zh"])}</td><td>{escape(r["reason_zh"] or "")}</td></tr>')
        out.append("</tbody></table>")
    by_dept = q.get("by_department", [])
    out.append("<h3>各部门隔离行 <span class='en'>Quarantined rows by department (current files of the year)</span></h3>")
    if by_dept:
        out.append(charts.horizontal_bars(
            [(data.departments.get(d["department"], d["department"] or "—"), d["rows_quarantined"] or 0,
              f"读取 {d['rows_read']} · 入库 {d['rows_loaded']} · 隔离 {d['rows_quarantined']}") for d in by_dept],
            "各部门隔离行数", "行"))
        out.append('<table><thead><tr><th>部门 Department</th><th class="num">文件 Files</th><th class="num">读取行 Read</th>'
                   '<th class="num">入库行 Loaded</th><th class="num">隔离行 Quarantined</th><th class="num">隔离率 Share</th>'
                   '<th class="num">提示行 Flagged</th></tr></thead><tbody>')
        for d in by_dept:
            rate = (d["rows_quarantined"] or 0) / d["rows_read"] * 100 if d["rows_read"] else 0
            out.append(f'<tr><td>{escape(data.departments.get(d["department"], d["department"] or "—"))}</td><td class="num">{d["files"]}</td>'
                       f'<td class="num">{d["rows_read"] or 0:,}</td><td class="num">{d["rows_loaded"] or 0:,}</td>'
                       f'<td class="num">{d["rows_quarantined"] or 0:,}</td><td class="num">{rate:.1f}%</td><td class="num">{d["rows_flagged"] or 0:,}</td></tr>')
        out.append("</tbody></table>")
    else:
        out.append("<p>本年度无加载记录。</p>")
    if q.get("rejected_files"):
        out.append("<p class='bad'>整份拒收的文件：" + escape("、".join(r["source_file"] or "" for r in q["rejected_files"])) + "</p>")
    if q.get("top_reasons"):
        out.append("<h3>主要隔离原因 <span class='en'>Main reasons for quarantine</span></h3><table><thead><tr><th>部门 Department</th>"
                   "<th>规则 Rule</th><th>原因 Reason</th><th class='num'>行数 Rows</th></tr></thead><tbody>")
        for r in q["top_reasons"]:
            label_zh, label_en = data.labels.rule(r["rule_id"])
            out.append(f'<tr><td>{escape(data.departments.get(r["department"], r["department"] or "—"))}</td>'
                       f'<td class="label">{escape(label_zh)}<span class="en">{escape(label_en)}</span></td>'
                       f'<td>{escape(r["reason_zh"] or "")}</td><td class="num">{r["n"]:,}</td></tr>')
        out.append("</tbody></table>")
    out.append(_exclusions_table(q.get("exclusions"), data.labels))
    out.append("<h3>未通过的质量规则 <span class='en'>Failed Great Expectations rules (latest check of each extract)</span></h3>")
    # the quality pages lie beside the reports folder in the exports (exports/quality/, defs/quality/reports.py)
    out.append("<p class='note'>每个报表每条规则的检查结果：<a href=\"../quality/summary.html\">数据质量检查结果 summary.html</a>"
               "（导出目录 quality/，离线可打开，并链接 Great Expectations Data Docs）。</p>")
    gx = q.get("gx_failures")
    if gx is None:
        out.append("<p>尚无质量检查记录（审计表 audit.gx_results）。</p>")
    elif not gx:
        out.append("<p class='ok'>最近一次检查全部通过。</p>")
    else:
        out.append("<table><thead><tr><th>部门 Department</th><th>报表 Extract</th><th>规则 Rule</th><th>级别 Severity</th>"
                   "<th class='num'>不符行数 Rows</th><th>说明 Description</th></tr></thead><tbody>")
        for r in gx:
            level = data.labels.term("severity", r["severity"])
            unexpected = "" if r["unexpected_count"] is None else f"{r['unexpected_count']:,}"
            out.append(f'<tr><td>{escape(data.departments.get(r["department"], r["department"] or "—"))}</td>'
                       f'<td>{escape(data.labels.extract(r["extract"]))}</td>'
                       f'<td class="code">{escape(r["rule_id"])}</td><td>{escape(level)}</td>'
                       f'<td class="num">{unexpected}</td>'
                       f'<td>{escape(r["description_zh"] or "")}</td></tr>')
        out.append("</tbody></table>")
    out.append("<h3>校验规则发现的问题 <span class='en'>Open validation findings</span></h3>")
    findings = q.get("findings")
    if findings is None:
        out.append(f"<p class='note'>{escape(q.get('findings_note', ''))}</p>")
    elif findings.is_empty():
        out.append(f"<p class='ok'>无未关闭的问题。{escape(q.get('findings_note', ''))}</p>")
    else:
        curated = [c for c in FINDING_COLUMNS if c in findings.columns]
        if "importance" in findings.columns:
            findings = findings.sort(pl.col("importance").replace_strict(IMPORTANCE_ORDER, default=9, return_dtype=pl.Int64),
                                     *[c for c in ("rule_code", "area_code") if c in findings.columns])
        if "message_zh" in curated:
            findings = findings.select(curated)
        shown = findings.head(200)
        out.append(f"<p>共{findings.height}条{escape(q.get('findings_note', ''))}{'，显示前200条' if findings.height > 200 else ''}。</p>")
        out.append("<table><thead><tr>" + "".join(f"<th>{escape(FINDING_COLUMNS.get(c, c))}</th>" for c in shown.columns)
                   + "</tr></thead><tbody>")
        for row in shown.iter_rows(named=True):
            cells = []
            for c, v in row.items():
                if c in ("importance", "rule_group"):
                    text = data.labels.term(c, v)
                elif c == "departments":  # one or several department codes, comma-separated
                    text = "、".join(data.departments.get(d.strip(), d.strip()) for d in (v or "").split(",") if d.strip())
                else:
                    text = v
                cells.append(f"<td>{escape('' if text is None else str(text))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _exclusions_table(rows: list[dict] | None, labels) -> str:
    """未能使用的记录数 per indicator (district, report year), as main_marts.fct_indicator_exclusions counts them."""
    out = ["<h3>未能使用的记录数 <span class='en'>Records not usable, by indicator (district)</span></h3>"]
    if rows is None:
        out.append("<p class='note'>指标排除记录表 marts.fct_indicator_exclusions 尚未建立，本节暂缺。</p>")
        return "\n".join(out)
    if not rows:
        out.append("<p class='ok'>本年度各指标的记录均可使用。</p>")
        return "\n".join(out)
    out.append('<table><thead><tr><th>指标 Indicator</th><th class="num">字段无效（未计入） Field invalid</th><th>无效字段 Fields</th>'
               '<th class="num">整条隔离（未计入） Quarantined</th><th class="num">性别不详（仅计入合计） Sex unknown</th>'
               '<th class="num">城乡不详（仅计入合计） Residence unknown</th></tr></thead><tbody>')
    def n(v):
        return "" if not v else f"{v:,}"
    for r in rows:
        out.append(f'<tr><td>{escape(r["name_zh"] or r["indicator_code"])}</td><td class="num">{n(r["field_invalid"])}</td>'
                   f'<td>{_field_labels(labels, r["fields"])}</td><td class="num">{n(r["record_quarantined"])}</td>'
                   f'<td class="num">{n(r["sex_unknown"])}</td><td class="num">{n(r["residence_unknown"])}</td></tr>')
    out.append("</tbody></table><p class='note'>字段无效：该指标需要的字段在入库时无效已置空，记录不计入该指标（仍计入不需要该字段的指标）；"
               "整条隔离：记录在入库时被整条隔离（见隔离清单），计入其报表为来源的每个指标；性别、城乡不详的记录只计入合计。"
               "来源：分析库表 marts.fct_indicator_exclusions。</p>")
    return "\n".join(out)


def _field_labels(labels, fields: str | None) -> str:
    """'birth_date, sex' -> 出生日期、性别, each with its template column name in small type."""
    names = [f.strip() for f in (fields or "").split(",") if f.strip()]
    return "、".join(f'{escape(labels.field_label(f))}<span class="code"> {escape(f)}</span>' for f in names)


def _methods_section(data: ReportData) -> str:
    out = ['<section id="methods"><h2>说明 <span class="en">Methods</span></h2>']
    out.append("<h3>达标状态 <span class='en'>Status (marts.dim_status)</span></h3><table><thead><tr>"
               "<th>状态</th><th>Status</th><th>含义</th></tr></thead><tbody>")
    st = data.statuses
    for code in st.order:
        out.append(f'<tr><td>{_badge(st, code)}</td>'
                   f'<td class="en">{escape(st.labels_en.get(code) or code)}</td><td>{escape(st.descriptions.get(code) or "")}</td></tr>')
    out.append("</tbody></table>")
    out.append("""<h3>如何判断 <span class="en">How a target is judged</span></h3><ul>
<li>水平目标（达到、以上、以下、控制在）按公布精度比较评估年度的指标值；针对妇女、女童的目标按女性值评估。</li>
<li>方向性目标（逐步提高、持续下降、稳步提高）比较评估年度与上一个可比年度（基线年以后）：朝规划方向变化即为达标，保持在0或100%亦为达标。</li>
<li>“N左右”“保持均衡”“保持稳定”为区间目标；“不低于…比例”以同年同地区的参照指标为目标。</li>
<li>小数字：任一年度事件数少于20的序列，按最近几个年度合并的率判断（妇幼卫生常规做法，合并年度见分析库 pooled_first_year–pooled_last_year），置信区间用精确法（Poisson / Wilson）；点估计未达标而95%置信区间包含目标值的，判为“差异无统计学意义”。</li>
<li>趋势：最小二乘线性回归，斜率检验与2025年预测区间按实际年度数用 t 分布（自由度 n−2）；小数字序列不拟合趋势。乡镇（街道）只在事件数至少20时预警，否则写明不预警的原因。</li>
</ul><p class="en">Level targets are compared at published precision, on the female value where the plan targets women or girls;
directional targets year on year; bands and reference targets as worded; series with fewer than 20 events in a year on
pooled rates with exact limits; trends with t quantiles for the number of points used.</p>""")
    rules = data.warning_rules
    if not rules.is_empty():
        out.append("<h3>预警规则参数 Warning rules (seed warning_rules)</h3><table><thead><tr><th>参数</th><th class='num'>取值</th><th>说明</th></tr></thead><tbody>")
        for r in rules.iter_rows(named=True):
            out.append(f'<tr><td class="code">{escape(r["rule_code"])}</td><td class="num">{r["value"]:g}</td>'
                       f'<td>{escape(r.get("description_zh") or "")}<br><span class="en">{escape(r.get("description_en") or "")}</span></td></tr>')
        out.append("</tbody></table>")
    out.append("""<h3>小数字 Small numbers</h3><p>率与比均附事件数与95%置信区间（见分析库）；事件数少于20的率以 * 标注。
本报告为报送区妇儿工委的内部报告，不做小数保护，不得对外公布；对外公布请用省级报送和指标数据的“公开”版
（exports/submissions/…/公开_…、exports/indicators/公开_…：1至阈值的计数已做一次与二次抑制，分子或分母被抑制的率一并抑制）。
<span class="en">This report is internal (no small-cell protection). Publish the 公开 editions of the provincial
submission and of the indicator export instead: small counts and every count or rate they could be recovered from are suppressed.</span></p>""")
    out.append(_unmeasured_goals(data))
    out.append("</section>")
    return "\n".join(out)


def _unmeasured_goals(data: ReportData) -> str:
    """The plans' goals and numbers no indicator monitors, with the reason (marts.rpt_plan_goals_unmeasured)."""
    rows = data.unmeasured_goals
    if rows.is_empty():
        return ""
    counts = {plan_zh: n for plan_zh, n in rows.group_by("plan_zh", maintain_order=True).len().iter_rows()}
    out = [f'<h3 id="unmeasured">规划中未监测的目标 <span class="en">Plan goals not monitored</span></h3>'
           f'<p>以下 {rows.height} 项（' + "，".join(f"{escape(k)} {v} 项" for k, v in counts.items()) +
           '）没有部门报送可统计的数据，或为定性目标，本报告不作达标判断，由评估组另行评估；'
           '清单与理由见 docs/plan_coverage.md。<span class="en">No department sends countable data for these goals '
           '(or they are qualitative); they are not judged here.</span></p>'
           '<table class="unmeasured"><thead><tr><th>条款 Clause</th><th>规划原文 Plan text</th>'
           '<th>理由 Reason</th></tr></thead><tbody>']
    for r in rows.iter_rows(named=True):
        words = escape(r["words_zh"])
        if r["number_text"]:
            words += f' <span class="code">（{escape(r["number_text"])}）</span>'
        out.append(f'<tr><td>{escape(r["plan_clause"])}</td><td>{words}</td>'
                   f'<td>{escape(r["reason_zh"])}<br><span class="en">{escape(r["reason_en"])}</span></td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)
