"""The compendium as one self-contained HTML page laid out for A4 print (no script, no external resource,
system CJK fonts), printed to PDF by headless Chromium (report/pdf.py).

Print layout: A4 portrait, the narrow numbered tables two to a row; the wide 指标解释 table on A4 landscape
pages (CSS named page). Every printed page of the internal edition carries its 内部使用 banner.
"""
from __future__ import annotations

import datetime as dt
from html import escape

from dagster_project.report.charts import fmt
from dagster_project.report.compendium_data import Compendium, PrintedTable, definitions_frame, notes_rows

CSS = """
:root { --ink: #1f2328; --rule: #8c959f; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); font: 10pt/1.45 "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC",
       "Microsoft YaHei", "PingFang SC", "SimSun", sans-serif; }
main { max-width: 190mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 3mm; border-bottom: 1px solid var(--rule); break-after: avoid; }
.en { color: var(--muted); font-size: 85%; font-weight: normal; }
.notice { font-weight: bold; margin: 2mm 0 4mm; }
.banner { position: fixed; top: 0; right: 0; font-size: 8pt; font-weight: bold; color: #b71c1c;
          border: 1px solid #b71c1c; padding: 0 2mm; background: #fff; }
.tables { display: flex; flex-wrap: wrap; gap: 4mm 6mm; align-items: flex-start; }
figure.table-block { margin: 0; width: calc(50% - 3mm); break-inside: avoid; }
figcaption { font-weight: bold; font-size: 9pt; margin-bottom: 1mm; }
figcaption .unit { font-weight: normal; color: var(--muted); white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 8pt; }
th, td { border-top: 1px solid #d0d7de; padding: 0.6mm 1.2mm; vertical-align: top; }
thead th { border-top: 1.5px solid var(--ink); border-bottom: 1px solid var(--ink); font-weight: bold;
           text-align: center; }
tbody tr:last-child td { border-bottom: 1.5px solid var(--ink); }
tbody th[scope=row] { text-align: left; white-space: nowrap; font-weight: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.note { text-align: center; white-space: nowrap; }
ol.footnotes { list-style: none; margin: 1mm 0 0; padding: 0; font-size: 7pt; color: var(--muted); }
table.definitions { font-size: 7.5pt; table-layout: fixed; }
table.definitions th:nth-child(1) { width: 6%; } table.definitions th:nth-child(2) { width: 11%; }
table.definitions th:nth-child(3) { width: 4%; } table.definitions th:nth-child(4) { width: 15%; }
table.definitions th:nth-child(5) { width: 11%; } table.definitions th:nth-child(6) { width: 9%; }
table.definitions th:nth-child(7) { width: 5%; } table.definitions th:nth-child(8) { width: 7%; }
table.definitions th:nth-child(9) { width: 12%; } table.definitions th:nth-child(10) { width: 5%; }
table.definitions th:nth-child(11) { width: 7%; } table.definitions th:nth-child(12) { width: 8%; }
table.definitions td { word-break: break-word; }
nav ol { columns: 2; font-size: 9pt; }
section.wide { break-before: page; }
@page { size: A4 portrait; margin: 14mm 12mm; }
@page wide { size: A4 landscape; margin: 12mm; }
@media print {
  main { max-width: none; padding: 0; }
  section.wide { page: wide; }
  section.chapter { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
"""


def _value(cell, decimals: int) -> str:
    if cell.symbol:
        return escape(cell.symbol)
    return fmt(cell.value, decimals)


