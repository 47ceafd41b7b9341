"""Validate a loaded raw table against its Great Expectations suite, in bounded batches.

Why not GX's SQL datasource: through duckdb-engine it fails inside
`resolve_metric_bundle` (IndexError). So the runner reads the table from DuckDB
through Arrow and lets GX's *pandas* datasource do the checking, never holding
more than about `batch_rows` rows in memory. Each suite rule says in
`meta.scope` how it is evaluated:

* ``rows`` - row rules (not null, code lists, ranges, regexes, column pairs) and
  the column set. The table (filtered to `period_years`) is streamed as Arrow
  record batches (`to_arrow_reader`, formerly `fetch_record_batch`) and turned
  into pandas frames; each frame is one GX validation of all row rules, and the
  per-batch counts are summed: element, unexpected and missing counts add up
  exactly, and `mostly` is re-applied to the sums, so the verdict does not
  depend on the batch size. A table no larger than `batch_rows` is one batch.
  *Uniqueness* needs every copy of a key in the same batch. When the table is
  larger than `batch_rows`, rows are therefore cut into
  k = ceil(rows / batch_rows) buckets by `hash(key) % k` in DuckDB (rows with a
  blank key part, which uniqueness ignores, are spread by `hash(rowid)`), read in
  bucket order and handed to GX one bucket at a time. Equal keys share a bucket,
  so GX's `expect_compound_columns_to_be_unique` / `expect_column_values_to_be_unique`
  on each bucket is exact for the whole table; a bucket has about `batch_rows`
  rows (more only when one key value is massively duplicated, itself a failure).
* ``period`` - rules about whole periods (at least one row per year, mean birth
  weight, share of boys, townships reporting). DuckDB computes the aggregate
  named in `meta.metric` per period - one small row per year, years without
  rows included with a count of 0 - and GX validates that summary frame, so the
  comparison and the result format are still GX's. With `period_years=None` the
  expected years are every year from the first to the last one present (a gap
  is a missing file); an empty table gives one row with count 0.
* ``schema`` - column types: GX checks the table's catalogue rows
  (column_name, data_type) from DuckDB's information_schema.

A table larger than `batch_rows` (province scale) is validated rule group by rule group, because
GX's pandas checks cost about 15 µs per row and rule and a province holds ~200 million rows:

* a column's per-value rules (not null, code list, range, regex - the outcome of each depends on
  that one value, or on it and the column of a simple `row_condition` such as "school_type IN
  (...)") see the column's *distinct values* (or value pairs) with how many rows hold each
  (`GROUP BY` in DuckDB), in frames of at most `batch_rows` values. GX decides every value; the
  counts are weighted back to rows (`unexpected_index_list` × rows per value), so element,
  missing and unexpected counts are those of the row-by-row check, exactly (a test compares them).
  Most columns have few distinct values (sex, township, grade, dates), so this is the big saving.
* uniqueness rules get only their key columns, cut into buckets by key hash as above;
* rules with another `row_condition` get only the columns they read, in slices of `batch_rows` rows;
* the column set is checked on the table's empty frame.

So a small extract costs 2 + ceil(rows / batch_rows) GX validations, a large one a few per column
group and batch. The GX context
is created once per process (GX's import and start-up take seconds) and reused.
Example values are masked (`masking.py`): no outcome, metadata, audit row or
page ever shows an ID number in clear.
"""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from dagster_project.quality.masking import display, mask_deep, mask_text
from dagster_project.quality.suites import Suite, load_suite, suite_parameters

N_EXAMPLES = 5
LOCATION_COLUMNS = ("_source_file", "_row_number")

_GX_LOCK = threading.RLock()
_GX_STATE: dict[str, Any] = {}


# ------------------------------------------------------------------------------------------------
# Outcome objects
# ------------------------------------------------------------------------------------------------
@dataclass
class RuleOutcome:
    rule_id: str
    severity: str                 # blocking | warning
    success: bool
    expectation_type: str
    scope: str
    column: str | None
    description_zh: str
    description_en: str
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: str | None = None
    examples: list[str] = field(default_factory=list)   # masked
    exception: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)  # parameters resolved, masked

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "kwargs"}


