"""What the statistical compendium (统计资料) shows, read from the marts and laid out per edition.

Everything a table says comes from dbt (marts.rpt_compendium_tables, _rows, _footnotes, _definitions, _marks,
_labels): its number, title, unit, which sex columns and which sex comparison it has, its rows and marks.
This module only reads it, applies the public edition's small-cell protection (exports.compendium_protection:
the provincial submission's) and turns each row into the cells an edition prints: a value, or the symbol
that stands in for it (× suppressed, … withheld, — no value), and the row's note.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from dagster_project.exports.compendium_protection import protect_rows

EDITIONS = ("public", "internal")
# (column of rpt_compendium_rows, its status column, the rpt_compendium_tables flag that shows it, sex label key)
VALUE_COLUMNS = [("female", "female_status", "shows_female", "sex_2"),
                 ("male", "male_status", "shows_male", "sex_1"),
                 ("total", "total_status", "shows_total", "sex__T")]
HIDDEN = ("primary", "secondary")


@dataclass
class Compendium:
    year: int
    district_code: str
    district_zh: str
    tables: pl.DataFrame          # rpt_compendium_tables, in printing order
    rows: pl.DataFrame            # rpt_compendium_rows + the public edition's statuses
    footnotes: pl.DataFrame       # rpt_compendium_footnotes
    definitions: pl.DataFrame     # rpt_compendium_definitions
    marks: dict[str, dict]        # mark -> rpt_compendium_marks row
    labels: dict[str, dict]       # label_key -> rpt_compendium_labels row
    threshold: int

    def label(self, key: str, lang: str = "zh") -> str:
        row = self.labels.get(key)
        return "" if row is None else (row[f"label_{lang}"] or "")

    def title(self, edition: str) -> str:
        return f"{self.district_zh}{self.label('compendium')}（{self.year}年）·{self.label(edition)}"

    def notice(self, edition: str) -> str:
        return self.label(f"{edition}_notice")

    def mark_text(self, mark: str, lang: str = "zh") -> str:
        row = self.marks[mark]
        sep = "：" if lang == "zh" else ": "
        description = (row[f"description_{lang}"] or "").replace("{threshold}", str(self.threshold))
        return f"{row['symbol']} {row[f'label_{lang}']}{sep}{description}"


def load_compendium(con: duckdb.DuckDBPyConnection, threshold: int) -> Compendium:
    tables = con.execute("SELECT * FROM main_marts.rpt_compendium_tables ORDER BY table_order").pl()
    if tables.is_empty():
        raise ValueError("no indicator values in the warehouse: no compendium to write")
    district = con.execute(
        "SELECT area_code, name_zh FROM main_marts.dim_area WHERE area_code = (SELECT area_code FROM "
        "main_marts.rpt_compendium_rows WHERE row_kind = 'year' LIMIT 1)").fetchone()
    rows = con.execute("SELECT * FROM main_marts.rpt_compendium_rows ORDER BY table_no, row_order").pl()
    rows = protect_rows(con, tables, rows, threshold, district[0])
    marks = {r["mark"]: r for r in con.execute("SELECT * FROM main_marts.rpt_compendium_marks ORDER BY sort_order")
             .pl().iter_rows(named=True)}
    labels = {r["label_key"]: r for r in con.execute("SELECT * FROM main_marts.rpt_compendium_labels").pl()
              .iter_rows(named=True)}
    return Compendium(
        year=int(tables["compendium_year"][0]), district_code=district[0], district_zh=district[1],
        tables=tables, rows=rows,
        footnotes=con.execute("SELECT * FROM main_marts.rpt_compendium_footnotes ORDER BY table_no, sort_order").pl(),
        definitions=con.execute("SELECT * FROM main_marts.rpt_compendium_definitions ORDER BY catalogue_order").pl(),
        marks=marks, labels=labels, threshold=threshold)


@dataclass
class Column:
    key: str            # female / male / total / comparison
    header: str         # Chinese first, English beside, the unit in brackets
    decimals: int


@dataclass
class Cell:
    value: float | None
    symbol: str | None  # printed instead of the value
    status: str         # published / primary / secondary


@dataclass
class PrintedTable:
    """One numbered table as an edition prints it."""

    table_no: str
    title: str
    unit: str
    sheet: str
    chapter_no: int
    chapter: str
    chapter_en: str
    row_header: str
    columns: list[Column]
    rows: list[tuple[str, list[Cell], str]]     # (row label, cells, note)
    footnotes: list[str]


def columns_of(book: Compendium, table: dict) -> list[Column]:
    unit = table["unit_label_zh"] or ""
    columns = []
    for key, _, shows, sex_key in VALUE_COLUMNS:
        if table[shows]:
            columns.append(Column(key, f"{book.label(sex_key)} {book.label(sex_key, 'en')}（{unit}）",
                                  int(table["unit_decimals"] or 0)))
    if table["comparison"]:
        columns.append(Column("comparison", f"{table['comparison_zh']} {book.label(table['comparison'], 'en')}"
                                            f"（{table['comparison_unit_zh']}）", int(table["comparison_decimals"] or 0)))
    return columns


def printed_tables(book: Compendium, edition: str) -> list[PrintedTable]:
    """Every table of the compendium as `edition` ('public' | 'internal') prints it."""
    public = edition == "public"
    rows_by_table = {t: f for (t,), f in book.rows.partition_by("table_no", as_dict=True).items()}
    notes_by_table = {t: f for (t,), f in book.footnotes.partition_by("table_no", as_dict=True).items()}
    symbol = {mark: row["symbol"] for mark, row in book.marks.items()}
    out = []
    for table in book.tables.iter_rows(named=True):
        columns = columns_of(book, table)
        status_of = {key: status for key, status, *_ in VALUE_COLUMNS} | {"comparison": "comparison_status"}
        value_of = {"female": "female", "male": "male", "total": "total", "comparison": "comparison_value"}
        printed_rows = []
        any_suppressed = False
        frame = rows_by_table.get(table["table_no"], pl.DataFrame())
        for r in frame.iter_rows(named=True):
            cells, hidden_sexes = [], []
            for column in columns:
                value, status = r[value_of[column.key]], r[status_of[column.key]]
                hidden = status in HIDDEN and value is not None
                if hidden and column.key != "comparison":
                    hidden_sexes.append(column.header.split(" ")[0])
                if hidden and public:
                    cells.append(Cell(None, symbol["suppressed"], status))
                    any_suppressed = True
                elif value is None:
                    cells.append(Cell(None, symbol[r["empty_mark"]], "published"))
                else:
                    cells.append(Cell(value, None, status))
            note = r["row_symbols"] or ""
            if not public and hidden_sexes:
                note = (note + " " if note else "") + symbol["suppressed_in_public"] + "、".join(hidden_sexes)
                any_suppressed = True
            printed_rows.append((r["row_label_zh"], cells, note))
        notes = notes_by_table.get(table["table_no"])
        footnotes = notes["text_zh"].to_list() if notes is not None else []
        if any_suppressed:
            footnotes.append(book.mark_text("suppressed" if public else "suppressed_in_public"))
        out.append(PrintedTable(
            table_no=table["table_no"], title=table["title_zh"], unit=table["unit_label_zh"] or "",
            sheet=table["sheet_name"], chapter_no=table["chapter_no"], chapter=table["chapter_zh"],
            chapter_en=table["chapter_en"] or "",
            row_header=f"{table['row_header_zh']} {table['row_header_en'] or ''}".strip(),
            columns=columns, rows=printed_rows, footnotes=footnotes))
    return out


def headers(book: Compendium, kind: str) -> list[tuple[str, str]]:
    """(column, header: Chinese first, English beside) of the labels of `kind`, in their order (seed)."""
    rows = sorted((r for r in book.labels.values() if r["kind"] == kind), key=lambda r: r["sort_order"])
    return [(r["label_key"], f"{r['label_zh']} {r['label_en'] or ''}".strip()) for r in rows]


def definitions_frame(book: Compendium) -> pl.DataFrame:
    """指标解释 as printed: the columns and headers the labels seed lists."""
    return book.definitions.select(pl.col(column).alias(header) for column, header in headers(book, "definition_column"))


def notes_rows(book: Compendium, edition: str) -> list[tuple[str, str, str]]:
    """The 说明 Notes: the edition, every mark, the statistical periods."""
    rows = [(book.label(edition), book.notice(edition), book.labels[f"{edition}_notice"]["label_en"] or "")]
    for mark, row in book.marks.items():
        if mark == ("suppressed_in_public" if edition == "public" else "suppressed"):
            continue
        rows.append((f"{row['symbol']} {row['label_zh']}", book.mark_text(mark).split("：", 1)[1],
                     book.mark_text(mark, "en").split(": ", 1)[1]))
    periods = book.definitions.select("period_basis_zh", "period_description_zh").unique().sort("period_basis_zh")
    for label, description in periods.iter_rows():
        rows.append((label, description, ""))
    return rows