def _table(table: PrintedTable, note_header: str, unit_lead: str) -> str:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in table.columns)
    body = []
    for label, cells, note in table.rows:
        tds = "".join(
            f'<td class="num" data-col="{c.key}" data-status="{cell.status}">{_value(cell, c.decimals)}</td>'
            for c, cell in zip(table.columns, cells))
        body.append(f'<tr><th scope="row">{escape(label)}</th>{tds}<td class="note">{escape(note)}</td></tr>')
    notes = "".join(f"<li>{escape(text)}</li>" for text in table.footnotes)
    return (f'<figure class="table-block" data-table="{escape(table.table_no)}" id="t{escape(table.table_no)}">'
            f'<figcaption>{escape(table.table_no)} {escape(table.title)} '
            f'<span class="unit">{escape(unit_lead)}{escape(table.unit)}</span></figcaption>'
            f"<table><thead><tr><th>{escape(table.row_header)}</th>{head}<th>{escape(note_header)}</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            + (f'<ol class="footnotes">{notes}</ol>' if notes else "") + "</figure>")


def render_compendium_html(book: Compendium, tables: list[PrintedTable], edition: str,
                           generated_at: dt.datetime | None = None) -> str:
    title, notice = book.title(edition), book.notice(edition)
    note_header = f"{book.label('note_column')} {book.label('note_column', 'en')}"
    unit_lead = book.label("unit_lead")
    stamp = (generated_at or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    out = [f'<!DOCTYPE html><html lang="zh-CN" data-edition="{edition}"><head><meta charset="utf-8">'
           f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"]
    if edition == "internal":
        out.append(f'<div class="banner">{escape(notice)}</div>')
    out.append(f"<main><h1>{escape(title)}</h1>"
               f'<p class="notice">{escape(notice)}<br><span class="en">{escape(book.labels[f"{edition}_notice"]["label_en"] or "")}'
               f"</span></p><p class=\"en\">{escape(book.label('compendium', 'en'))} · {book.year} · {stamp}</p>")
    chapters: dict[int, list[PrintedTable]] = {}
    for table in tables:
        chapters.setdefault(table.chapter_no, []).append(table)
    prefix_zh = book.label("chapter_prefix")
    out.append(f"<nav><h2>{escape(book.label('contents'))} <span class=\"en\">{escape(book.label('contents', 'en'))}</span></h2><ol>")
    for number, part in chapters.items():
        out.append(f'<li><a href="#c{number}">{escape(prefix_zh.replace("{n}", str(number)))} {escape(part[0].chapter)}</a> '
                   f'<span class="en">{escape(part[0].table_no)}–{escape(part[-1].table_no)}</span></li>')
    out.append(f'<li><a href="#definitions">{escape(book.label("definitions"))}</a></li>'
               f'<li><a href="#notes">{escape(book.label("notes"))}</a></li></ol></nav>')
    for number, part in chapters.items():
        out.append(f'<section class="chapter" id="c{number}"><h2>{escape(prefix_zh.replace("{n}", str(number)))} '
                   f'{escape(part[0].chapter)} <span class="en">{escape(part[0].chapter_en)}</span></h2><div class="tables">')
        out.extend(_table(t, note_header, unit_lead) for t in part)
        out.append("</div></section>")
    definitions = definitions_frame(book)
    out.append(f'<section class="wide" id="definitions"><h2>{escape(book.label("definitions"))} '
               f'<span class="en">{escape(book.label("definitions", "en"))}</span></h2><table class="definitions"><thead><tr>'
               + "".join(f"<th>{escape(c)}</th>" for c in definitions.columns) + "</tr></thead><tbody>")
    for row in definitions.iter_rows():
        out.append("<tr>" + "".join(f"<td>{escape(str(v)) if v is not None else ''}</td>" for v in row) + "</tr>")
    out.append("</tbody></table></section>")
    out.append(f'<section id="notes"><h2>{escape(book.label("notes"))} <span class="en">{escape(book.label("notes", "en"))}'
               "</span></h2><table><tbody>")
    for item, zh, en in notes_rows(book, edition):
        out.append(f"<tr><th scope=\"row\">{escape(item)}</th><td>{escape(zh)}</td><td class=\"en\">{escape(en)}</td></tr>")
    out.append("</tbody></table></section></main></body></html>")
    return "\n".join(out)