@dataclass
class SuiteOutcome:
    extract: str
    department: str
    suite_name: str
    raw_table: str
    period_years: list[int] | None
    rules: list[RuleOutcome]
    rows_validated: int = 0
    batches: int = 0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    duration_seconds: float = 0.0
    title_zh: str = ""
    contract_version: int | None = None

    @property
    def passed_blocking(self) -> bool:
        return all(r.success for r in self.rules if r.severity == "blocking")

    @property
    def blocking_failures(self) -> list[RuleOutcome]:
        return [r for r in self.rules if r.severity == "blocking" and not r.success]

    @property
    def warnings(self) -> list[RuleOutcome]:
        """Warning rules that failed (the extract still flows on)."""
        return [r for r in self.rules if r.severity == "warning" and not r.success]

    def rule(self, rule_id: str) -> RuleOutcome:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)

    # -- presentation -----------------------------------------------------------------------
    def _label(self) -> str:
        title = f"{self.title_zh} " if self.title_zh else ""
        years = "、".join(str(y) for y in self.period_years) if self.period_years else "全部报送期"
        return f"【{title}{self.raw_table}，{years}】"

    def summary_zh(self) -> str:
        """A few lines a clerk or the monitoring group can read: verdict, then each failed rule."""
        failed, warned = self.blocking_failures, self.warnings
        if not failed and not warned:
            head = f"{self._label()}质量检查通过：{len(self.rules)} 条规则全部通过（检查 {self.rows_validated} 行）。"
        elif not failed:
            head = (f"{self._label()}质量检查通过，但有 {len(warned)} 条提醒需要核实"
                    f"（检查 {self.rows_validated} 行）。数据可以继续使用。")
        else:
            head = (f"{self._label()}质量检查未通过：{len(failed)} 条阻断性规则失败"
                    + (f"，另有 {len(warned)} 条提醒" if warned else "")
                    + f"（检查 {self.rows_validated} 行）。该报表在更正前不会进入指标计算。")
        lines = [head]
        for mark, rules in (("✗ 阻断", failed), ("! 提醒", warned)):
            for r in rules:
                lines.append(f"{mark} [{r.rule_id}] {r.description_zh}{_detail_zh(r)}")
        return "\n".join(lines)

    def summary_en(self) -> str:
        failed, warned = self.blocking_failures, self.warnings
        verdict = "FAILED" if failed else "passed"
        lines = [f"{self.raw_table}: {verdict} — {len(failed)} blocking failure(s), {len(warned)} warning(s), "
                 f"{len(self.rules)} rules, {self.rows_validated} rows in {self.batches} batch(es)."]
        for r in [*failed, *warned]:
            lines.append(f"[{r.severity}] {r.rule_id}: {r.description_en}{_detail_en(r)}")
        return "\n".join(lines)

    def to_dagster_metadata(self) -> dict[str, Any]:
        """Metadata for a Dagster `AssetCheckResult` (values Dagster accepts as metadata)."""
        from dagster import MetadataValue

        failed = [r for r in self.rules if not r.success]
        table = "| 规则 rule | 级别 severity | 不符行数 unexpected | 示例 examples | 说明 |\n|---|---|---|---|---|\n" + "\n".join(
            f"| `{r.rule_id}` | {r.severity} | {'' if r.unexpected_count is None else r.unexpected_count} | "
            f"{_md('; '.join(r.examples[:3]) or (r.observed_value or '') or (r.exception or ''))} | {_md(r.description_zh)} |"
            for r in failed
        ) if failed else "全部规则通过 / all rules passed"
        return {
            "suite": self.suite_name,
            "raw_table": self.raw_table,
            "period_years": MetadataValue.json(self.period_years or []),
            "passed_blocking": self.passed_blocking,
            "blocking_failures": len(self.blocking_failures),
            "warnings": len(self.warnings),
            "rules_evaluated": len(self.rules),
            "rows_validated": self.rows_validated,
            "batches": self.batches,
            "duration_seconds": round(self.duration_seconds, 3),
            "failed_rules": MetadataValue.md(table),
            "summary_zh": MetadataValue.md(self.summary_zh().replace("\n", "  \n")),
            "results": MetadataValue.json([r.as_dict() for r in self.rules]),
        }

    def to_asset_check_result(self, check_name: str | None = None, asset_key: Any = None):
        """A Dagster `AssetCheckResult`: ERROR when a blocking rule failed, WARN when only warnings did."""
        from dagster import AssetCheckResult, AssetCheckSeverity

        return AssetCheckResult(
            passed=self.passed_blocking and not self.warnings,
            severity=AssetCheckSeverity.ERROR if not self.passed_blocking else AssetCheckSeverity.WARN,
            metadata=self.to_dagster_metadata(),
            check_name=check_name,
            asset_key=asset_key,
        )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _pct(value: float) -> str:
    return f"{value:.1f}%" if value >= 0.1 or value == 0 else f"{value:.2g}%"


