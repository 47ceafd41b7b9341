"""The compendium as a workbook: 说明, 目录, one sheet per chapter (the population, each domain) with its
numbered tables one below the other, and 指标解释. Written through exports.worksheets (widths in display
characters, number formats by the unit's decimals, frozen top rows); every sheet names the edition in its
first row and in its printed header, so an internal sheet is never mistaken for a public one.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from dagster_project.exports.worksheets import open_workbook, write_notes, write_sheet
from dagster_project.report.compendium_data import Compendium, PrintedTable, definitions_frame, headers, notes_rows


def _table_frame(table: PrintedTable, note_header: str) -> pl.DataFrame:
    data: dict[str, list] = {table.row_header: [label for label, _, _ in table.rows]}
    for i, column in enumerate(table.columns):
        data[column.header] = [cells[i].value for _, cells, _ in table.rows]
    data[note_header] = [note for _, _, note in table.rows]
    schema = {table.row_header: pl.String, **{c.header: pl.Float64 for c in table.columns}, note_header: pl.String}
    return pl.DataFrame(data, schema=schema)


def _sheet_name(name: str) -> str:
    return "".join(ch for ch in name if ch not in "[]:*?/\\")[:31]


def write_compendium_xlsx(book: Compendium, tables: list[PrintedTable], edition: str, path: Path) -> None:
    title, notice = book.title(edition), book.notice(edition)
    note_header = f"{book.label('note_column')} {book.label('note_column', 'en')}"
    unit_lead = book.label("unit_lead")
    with open_workbook(path) as workbook:
        bold = workbook.add_format({"bold": True, "font_size": 13})
        caption = workbook.add_format({"bold": True})
        small = workbook.add_format({"font_size": 9, "italic": True})
        symbol_format = workbook.add_format({"align": "right", "valign": "vcenter"})
        write_notes(workbook, f"{book.label('notes')} {book.label('notes', 'en')}", notes_rows(book, edition),
                    title=[title, notice]).set_header(f"&C{notice}")
        listed = {"table_no": [t.table_no for t in tables], "title": [t.title for t in tables],
                  "unit": [t.unit for t in tables], "sheet": [_sheet_name(t.sheet) for t in tables]}
        contents = pl.DataFrame({header: listed[key] for key, header in headers(book, "contents_column")})
        for written in write_sheet(contents, workbook, f"{book.label('contents')} {book.label('contents', 'en')}"):
            _print_setup(workbook.get_worksheet_by_name(written), notice, book.year)
        sheets: dict[str, object] = {}
        row_at: dict[str, int] = {}
        for table in tables:
            name = _sheet_name(table.sheet)
            if name not in sheets:
                sheet = workbook.add_worksheet(name)
                sheet.write_string(0, 0, f"{title} · {table.chapter}", bold)
                sheet.write_string(1, 0, notice, caption)
                sheet.freeze_panes(2, 0)  # the sheet's title and edition stay in view
                _print_setup(sheet, notice, book.year)
                sheets[name], row_at[name] = sheet, 3
            sheet, row = sheets[name], row_at[name]
            sheet.write_string(row, 0, f"{table.table_no}  {table.title}    {unit_lead}{table.unit}", caption)
            frame = _table_frame(table, note_header)
            formats = {c.header: c.decimals for c in table.columns}
            write_sheet(frame, workbook, sheet, position=f"A{row + 2}", freeze_panes=None, autofilter=False,
                        formats=formats)
            first_data = row + 2
            for offset, (_, cells, _) in enumerate(table.rows):
                for j, cell in enumerate(cells):
                    if cell.symbol:
                        sheet.write_string(first_data + offset, 1 + j, cell.symbol, symbol_format)
            row = first_data + len(table.rows)
            if table.footnotes:
                sheet.write_string(row, 0, book.label("footnote_lead"), small)
                row += 1
                for text in table.footnotes:
                    sheet.write_string(row, 0, text, small)
                    row += 1
            row_at[name] = row + 1
        label = f"{book.label('definitions')} {book.label('definitions', 'en')}"
        for written in write_sheet(definitions_frame(book), workbook, label):
            _print_setup(workbook.get_worksheet_by_name(written), notice, book.year, landscape=True)


def _print_setup(sheet, notice: str, year: int, landscape: bool = False) -> None:
    """Printed from the spreadsheet: A4, as wide as the page, the edition in the header and footer."""
    sheet.set_header(f"&C{notice}")
    sheet.set_footer(f"&L{notice}&R{year}")
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    if landscape:
        sheet.set_landscape()
