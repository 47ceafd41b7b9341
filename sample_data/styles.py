"""How each department file looks: format, encoding, header language, words for yes/no and sex.

Every choice is a hash of (seed, file path), so the same run always writes the
same bytes while the files of a run differ from one another as real
department exports do: most CSVs are plain UTF-8, some are GB18030 without any
declaration, some UTF-8 with a BOM; Chinese headers are more common than
English ones; civil affairs and some forms arrive as XLSX.

`render` turns a typed chunk (canonical values) into the text cells of the
file: dates as YYYY-MM-DD, booleans and sex in the file's words, code values
as Chinese labels or English codes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from dagster_project.contracts import Contracts, Extract
from sample_data import hashing

XLSX_MAX_ROWS = 100_000          # larger extracts are always CSV (Excel's limit and writing speed)
XLSX_SHARE = {"committee_members": 1.0, "social_assistance": 1.0, "forms": 0.4, "cases": 0.5, "legal_aid": 0.3}
AGGREGATES = {"population", "grade_history", "forms"}   # sex as codes 1/2(/T) only
DECIMALS = {"hemoglobin_g_l": 0, "height_for_age_z": 2, "monthly_amount_yuan": 0}


@dataclass(frozen=True)
class FileStyle:
    relative_path: str
    file_format: str              # csv | xlsx
    encoding: str | None          # utf-8 | utf-8-sig | gb18030 (CSV only)
    line_terminator: str          # "\n" | "\r\n" (CSV only)
    header_language: str          # zh | en
    headers: tuple[str, ...]
    bool_words: tuple[str, str]   # (yes, no)
    sex_words: tuple[str, str]    # (male, female)
    code_language: str            # zh labels or en codes in code columns
    residence_words: tuple[str, str]

    def describe(self) -> dict:
        d = asdict(self)
        d = {"format": d.pop("file_format"), **d}
        d["line_terminator"] = "CRLF" if self.line_terminator == "\r\n" else "LF"
        d["headers"] = list(self.headers)
        d.pop("relative_path")
        return d


def choose_style(seed: int, extract: Extract, relative_stem: str, expected_rows: int) -> FileStyle:
    def u(aspect: str) -> float:
        return hashing.scalar_uniform(seed, "style", relative_stem, aspect)

    xlsx = u("format") < XLSX_SHARE.get(extract.name, 0.0) and expected_rows <= XLSX_MAX_ROWS
    lang = "zh" if u("header") < 0.65 else "en"
    enc_u = u("encoding")
    encoding = None if xlsx else ("gb18030" if enc_u < 0.2 else "utf-8-sig" if enc_u < 0.35 else "utf-8")
    crlf = u("newline") < (0.7 if encoding == "gb18030" else 0.2)
    headers = []
    for col in extract.columns:
        if lang == "en" or not col.zh:
            headers.append(col.name)
        else:
            pick = u(f"alias:{col.name}")
            headers.append(col.zh[0] if pick < 0.85 or len(col.zh) == 1 else col.zh[1 + int(pick * 100) % (len(col.zh) - 1)])
    b = u("bool")
    if lang == "zh":
        bools = ("是", "否") if b < 0.75 else ("1", "0")
    else:
        bools = ("Y", "N") if b < 0.45 else ("1", "0") if b < 0.65 else ("true", "false") if b < 0.85 else ("是", "否")
    sex = ("男", "女") if lang == "zh" and extract.name not in AGGREGATES and u("sex") < 0.3 else ("1", "2")
    code_lang = "zh" if lang == "zh" or u("codes") < 0.5 else "en"
    residence = ("urban", "rural") if lang == "en" and u("residence") < 0.5 else ("城镇", "乡村")
    return FileStyle(
        relative_path=relative_stem + (".xlsx" if xlsx else ".csv"),
        file_format="xlsx" if xlsx else "csv",
        encoding=encoding,
        line_terminator="\r\n" if crlf and not xlsx else "\n",
        header_language=lang,
        headers=tuple(headers),
        bool_words=bools,
        sex_words=sex,
        code_language=code_lang,
        residence_words=residence,
    )


def zh_labels(contracts: Contracts, code_list: str) -> dict[str, str]:
    """canonical code -> Chinese label, from the contract's code list."""
    labels: dict[str, str] = {}
    for raw, canonical in contracts.code_list(code_list).items():
        if not raw.isascii() and canonical not in labels:
            labels[canonical] = raw
    return labels


def render(frame: pl.DataFrame, extract: Extract, style: FileStyle, contracts: Contracts) -> pl.DataFrame:
    """Typed canonical chunk -> the text cells of the file (null stays null = empty cell)."""
    exprs = []
    for col in extract.columns:
        c = pl.col(col.name)
        if col.type == "date":
            e = c.dt.strftime("%Y-%m-%d")
        elif col.type == "bool":
            e = pl.when(c).then(pl.lit(style.bool_words[0])).when(~c).then(pl.lit(style.bool_words[1]))
        elif col.type == "sex" and style.sex_words != ("1", "2"):
            e = c.replace_strict({"1": style.sex_words[0], "2": style.sex_words[1]}, default=c)
        elif col.type == "residence":
            e = c.replace_strict({"urban": style.residence_words[0], "rural": style.residence_words[1]}, default=c)
        elif col.type == "code" and col.code_list not in ("form_item", "age_group", "form_sex") \
                and style.code_language == "zh":
            e = c.replace_strict(zh_labels(contracts, col.code_list), default=c)
        elif col.type == "integer":
            e = c.cast(pl.String)
        elif col.type == "decimal":
            decimals = DECIMALS.get(col.name)
            if decimals == 0:
                e = c.round(0).cast(pl.Int64).cast(pl.String)
            elif decimals is not None:
                e = c.round(decimals).cast(pl.String)
            else:   # forms values: whole numbers without ".0", others with one decimal
                e = pl.when(c == c.round(0)).then(c.cast(pl.Int64).cast(pl.String)).otherwise(c.round(1).cast(pl.String))
        else:
            e = c.cast(pl.String)
        exprs.append(e.cast(pl.String).alias(col.name))
    return frame.select(exprs)