def _detail_zh(r: RuleOutcome) -> str:
    parts = []
    if r.unexpected_count:
        parts.append(f"不符 {r.unexpected_count} 行" + (f"（{_pct(r.unexpected_percent)}）" if r.unexpected_percent is not None else ""))
    if r.examples:
        parts.append("例：" + "；".join(r.examples[:3]))
    elif r.observed_value:
        parts.append(f"实际：{r.observed_value}")
    if r.exception:
        parts.append(f"检查出错：{r.exception}")
    return f"（{'，'.join(parts)}）" if parts else ""


def _detail_en(r: RuleOutcome) -> str:
    parts = []
    if r.unexpected_count:
        parts.append(f"{r.unexpected_count} unexpected")
    if r.examples:
        parts.append("e.g. " + "; ".join(r.examples[:3]))
    elif r.observed_value:
        parts.append(f"observed {r.observed_value}")
    if r.exception:
        parts.append(f"error: {r.exception}")
    return f" ({', '.join(parts)})" if parts else ""


# ------------------------------------------------------------------------------------------------
# GX plumbing: one ephemeral context per process
# ------------------------------------------------------------------------------------------------
def gx_context():
    """The process-wide ephemeral GX context and its pandas batch definition (created on first use)."""
    with _GX_LOCK:
        if not _GX_STATE:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = context.data_sources.add_pandas("warehouse_quality").add_dataframe_asset("raw_frame")
            _GX_STATE.update(gx=gx, context=context, batch_definition=asset.add_batch_definition_whole_dataframe("whole_frame"))
        return _GX_STATE["context"], _GX_STATE["batch_definition"]


_GX_SUITES: dict[tuple, Any] = {}


def _gx_suite(suite: Suite, scope: str, expectations: list[dict[str, Any]] | None = None, group: str = ""):
    """The GX suite of `scope`'s rules, or of the given subset of them (named by `group`), cached."""
    key = (str(suite.path), suite.path.stat().st_mtime_ns, scope, group)
    with _GX_LOCK:
        if key not in _GX_SUITES:
            gx_context()
            gx = _GX_STATE["gx"]
            chosen = suite.in_scope(scope) if expectations is None else expectations
            _GX_SUITES[key] = gx.ExpectationSuite(name=f"{suite.name}.{scope}{'.' + group if group else ''}", expectations=[
                {k: v for k, v in e.items() if k in ("type", "kwargs", "meta", "severity")} for e in chosen
            ])
        return _GX_SUITES[key]


def _validate_frame(suite: Suite, scope: str, frame: pd.DataFrame, params: dict[str, Any], index_columns: list[str],
                    expectations: list[dict[str, Any]] | None = None, group: str = "", complete: bool = False):
    _, batch_definition = gx_context()
    # COMPLETE: every unexpected row's position, needed to weight distinct values back to rows
    result_format: dict[str, Any] = {"result_format": "COMPLETE" if complete else "SUMMARY",
                                     "partial_unexpected_count": N_EXAMPLES}
    if index_columns:
        result_format["unexpected_index_column_names"] = index_columns
    with _GX_LOCK:
        gx_suite = _gx_suite(suite, scope, expectations, group)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(gx_suite, result_format=result_format, expectation_parameters=params).results


