"""The mistakes departments make, injected at known rows so the warehouse can be tested against them.

Each kind has a default rate (share of a file's rows), the handling the
warehouse must apply (quarantine / exclude_field / normalise / flag) and the ingestion rule
that is expected to catch it. A `quarantine` kind that hits a column that is not row-critical
(contracts: Column.is_row_critical) only blanks that field: its defects are expected as
`exclude_field` (`handling_of` decides per defect). A row carries at most one defect, and each
defect is built so that it triggers exactly that one rule: a changed birth
date moves backwards only (never into the future or before another date), a
base (denominator) row of a form is never altered, a maternal death is never
turned into a man. Row numbers are spreadsheet row numbers (header = 1).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from dagster_project.contracts import Extract
from dagster_project.ingest.rule_texts import ROW_RULES
from sample_data.styles import FileStyle


@dataclass(frozen=True)
class DefectKind:
    name: str
    handling: str          # quarantine | exclude_field | normalise | flag (quarantine: see handling_of)
    rate: float            # default share of a file's rows
    rule_id: str           # ingestion rule expected to catch it (some kinds vary by column type)
    description: str


KINDS: dict[str, DefectKind] = {k.name: k for k in [
    DefectKind("duplicate_row", "quarantine", 0.003, "duplicate_row",
               "an exact copy of a row; the manifest gives the row number of the second copy"),
    DefectKind("id_bad_check_digit", "exclude_field", 0.003, "id_bad_checksum",
               "18-character ID number whose check character is wrong"),
    DefectKind("id_lowercase_x", "normalise", 0.002, "id_lowercase_x",
               "ID number ending in a lower-case x"),
    DefectKind("id_15_digit", "normalise", 0.001, "id_15_digit",
               "old 15-digit ID number (people born 19xx)"),
    DefectKind("id_excel_mangled", "exclude_field", 0.001, "id_excel_mangled",
               "ID number turned into scientific notation by Excel, e.g. 4.30502E+17"),
    DefectKind("sex_contradicts_id", "flag", 0.002, "sex_contradicts_id",
               "stated sex differs from digit 17 of the ID number"),
    DefectKind("birth_date_contradicts_id", "flag", 0.002, "birth_date_contradicts_id",
               "stated birth date differs from the one inside the ID number (moved 1–60 days earlier)"),
    DefectKind("fullwidth_digits", "normalise", 0.001, "fullwidth_characters",
               "full-width digits such as ２０２３ in a date or number"),
    DefectKind("stray_spaces", "normalise", 0.003, "stray_spaces",
               "leading/trailing spaces around a code"),
    DefectKind("date_format_variant", "normalise", 0.004, "date_format_variant",
               "date written YYYY/MM/DD, YYYYMMDD or YYYY年M月D日"),
    DefectKind("excel_serial_date", "normalise", 0.002, "excel_serial_date",
               "date given as an Excel serial number (days since 1899-12-30)"),
    DefectKind("impossible_date", "quarantine", 0.001, "impossible_date",
               "a date that does not exist, e.g. 2023-02-30"),
    DefectKind("dates_out_of_order", "quarantine", 0.001, "dates_out_of_order",
               "death/screening/report before birth, or a birth before the mother's birth"),
    DefectKind("future_date", "quarantine", 0.001, "future_date",
               "an event date after the end of the file's period"),
    DefectKind("unknown_township", "quarantine", 0.002, "unknown_township",
               "township code not in the areas code list (committee codes: invalid_committee_code; forms: unknown_area)"),
    DefectKind("age_out_of_range", "quarantine", 0.003, "out_of_range",
               "population age outside 0–100"),
    DefectKind("negative_count", "quarantine", 0.002, "negative_value",
               "a negative count in population or forms"),
    DefectKind("numerator_exceeds_denominator", "quarantine", 0.005, "numerator_exceeds_denominator",
               "a form item larger than its base item (gen_base in form_items.csv) in the same file"),
    DefectKind("missing_required", "quarantine", 0.002, "missing_required",
               "a required value left blank"),
    DefectKind("invalid_code", "quarantine", 0.002, "invalid_code",
               "a value outside the code list, e.g. 学校类型 '高职' (residence: invalid_residence)"),
]}

# Forms are short files: their own kinds run at a higher rate so that a sample has some.
RATE_OVERRIDES = {("forms", "negative_count"): 0.005}

# Per extract: the column that gets an out-of-list value, the values, and the rule that catches it.
INVALID_CODES = {
    "population": ("residence", ["城乡结合部", "郊区"], "invalid_residence"),
    "births": ("residence", ["郊区", "城乡结合部"], "invalid_residence"),
    "deaths": ("residence", ["郊区", "城乡结合部"], "invalid_residence"),
    "child_health": ("residence", ["郊区", "城乡结合部"], "invalid_residence"),
    "cancer_screening": ("screening_type", ["卵巢癌", "两癌"], "invalid_code"),
    "students": ("school_type", ["高职", "完全中学", "特殊教育学校"], "invalid_code"),
    "student_health": ("fitness_rating", ["良", "合格", "A"], "invalid_code"),
    "committee_members": ("role", ["书记", "会计", "主任助理"], "invalid_code"),
    "social_assistance": ("programme", ["临时救助", "五保"], "invalid_code"),
    "cases": ("case_type", ["诈骗", "虐待"], "invalid_code"),
    "legal_aid": ("category", ["劳动争议", "农民工"], "invalid_code"),
    "forms": ("age_group", ["Y0T3", "0-17岁", "全部"], "invalid_code"),
}
# Kinds that leave the typed value unchanged: allowed on rows whose value must stay intact.
VALUE_PRESERVING = {"duplicate_row", "fullwidth_digits", "stray_spaces"}
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_IMPOSSIBLE = [(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)]
EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class Defect:
    position: int          # row position within the chunk before duplicates are inserted
    kind: str
    column: str
    value: str | None      # the cell text as written
    expected: str | None   # for normalise kinds: the value the warehouse should end up with
    rule_id: str


def handling_of(kind: str, extract: Extract, column: str, rule_id: str) -> str:
    """The handling the warehouse must apply to one defect: a quarantine kind on a column that is not
    row-critical (and not a whole-row rule) blanks the field instead (rule_texts, exclude_field)."""
    handling = KINDS[kind].handling
    if handling != "quarantine" or rule_id in ROW_RULES:
        return handling
    reported = column
    if rule_id == "dates_out_of_order":  # reported on the later date of the pair
        reported = next(second for first, second in extract.date_order if column in (first, second))
    return "quarantine" if extract.column(reported).is_row_critical else "exclude_field"


def kind_rate(extract: str, kind: str) -> float:
    return RATE_OVERRIDES.get((extract, kind), KINDS[kind].rate)


class Injector:
    """Injects defects into one file's chunks; remembers nothing but the file's settings."""

    def __init__(self, extract: Extract, style: FileStyle, period_end: dt.date, multiplier: float,
                 known_townships: set[str], form_bases: dict[str, str] | None = None):
        self.extract = extract
        self.style = style
        self.period_end = period_end
        self.multiplier = multiplier
        self.known_townships = known_townships
        self.form_bases = form_bases or {}
        self.id_col = next((c for c in extract.columns if c.type == "id_number"), None)
        self.date_cols = [c.name for c in extract.columns if c.type == "date"]
        self.place_col = next((c for c in extract.columns if c.type in ("township", "committee", "area")), None)
        tied_birth = {c.birth_date_column for c in extract.columns if c.type == "id_number"}
        self.future_col = next((c.name for c in extract.columns if c.not_after_period_end and c.name not in tied_birth),
                               None)
        key = set(extract.unique_key)
        self.blankable = [c.name for c in extract.columns if c.required and c.name not in key and c.type != "id_number"]

    # ------------------------------------------------------------------------------------------
    def applicable(self) -> list[str]:
        ex = self.extract
        kinds = ["duplicate_row"]
        if self.id_col is not None:
            kinds += ["id_bad_check_digit", "id_lowercase_x", "id_15_digit", "id_excel_mangled"]
            if self.id_col.sex_column:
                kinds.append("sex_contradicts_id")
            if self.id_col.birth_date_column:
                kinds.append("birth_date_contradicts_id")
        kinds += ["fullwidth_digits", "stray_spaces"]
        if self.date_cols:
            kinds += ["date_format_variant", "excel_serial_date", "impossible_date"]
        if ex.date_order:
            kinds.append("dates_out_of_order")
        if self.future_col:
            kinds.append("future_date")
        if self.place_col is not None:
            kinds.append("unknown_township")
        if ex.name == "population":
            kinds += ["age_out_of_range", "negative_count"]
        if ex.name == "forms":
            kinds += ["negative_count", "numerator_exceeds_denominator"]
        if self.blankable:
            kinds.append("missing_required")
        if ex.name in INVALID_CODES:
            kinds.append("invalid_code")
        return kinds

    def inject(self, text: pl.DataFrame, typed: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.DataFrame, list[Defect]]:
        n = text.height
        columns = {c: text[c].clone() for c in text.columns}
        taken = np.zeros(n, dtype=bool)
        keep_value = typed["__keep_value"].to_numpy() if "__keep_value" in typed.columns else np.zeros(n, dtype=bool)
        keep_sex = typed["__keep_sex"].to_numpy() if "__keep_sex" in typed.columns else np.zeros(n, dtype=bool)
        defects: list[Defect] = []
        kinds = self.applicable()
        for kind in kinds:
            if kind == "duplicate_row":
                continue
            count = rng.binomial(n, min(1.0, kind_rate(self.extract.name, kind) * self.multiplier)) if n else 0
            if count == 0:
                continue
            eligible = ~taken & self._eligible(kind, columns, typed, keep_sex)
            if kind not in VALUE_PRESERVING:
                eligible &= ~keep_value
            candidates = np.flatnonzero(eligible)
            if len(candidates) == 0:
                continue
            rows = np.sort(rng.choice(candidates, min(count, len(candidates)), replace=False))
            made = self._apply(kind, rows, columns, typed, rng)
            defects += made
            taken[[d.position for d in made]] = True
        frame = pl.DataFrame(list(columns.values()))
        # Duplicates last, copies of rows that carry no other defect.
        count = rng.binomial(n, min(1.0, kind_rate(self.extract.name, "duplicate_row") * self.multiplier)) if n else 0
        candidates = np.flatnonzero(~taken)
        if count and len(candidates):
            originals = np.sort(rng.choice(candidates, min(count, len(candidates)), replace=False))
            frame, defects = self._duplicate(frame, originals, defects, rng)
        return frame, defects

    # ------------------------------------------------------------------------------------------
    def _eligible(self, kind: str, cols: dict[str, pl.Series], typed: pl.DataFrame, keep_sex) -> np.ndarray:
        n = typed.height
        present = lambda name: cols[name].is_not_null().to_numpy()  # noqa: E731
        if kind.startswith("id_") or kind in ("sex_contradicts_id", "birth_date_contradicts_id"):
            ids = cols[self.id_col.name]
            ok = present(self.id_col.name)
            if kind == "id_lowercase_x":
                ok &= ids.str.ends_with("X").fill_null(False).to_numpy()
            elif kind == "id_15_digit":
                ok &= (ids.str.slice(6, 2) == "19").fill_null(False).to_numpy()
            elif kind == "id_excel_mangled":
                ok &= ~ids.str.ends_with("X").fill_null(True).to_numpy()
            elif kind == "sex_contradicts_id":
                ok &= present(self.id_col.sex_column) & ~keep_sex
            elif kind == "birth_date_contradicts_id":
                ok &= present(self.id_col.birth_date_column)
            return ok
        if kind == "fullwidth_digits":
            return present(self._number_col())
        if kind == "stray_spaces":
            return present(self.place_col.name) if self.place_col is not None else np.zeros(n, dtype=bool)
        if kind in ("date_format_variant", "excel_serial_date", "impossible_date"):
            return np.any([present(c) for c in self.date_cols], axis=0)
        if kind == "dates_out_of_order":
            first, second = self.extract.date_order[0]
            return present(first) & present(second)
        if kind == "future_date":
            return present(self.future_col)
        if kind == "unknown_township":
            return present(self.place_col.name)
        if kind == "age_out_of_range":
            return present("age")
        if kind == "negative_count":
            col = "population" if self.extract.name == "population" else "value"
            return (typed[col].fill_null(0) > 0).to_numpy()
        if kind == "numerator_exceeds_denominator":
            return self._base_values(typed) > 0
        if kind == "missing_required":
            return np.any([present(c) for c in self.blankable], axis=0)
        if kind == "invalid_code":
            return present(INVALID_CODES[self.extract.name][0])
        raise KeyError(kind)

    def _number_col(self) -> str:
        if self.date_cols:
            return self.date_cols[0]
        for name in ("population", "value", "enrolled"):
            if any(c.name == name for c in self.extract.columns):
                return name
        return self.place_col.name

    def _base_values(self, typed: pl.DataFrame) -> np.ndarray:
        """Per row, the value of its base item in the same chunk (0 when there is none)."""
        if not self.form_bases:
            return np.zeros(typed.height)
        keyed = typed.select("item_code", "township_code", "sex", "age_group", "value")
        base = keyed.rename({"item_code": "__base", "value": "__base_value"})
        joined = keyed.with_row_index("__pos").with_columns(
            pl.col("item_code").replace_strict(self.form_bases, default=None, return_dtype=pl.String).alias("__base")
        ).join(base, on=["__base", "township_code", "sex", "age_group"], how="left").sort("__pos")
        return joined["__base_value"].fill_null(0).to_numpy()

    # ------------------------------------------------------------------------------------------
    def _apply(self, kind: str, rows: np.ndarray, cols: dict[str, pl.Series], typed: pl.DataFrame,
               rng: np.random.Generator) -> list[Defect]:
        rule = KINDS[kind].rule_id
        out: list[Defect] = []

        def put(name: str, positions, values, expected=None, rule_id=rule):
            positions = list(int(p) for p in positions)
            if not positions:
                return
            cols[name] = cols[name].scatter(positions, pl.Series(values, dtype=pl.String))
            exp = expected if expected is not None else [None] * len(positions)
            out.extend(Defect(p, kind, name, v, e, rule_id) for p, v, e in zip(positions, values, exp))

        if kind.startswith("id_"):
            name = self.id_col.name
            old = cols[name].gather(rows).to_list()
            if kind == "id_bad_check_digit":
                new = []
                for v in old:
                    wrong = [c for c in "0123456789X" if c != v[17]]
                    new.append(v[:17] + wrong[int(rng.integers(len(wrong)))])
                put(name, rows, new)
            elif kind == "id_lowercase_x":
                put(name, rows, [v[:17] + "x" for v in old], expected=old)
            elif kind == "id_15_digit":
                put(name, rows, [v[:6] + v[8:17] for v in old], expected=old)
            elif kind == "id_excel_mangled":
                put(name, rows, [f"{float(v):.5E}" for v in old])
            return out
        if kind == "sex_contradicts_id":
            name = self.id_col.sex_column
            words = self.style.sex_words
            old = cols[name].gather(rows).to_list()
            put(name, rows, [words[1] if v == words[0] else words[0] for v in old])
            return out
        if kind == "birth_date_contradicts_id":
            name = self.id_col.birth_date_column
            dates = typed[name].gather(rows).to_list()
            put(name, rows, [(d - dt.timedelta(days=int(rng.integers(1, 61)))).isoformat() for d in dates])
            return out
        if kind == "fullwidth_digits":
            name = self._number_col()
            old = cols[name].gather(rows).to_list()
            put(name, rows, [v.translate(_FULLWIDTH) for v in old], expected=old)
            return out
        if kind == "stray_spaces":
            name = self.place_col.name
            old = cols[name].gather(rows).to_list()
            pads = [(" ", ""), ("", " "), (" ", " "), ("", "  ")]
            new = []
            for v in old:
                left, right = pads[int(rng.integers(len(pads)))]
                new.append(f"{left}{v}{right}")
            put(name, rows, new, expected=old)
            return out
        if kind in ("date_format_variant", "excel_serial_date", "impossible_date"):
            # One date column per row, among those filled in; one scatter per column.
            for name, subset in self._spread_over(self.date_cols, rows, cols, rng):
                dates = typed[name].gather(subset).to_list()
                if kind == "date_format_variant":
                    styles = rng.integers(3, size=len(dates))
                    text = [(d.strftime("%Y/%m/%d"), d.strftime("%Y%m%d"), f"{d.year}年{d.month}月{d.day}日")[k]
                            for d, k in zip(dates, styles)]
                    put(name, subset, text, expected=[d.isoformat() for d in dates])
                elif kind == "excel_serial_date":
                    put(name, subset, [str((d - EXCEL_EPOCH).days) for d in dates],
                        expected=[d.isoformat() for d in dates])
                else:
                    picks = rng.integers(len(_IMPOSSIBLE), size=len(dates))
                    put(name, subset, [f"{d.year}-{_IMPOSSIBLE[k][0]:02d}-{_IMPOSSIBLE[k][1]:02d}"
                                       for d, k in zip(dates, picks)])
            return out
        if kind == "dates_out_of_order":
            first, second = self.extract.date_order[0]
            base = typed[first].gather(rows).to_list()
            put(second, rows, [(d - dt.timedelta(days=int(rng.integers(30, 3651)))).isoformat() for d in base])
            return out
        if kind == "future_date":
            put(self.future_col, rows,
                [(self.period_end + dt.timedelta(days=int(rng.integers(1, 366)))).isoformat() for _ in rows])
            return out
        if kind == "unknown_township":
            col = self.place_col
            old = cols[col.name].gather(rows).to_list()
            rule_id = {"township": "unknown_township", "committee": "invalid_committee_code",
                       "area": "unknown_area"}[col.type]
            put(col.name, rows, [self._bad_place(v, col.type, rng) for v in old], rule_id=rule_id)
            return out
        if kind == "age_out_of_range":
            ages = typed["age"].gather(rows).to_list()
            put("age", rows, [str(a + 101) for a in ages])
            return out
        if kind == "negative_count":
            name = "population" if self.extract.name == "population" else "value"
            old = cols[name].gather(rows).to_list()
            put(name, rows, ["-" + v for v in old])
            return out
        if kind == "numerator_exceeds_denominator":
            base = self._base_values(typed)[rows]
            new = [str(int(b + max(1, np.ceil(b * rng.uniform(0.05, 0.5))))) for b in base]
            put("value", rows, new)
            return out
        if kind == "missing_required":
            for name, subset in self._spread_over(self.blankable, rows, cols, rng):
                cols[name] = cols[name].scatter(subset, None)
                out.extend(Defect(int(r), kind, name, None, None, rule) for r in subset)
            return out
        if kind == "invalid_code":
            name, values, rule_id = INVALID_CODES[self.extract.name]
            put(name, rows, [values[int(rng.integers(len(values)))] for _ in rows], rule_id=rule_id)
            return out
        raise KeyError(kind)

    @staticmethod
    def _spread_over(candidates: list[str], rows: np.ndarray, cols: dict[str, pl.Series],
                     rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
        """Give each row one of the candidate columns that is filled in for it, at random."""
        filled = np.stack([cols[c].is_not_null().to_numpy()[rows] for c in candidates], axis=1)
        score = np.where(filled, rng.random(filled.shape), -1.0)
        choice = score.argmax(axis=1)
        return [(name, rows[choice == j]) for j, name in enumerate(candidates) if (choice == j).any()]

    def _bad_place(self, value: str, col_type: str, rng: np.random.Generator) -> str:
        county = value[:6]
        for _ in range(50):
            suffix = ("010", "011", "015", "099", "102", "103", "110", "201", "203", "300")[int(rng.integers(10))]
            code = county + suffix
            if code not in self.known_townships:
                break
        if col_type == "committee":
            return code + value[9:12]
        return code

    def _duplicate(self, frame: pl.DataFrame, originals: np.ndarray, defects: list[Defect],
                   rng: np.random.Generator) -> tuple[pl.DataFrame, list[Defect]]:
        """Insert copies: most right after the original (a double paste), some further down."""
        n = frame.height
        later = rng.random(len(originals)) < 0.3
        target = np.where(later, originals + 1 + (rng.random(len(originals)) * (n - originals - 1)).astype(np.int64),
                          originals + 1)
        # Final order: each original row i at position i + (copies inserted before it).
        order = np.concatenate([np.arange(n), originals])          # row sources
        slot = np.concatenate([np.arange(n) * 2.0, target * 2.0 - 1.0])  # copies sort just before `target`
        final = np.argsort(slot, kind="stable")
        sources = order[final]
        new_position_of = np.empty(n, dtype=np.int64)
        is_copy = final >= n
        new_position_of[sources[~is_copy]] = np.flatnonzero(~is_copy)
        out = [Defect(int(new_position_of[d.position]), d.kind, d.column, d.value, d.expected, d.rule_id)
               for d in defects]
        for pos in np.flatnonzero(is_copy):
            out.append(Defect(int(pos), "duplicate_row", "*", None, None, "duplicate_row"))
        return frame[sources], sorted(out, key=lambda d: d.position)
