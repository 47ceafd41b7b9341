"""Reading a statistical compendium workbook as a person sees it: its numbered tables and their printed cells.

Shared by tests/test_compendium.py (the compendium's own checks) and tests/test_disclosure_all_outputs.py (the
intruder who holds every public output at once).
"""
from __future__ import annotations

import re
from pathlib import Path

import openpyxl

CAPTION = re.compile(r"^(表(\d+)-(\d+))\s+(.+?)\s+单位：(.*)$")
FRONT_SHEETS = ("说明", "目录", "指标解释")
SEX_HEADERS = {"女": "female", "男": "male", "合计": "total"}


def sheet_tables(path: Path) -> dict[str, dict]:
    """Every numbered table of a compendium workbook, as stored: caption, headers, rows, footnotes, sheet."""
    book = openpyxl.load_workbook(path, read_only=True)
    found: dict[str, dict] = {}
    for sheet in book.worksheets:
        if sheet.title.startswith(FRONT_SHEETS):
            continue
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        i = 0
        while i < len(rows):
            first = rows[i][0] if rows[i] else None
            match = CAPTION.match(first) if isinstance(first, str) else None
            if not match:
                i += 1
                continue
            header = [h for h in rows[i + 1] if h is not None]
            data, j = [], i + 2
            while j < len(rows) and rows[j] and rows[j][0] not in (None, "注："):
                data.append(rows[j][:len(header)])
                j += 1
            notes = []
            if j < len(rows) and rows[j] and rows[j][0] == "注：":
                j += 1
                while j < len(rows) and rows[j] and rows[j][0]:
                    notes.append(rows[j][0])
                    j += 1
            found[match.group(1)] = {"chapter": int(match.group(2)), "seq": int(match.group(3)),
                                     "title": match.group(4), "unit": match.group(5), "header": header,
                                     "rows": data, "notes": notes, "sheet": sheet.title, "sheet_rows": rows}
            i = j
    return found


def column_key(header: str) -> str:
    first = header.split(" ")[0]
    return SEX_HEADERS.get(first, "note" if first == "注" else "comparison")


def public_compendium_cells(tables: dict, marts) -> dict:
    """Published numeric cells of the public compendium workbook, keyed like the submission's."""
    meta = {r[0]: r for r in marts.execute(
        "SELECT table_no, indicator_code, table_kind FROM main_marts.rpt_compendium_tables").fetchall()}
    rows = marts.execute("SELECT table_no, row_order, period_year, area_code, residence, age_group_code, row_label_zh "
                         "FROM main_marts.rpt_compendium_rows ORDER BY table_no, row_order").fetchall()
    by_table: dict[str, list] = {}
    for r in rows:
        by_table.setdefault(r[0], []).append(r)
    units = dict(marts.execute("SELECT indicator_code, unit FROM main_marts.dim_indicator").fetchall())
    known = {}
    for number, table in tables.items():
        _, code, kind = meta[number]
        keys = [column_key(h) for h in table["header"]]
        for printed, (_, _, year, area, residence, age, label) in zip(table["rows"], by_table[number], strict=True):
            assert printed[0] == label
            for key, value in zip(keys, printed):
                if key not in ("female", "male", "total") or not isinstance(value, (int, float)):
                    continue
                sex = {"female": "2", "male": "1", "total": "_T"}[key]
                if kind.startswith("population_"):
                    known[("p", year, area, age, sex)] = float(value)
                else:
                    known[("v", code, year, area, residence, sex)] = float(value)
                    if units[code] == "count":  # a count's value is its numerator
                        known[("n", code, year, area, residence, sex)] = float(value)
    return known