# ------------------------------------------------------------------------------------------------
# Combining batch results
# ------------------------------------------------------------------------------------------------
class _Accumulator:
    """Sums one rule's results over batches; re-applies `mostly` to the totals."""

    def __init__(self, expectation: dict[str, Any], params: dict[str, Any]) -> None:
        self.expectation = expectation
        self.params = params
        self.element_count = 0
        self.unexpected_count: int | None = None
        self.missing_count: int | None = None
        self.successes: list[bool] = []
        self.examples: list[str] = []
        self.observed: str | None = None
        self.exceptions: list[str] = []

    def add(self, evr, index_columns: list[str], frame: pd.DataFrame | None = None,
            weights: np.ndarray | None = None) -> None:
        """Add one batch's result. `weights`: the frame holds distinct values, weights[i] rows each."""
        self.successes.append(bool(evr.success))
        info = evr.exception_info or {}
        if info.get("raised_exception"):
            message = mask_text(str(info.get("exception_message") or "exception"), max_len=300)
            if message not in self.exceptions:
                self.exceptions.append(message)
        result = evr.result or {}
        if weights is not None and result.get("unexpected_count") is not None:
            result = _weighted(result, evr.expectation_config.kwargs, frame, weights)
        if "unexpected_count" in result and result["unexpected_count"] is not None:
            self.unexpected_count = (self.unexpected_count or 0) + int(result["unexpected_count"])
            self.element_count += int(result.get("element_count") or 0)
            if result.get("missing_count") is not None:
                self.missing_count = (self.missing_count or 0) + int(result["missing_count"])
        if len(self.examples) < N_EXAMPLES:
            found = (_row_examples(frame, result, _domain_columns(evr.expectation_config.kwargs))
                     if frame is not None else _examples(result, index_columns))
            self.examples.extend(found[: N_EXAMPLES - len(self.examples)])
        if "observed_value" in result and (self.observed is None or not evr.success):
            observed = result["observed_value"]
            details = (result.get("details") or {}).get("mismatched")
            self.observed = display(details if details else observed)

    def outcome(self) -> RuleOutcome:
        e, meta = self.expectation, self.expectation["meta"]
        kwargs = _resolve(e["kwargs"], self.params)
        considered = None
        if self.unexpected_count is not None:
            considered = self.element_count - (self.missing_count or 0)
            mostly = kwargs.get("mostly", 1.0)
            if isinstance(mostly, (int, float)) and self.successes:
                success = considered == 0 or (considered - self.unexpected_count) / considered >= float(mostly)
            else:
                success = all(self.successes)
        else:
            success = bool(self.successes) and all(self.successes)
        success = success and not self.exceptions
        percent = (100.0 * self.unexpected_count / considered) if considered else None
        return RuleOutcome(
            rule_id=meta["rule_id"], severity=meta["severity"], success=success, expectation_type=e["type"],
            scope=meta["scope"], column=kwargs.get("column") or kwargs.get("column_A") or (
                ",".join(kwargs["column_list"]) if "column_list" in kwargs else None),
            description_zh=meta["description_zh"], description_en=meta["description_en"],
            unexpected_count=self.unexpected_count, element_count=self.element_count if self.unexpected_count is not None else None,
            unexpected_percent=round(percent, 4) if percent is not None else None,
            observed_value=self.observed, examples=self.examples,
            exception="; ".join(self.exceptions) or None, kwargs=mask_deep(kwargs),
        )


def _weighted(result: dict[str, Any], kwargs: dict[str, Any], frame: pd.DataFrame, weights: np.ndarray) -> dict[str, Any]:
    """A result on distinct values turned into the result on the rows they stand for."""
    positions = result.get("unexpected_index_list")
    if positions is None or (positions and not isinstance(positions[0], (int, np.integer))):
        raise ValueError("weighted validation needs the positions of the unexpected values (result format COMPLETE)")
    kept = _condition_mask(frame, kwargs["row_condition"]) if kwargs.get("row_condition") else np.ones(len(frame), bool)
    out = dict(result)
    out["element_count"] = int(weights[kept].sum())
    out["unexpected_count"] = int(weights[np.asarray(positions, dtype=np.int64)].sum()) if positions else 0
    if result.get("missing_count") is not None:
        out["missing_count"] = int(weights[kept & frame[kwargs["column"]].isna().to_numpy()].sum())
    return out


def _domain_columns(kwargs: dict[str, Any]) -> list[str]:
    if "column_list" in kwargs:
        return list(kwargs["column_list"])
    return [kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)]


def _row_examples(frame: pd.DataFrame, result: dict[str, Any], columns: list[str]) -> list[str]:
    """Examples from a row batch: the offending values and where they came from (file:row).

    GX is asked for plain positional indices (its per-row lookup of named index
    columns costs seconds when many rows fail); the values are read back here.
    """
    positions = result.get("partial_unexpected_index_list") or []
    if not positions or not all(isinstance(p, (int, np.integer)) for p in positions):
        return _examples(result, [])
    columns = [c for c in columns if c in frame.columns]
    location = [c for c in LOCATION_COLUMNS if c in frame.columns]
    out = []
    for p in positions:
        values = "; ".join(f"{c}={display(frame.at[p, c])}" for c in columns)
        where = ":".join(display(frame.at[p, c]) for c in location)
        out.append(f"{values} @ {where}" if where else values)
    return out


def _examples(result: dict[str, Any], index_columns: list[str]) -> list[str]:
    entries = result.get("partial_unexpected_index_list")
    if entries and isinstance(entries[0], dict):
        out = []
        for entry in entries:
            values = "; ".join(f"{k}={display(v)}" for k, v in entry.items() if k not in index_columns)
            where = ":".join(display(entry[k]) for k in index_columns if k in entry)
            out.append(f"{values} @ {where}" if where else values)
        return out
    values = result.get("partial_unexpected_list") or []
    return [display(v) if not isinstance(v, dict) else "; ".join(f"{k}={display(x)}" for k, x in v.items()) for v in values]


def _resolve(kwargs: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"$PARAMETER"}:
                return params.get(v["$PARAMETER"], v)
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(kwargs)


# ------------------------------------------------------------------------------------------------
# Reading the table
# ------------------------------------------------------------------------------------------------
def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _table_sql(raw_table: str) -> tuple[str, str, str]:
    schema, _, table = raw_table.partition(".")
    return schema, table, f"{_q(schema)}.{_q(table)}"


def _schema_frame(con: duckdb.DuckDBPyConnection, raw_table: str) -> pd.DataFrame:
    schema, table, _ = _table_sql(raw_table)
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).df()


def _period_filter(period_column: str | None, period_years: list[int] | None, columns: set[str]) -> tuple[str, list]:
    # _period_year is the file's year (the year in its name), also for event records whose indicators
    # count in the year of the event: the gate validates the files loaded in this run as they were sent
    # (see expectations/build_suites.period_column).
    if period_years is None or period_column is None or period_column != "_period_year" or period_column not in columns:
        return "", []
    return f"WHERE {_q(period_column)} IN (SELECT unnest(?::INTEGER[]))", [list(period_years)]


def _metric_sql(metric: dict[str, Any]) -> str:
    agg = metric["agg"]
    if agg == "count":
        return "count(*)"
    col = _q(metric["column"])
    if agg == "mean":
        return f"avg({col})"
    if agg == "distinct_count":
        return f"count(DISTINCT {col})"
    if agg == "share":
        values = ", ".join(_lit(v) for v in metric["values"])
        among = ", ".join(_lit(v) for v in metric.get("among") or metric["values"])
        return f"avg(CASE WHEN {col} IN ({among}) THEN CASE WHEN {col} IN ({values}) THEN 1.0 ELSE 0.0 END END)"
    raise ValueError(f"unknown metric {agg}")


def _period_frame(con, suite: Suite, table_sql: str, columns: set[str], period_years: list[int] | None) -> pd.DataFrame:
    metrics: dict[str, dict[str, Any]] = {}
    for e in suite.in_scope("period"):
        metrics.setdefault(e["kwargs"]["column"], e["meta"]["metric"])
    select = ", ".join(f"{_metric_sql(m)} AS {_q(name)}" for name, m in metrics.items())
    outer = ", ".join(
        f"coalesce(a.{_q(name)}, 0) AS {_q(name)}" if m["agg"] == "count" else f"a.{_q(name)}"
        for name, m in metrics.items()
    )
    pcol = suite.period_column if suite.period_column in columns else None
    if pcol is None:
        return con.execute(f"SELECT NULL::INTEGER AS period, {select} FROM {table_sql}").df()
    where, params = _period_filter(pcol, period_years, columns)
    if period_years is not None and pcol == "_period_year":
        expected = "SELECT unnest(?::INTEGER[]) AS period"
        params = [*params, list(period_years)]
    else:
        expected = ("SELECT unnest(generate_series((SELECT min(period) FROM agg), (SELECT max(period) FROM agg))) AS period "
                    "UNION ALL SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM agg WHERE period IS NOT NULL)")
    sql = (f"WITH agg AS (SELECT {_q(pcol)}::INTEGER AS period, {select} FROM {table_sql} {where} GROUP BY 1), "
           f"expected AS ({expected}) "
           f"SELECT e.period, {outer} FROM expected e LEFT JOIN agg a ON a.period = e.period ORDER BY e.period NULLS FIRST")
    return con.execute(sql, params).df()


def _row_batches(con, table_sql: str, columns: list[str], where: str, params: list, key: list[str],
                 batch_rows: int, n: int) -> Iterator[pd.DataFrame]:
    """The (filtered) table of `n` rows as pandas frames of about `batch_rows` rows; equal keys share a frame."""
    order = [c for c in LOCATION_COLUMNS if c in columns]
    order_sql = ", ".join(_q(c) for c in order)
    k = max(1, math.ceil(n / batch_rows))
    select = ", ".join(_q(c) for c in columns)
    if k == 1:
        sql = f"SELECT {select} FROM {table_sql} {where}" + (f" ORDER BY {order_sql}" if order else "")
        yield _arrow_table(con.execute(sql, params)).to_pandas()
        return
    if not key:  # nothing needs whole groups: plain slices
        sql = f"SELECT {select} FROM {table_sql} {where}" + (f" ORDER BY {order_sql}" if order else "")
        for rb in _arrow_reader(con.execute(sql, params), batch_rows):
            if rb.num_rows:
                yield rb.to_pandas()
        return
    blank = " OR ".join(f"{_q(c)} IS NULL" for c in key)
    bucket = f"(CASE WHEN {blank} THEN hash(rowid) ELSE hash({', '.join(_q(c) for c in key)}) END) % {k}"
    sql = (f"SELECT {select}, {bucket} AS __bucket FROM {table_sql} {where} ORDER BY __bucket"
           + (f", {order_sql}" if order else ""))
    pending: list[pa.RecordBatch] = []
    current = None
    for rb in _arrow_reader(con.execute(sql, params), batch_rows):
        if rb.num_rows == 0:
            continue
        buckets = rb.column(rb.schema.get_field_index("__bucket")).to_numpy(zero_copy_only=False)
        cuts = (np.flatnonzero(np.diff(buckets)) + 1).tolist()
        for start, end in zip([0, *cuts], [*cuts, len(buckets)]):
            if current is not None and buckets[start] != current:
                yield _frame(pending)
                pending = []
            current = buckets[start]
            pending.append(rb.slice(start, end - start))
    if pending:
        yield _frame(pending)


def _arrow_reader(result: duckdb.DuckDBPyConnection, batch_rows: int) -> pa.RecordBatchReader:
    """Arrow batches of a result (`to_arrow_reader` in DuckDB >= 1.4, `fetch_record_batch` before)."""
    reader = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
    return reader(batch_rows)


def _arrow_table(result: duckdb.DuckDBPyConnection) -> pa.Table:
    return (getattr(result, "to_arrow_table", None) or result.fetch_arrow_table)()


def _frame(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    return pa.Table.from_batches(batches).drop_columns(["__bucket"]).to_pandas()


# ------------------------------------------------------------------------------------------------
# Large tables: rule groups
# ------------------------------------------------------------------------------------------------
_PER_VALUE = frozenset({
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set", "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
})
_UNIQUE = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})


def _condition_columns(condition: Any) -> set[str]:
    """Every column a GX row_condition (a nested dict of comparisons) reads."""
    found: set[str] = set()
    if isinstance(condition, dict):
        column = condition.get("column")
        if isinstance(column, dict) and isinstance(column.get("name"), str):
            found.add(column["name"])
        for value in condition.values():
            found |= _condition_columns(value)
    elif isinstance(condition, list):
        for value in condition:
            found |= _condition_columns(value)
    return found


_SIMPLE_OPERATORS = {"IN": lambda s, v: s.isin(v), "NOT IN": lambda s, v: ~s.isin(v),
                     "==": lambda s, v: s == v, "!=": lambda s, v: s != v}


def _simple_condition(condition: Any) -> tuple[str, str, Any] | None:
    """(column, operator, parameter) of a one-column comparison GX row_condition; None for anything else."""
    if not (isinstance(condition, dict) and condition.get("type") == "comparison"
            and isinstance(condition.get("column"), dict) and condition.get("operator") in _SIMPLE_OPERATORS):
        return None
    return condition["column"].get("name"), condition["operator"], condition.get("parameter")


def _condition_mask(frame: pd.DataFrame, condition: Any) -> np.ndarray:
    """The rows of a frame of distinct values a simple row_condition keeps (null never matches, as in GX)."""
    column, operator, parameter = _simple_condition(condition)
    values = frame[column]
    return (_SIMPLE_OPERATORS[operator](values, parameter) & values.notna()).to_numpy(dtype=bool)


def _rule_groups(suite: Suite, columns: set[str]) -> list[tuple[str, str, list[str], list[dict[str, Any]]]]:
    """(kind, group name, columns read, expectations) for the `rows` rules of a large table."""
    per_value: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    conditioned: list[dict[str, Any]] = []
    groups: list[tuple[str, str, list[str], list[dict[str, Any]]]] = []
    for e in suite.in_scope("rows"):
        kwargs = e["kwargs"]
        condition = kwargs.get("row_condition")
        simple = _simple_condition(condition) if condition else None
        if e["type"] in _PER_VALUE and kwargs.get("column") in columns and (
                not condition or (simple and simple[0] in columns)):
            # a one-column comparison condition: the distinct pairs (value, condition column) are weighted
            read = (kwargs["column"],) if not simple or simple[0] == kwargs["column"] else (kwargs["column"], simple[0])
            per_value.setdefault(read, []).append(e)
        elif e["type"] in _UNIQUE:
            key = list(kwargs["column_list"]) if "column_list" in kwargs else [kwargs["column"]]
            groups.append(("unique", f"unique.{e['meta']['rule_id']}", key, [e]))
        elif e["type"].startswith("expect_table_"):
            groups.append(("table", "table", [], [e]))
        else:  # conditioned rules, and rules on a column the table lacks (GX reports that itself)
            conditioned.append(e)
    groups += [("values", "values." + ",".join(read), list(read), rules) for read, rules in per_value.items()]
    if conditioned:
        needed = set()
        for e in conditioned:
            needed |= set(_domain_columns(e["kwargs"])) | _condition_columns(e["kwargs"].get("row_condition"))
        groups.append(("rows", "conditioned", sorted(needed & columns), conditioned))
    return groups


def _validate_large(con, suite: Suite, table_sql: str, columns: list[str], where: str, where_params: list,
                    params: dict[str, Any], accumulators: dict[str, _Accumulator], batch_rows: int, n: int) -> int:
    """Validate the `rows` rules of a table larger than one batch, group by group; returns the GX validations."""
    validations = 0
    location = [c for c in LOCATION_COLUMNS if c in columns]
    loc_sql = ", ".join(_q(c) for c in location)

    def run(group: str, rules: list[dict[str, Any]], frame: pd.DataFrame, weights=None) -> None:
        nonlocal validations
        validations += 1
        for evr in _validate_frame(suite, "rows", frame, params, [], rules, group, complete=weights is not None):
            accumulators[evr.expectation_config.meta["rule_id"]].add(evr, [], frame, weights)

    for kind, group, needed, rules in _rule_groups(suite, set(columns)):
        if kind == "table":
            run(group, rules, con.execute(f"SELECT * FROM {table_sql} LIMIT 0").df())
        elif kind == "unique":
            read = [c for c in dict.fromkeys([*needed, *location]) if c in columns]
            for frame in _row_batches(con, table_sql, read, where, where_params, needed, batch_rows, n):
                run(group, rules, frame)
        elif kind == "rows":
            read = list(dict.fromkeys([*needed, *location]))
            sql = (f"SELECT {', '.join(_q(c) for c in read)} FROM {table_sql} {where}"
                   + (f" ORDER BY {loc_sql}" if location else ""))
            for rb in _arrow_reader(con.execute(sql, where_params), batch_rows):
                if rb.num_rows:
                    run(group, rules, rb.to_pandas())
        else:  # distinct values (of one column, or with its condition column), the rows holding each, one location
            grouped = ", ".join(_q(c) for c in needed)
            first = (f", arg_min({_q('_source_file')}, {_q('_row_number')}) AS {_q('_source_file')}, "
                     f"min({_q('_row_number')}) AS {_q('_row_number')}") if len(location) == 2 and not set(needed) & set(location) else ""
            sql = (f"SELECT {grouped}{first}, count(*)::BIGINT AS __rows FROM {table_sql} {where} "
                   f"GROUP BY ALL ORDER BY {grouped} NULLS FIRST")
            for rb in _arrow_reader(con.execute(sql, where_params), batch_rows):
                if rb.num_rows:
                    frame = rb.to_pandas()
                    weights = frame.pop("__rows").to_numpy(dtype=np.int64)
                    run(group, rules, frame, weights)
    return validations


# ------------------------------------------------------------------------------------------------
# The public entry point
# ------------------------------------------------------------------------------------------------
def validate_extract(
    con: duckdb.DuckDBPyConnection,
    extract_name: str,
    period_years: list[int] | None = None,
    batch_rows: int = 200_000,
    *,
    expectations_dir: Path | None = None,
    seeds_dir: Path | None = None,
) -> SuiteOutcome:
    """Validate `raw.<extract_name>` (only the given `_period_year`s, or all) against its suite.

    `period_years` selects partitions of extracts whose files carry a year; an
    extract without one (grade_history) is always validated whole, its periods
    being the `year` column. Returns one `RuleOutcome` per suite rule.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be positive")
    started = time.perf_counter()
    suite = load_suite(extract_name, expectations_dir)
    params = suite_parameters(seeds_dir)
    years = sorted({int(y) for y in period_years}) if period_years is not None else None
    if suite.period_column != "_period_year":  # not partitioned by file year: always the whole table
        years = None
    outcome = SuiteOutcome(
        extract=suite.extract, department=suite.department, suite_name=suite.name, raw_table=suite.raw_table,
        period_years=years, rules=[], title_zh=suite.meta.get("title_zh", ""),
        contract_version=suite.meta.get("contract_version"),
    )
    accumulators = {rid: _Accumulator(e, params) for rid, e in suite.by_rule.items()}
    _, _, table_sql = _table_sql(suite.raw_table)

    schema = _schema_frame(con, suite.raw_table)
    if schema.empty:
        for acc in accumulators.values():
            acc.exceptions.append(f"表 {suite.raw_table} 不存在 / table {suite.raw_table} does not exist")
    else:
        columns = schema["column_name"].tolist()
        column_set = set(columns)
        if suite.in_scope("schema"):
            for evr in _validate_frame(suite, "schema", schema, params, []):
                accumulators[evr.expectation_config.meta["rule_id"]].add(evr, [])
        where, where_params = _period_filter(suite.period_column, years, column_set)
        n = con.execute(f"SELECT count(*) FROM {table_sql} {where}", where_params).fetchone()[0]
        if n <= batch_rows:  # one frame, every row rule in one validation
            for frame in _row_batches(con, table_sql, columns, where, where_params, [], batch_rows, n):
                outcome.batches += 1
                outcome.rows_validated += len(frame)
                for evr in _validate_frame(suite, "rows", frame, params, []):
                    accumulators[evr.expectation_config.meta["rule_id"]].add(evr, [], frame)
        else:
            outcome.rows_validated = n
            outcome.batches = _validate_large(con, suite, table_sql, columns, where, where_params, params,
                                              accumulators, batch_rows, n)
        if suite.in_scope("period"):
            summary = _period_frame(con, suite, table_sql, column_set, years)
            for evr in _validate_frame(suite, "period", summary, params, ["period"]):
                accumulators[evr.expectation_config.meta["rule_id"]].add(evr, ["period"])

    order = {rid: i for i, rid in enumerate(suite.by_rule)}
    outcome.rules = sorted((acc.outcome() for acc in accumulators.values()), key=lambda r: order[r.rule_id])
    outcome.duration_seconds = time.perf_counter() - started
    return outcome
