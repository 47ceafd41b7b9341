"""GX Data Docs for quality outcomes, built with GX's own site builder into a folder.

The outcome of one extract is the sum of several GX validations (row batches, the
period summary, the schema), so the page is built from the combined, already
masked `RuleOutcome`s: they are turned back into one GX
`ExpectationSuiteValidationResult` per outcome, stored in a throw-away ephemeral
context next to the suites, and rendered by GX's `SiteBuilder` to
`<target_dir>/index.html` (+ `validations/…`, `expectations/…`, `static/`).
Each result is labelled with its rule id, severity and the clerk's instruction
(as the expectation's description; on the suite page as notes).

GX's pages load their CSS, scripts and icon font from public CDNs; `docs_offline`
bundles those files with the site (`static/vendor/`) and points the pages at them, so
the Data Docs work on an offline network. A plain `summary.html` (no scripts, in
Chinese first) lists the verdicts and failed rules and links the GX pages; the README
and the annual report's quality section point to it.

Nothing unmasked goes in: examples and observed values were masked when the
outcome was made, and after building, every written text file is scanned once
more and any run of 15 or more digits is masked in place (a last line of
defence; logged as a warning when it ever has to act).
"""
from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dagster_project.quality.docs_offline import VENDOR, bundle_static_assets
from dagster_project.quality.masking import mask_text
from dagster_project.quality.runner import _GX_LOCK, RuleOutcome, SuiteOutcome, gx_context
from dagster_project.quality.suites import load_suite

logger = logging.getLogger(__name__)
SITE_NAME = "warehouse_quality"
_ID_SHAPED = re.compile(r"(?<!\d)\d{14,}[\dXx](?!\d)")
_TEXT_SUFFIXES = {".html", ".htm", ".json", ".js", ".css", ".txt", ".md"}


def build_data_docs(outcomes: Iterable[SuiteOutcome], target_dir: str | Path, run_name: str = "quality") -> Path:
    """Render the outcomes as a GX Data Docs site in `target_dir`; returns the path of index.html."""
    import great_expectations as gx
    from great_expectations.data_context.data_context.context_factory import project_manager

    outcomes = list(outcomes)
    target = Path(target_dir).resolve()
    target.mkdir(parents=True, exist_ok=True)
    validation_context, _ = gx_context()
    with _GX_LOCK:
        try:
            context = gx.get_context(mode="ephemeral")
            context.add_data_docs_site(SITE_NAME, {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            })
            added: set[str] = set()
            for outcome in outcomes:
                if outcome.suite_name not in added:
                    context.suites.add(_docs_suite(gx, outcome))
                    added.add(outcome.suite_name)
                key, result = _validation_result(outcome, run_name)
                context.validation_results_store.set(key, result)
            context.build_data_docs(site_names=[SITE_NAME])
        finally:  # get_context() made the docs context GX's current project: hand it back
            project_manager.set_project(validation_context)
    _write_summary(outcomes, target, run_name)
    scrubbed = _scrub(target)
    if scrubbed:
        logger.warning("data docs: masked %d ID-shaped digit runs that reached %s", scrubbed, target)
    # after the scrub: the bundled libraries are third-party code, never data (a long constant must stay)
    bundle_static_assets(target)
    return target / "index.html"


def _write_summary(outcomes: list[SuiteOutcome], target: Path, run_name: str) -> Path:
    """`summary.html`: the verdicts as plain HTML without scripts.

    The page a clerk opens first: verdicts in words, no scripts, nothing to load.
    """
    rows = []
    for o in outcomes:
        years = "-".join(str(y) for y in o.period_years) if o.period_years else "all"
        pages = sorted(target.glob(f"validations/{o.suite_name.replace('.', '/')}/{run_name}/*/{o.raw_table}-{years}.html"))
        link = pages[-1].relative_to(target).as_posix() if pages else None
        verdict = "✗ 未通过 failed" if not o.passed_blocking else ("! 有提醒 warnings" if o.warnings else "✓ 通过 passed")
        name = html.escape(f"{o.title_zh} {o.raw_table}")
        name = f'<a href="{html.escape(link)}">{name}</a>' if link else name
        problems = "".join(
            f"<li><code>{html.escape(r.rule_id)}</code> {'阻断' if r.severity == 'blocking' else '提醒'}："
            f"{html.escape(r.description_zh)}"
            + (f"<br><small>{html.escape('；'.join(r.examples[:3]))}</small>" if r.examples else "")
            + "</li>"
            for r in [*o.blocking_failures, *o.warnings]
        )
        rows.append(f"<tr><td>{name}</td><td>{html.escape(years)}</td><td>{verdict}</td><td>{o.rows_validated}</td>"
                    f"<td><ul>{problems}</ul></td></tr>")
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>数据质量检查结果</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:.4em;vertical-align:top}ul{margin:0;padding-left:1.2em}</style></head><body>"
        f"<h1>数据质量检查结果 · Quality gate results</h1><p>运行 run: {html.escape(run_name)} · "
        '<a href="index.html">Great Expectations Data Docs</a></p>'
        "<table><tr><th>报表 extract</th><th>报送期 periods</th><th>结论 verdict</th><th>检查行数 rows</th>"
        "<th>未通过的规则 failed rules</th></tr>" + "".join(rows) + "</table></body></html>"
    )
    path = target / "summary.html"
    path.write_text(mask_text(page, max_len=10_000_000), encoding="utf-8")
    return path


def _severity_label(severity: str) -> str:
    return "阻断 blocking" if severity == "blocking" else "提醒 warning"


def _description(rule_id: str, severity: str, description_zh: str) -> str:
    """The text GX shows instead of its generic sentence on the validation page ($ escaped for its templates)."""
    return f"[{rule_id}] {_severity_label(severity)} — {description_zh}".replace("$", "$$")


def _docs_suite(gx, outcome: SuiteOutcome):
    """The suite page: GX's own wording of each expectation, with the rule id and instructions as notes."""
    try:
        source = load_suite(outcome.extract)
        expectations = [
            {"type": e["type"], "kwargs": e["kwargs"], "meta": e["meta"], "severity": e.get("severity", "critical"),
             "notes": [f"**{e['meta']['rule_id']}** · {_severity_label(e['meta']['severity'])}",
                       e["meta"]["description_zh"], e["meta"]["description_en"]]}
            for e in source.expectations
        ]
        meta = {k: v for k, v in source.meta.items() if k != "parameters"}
    except Exception:  # a suite file that vanished still gets its results rendered
        expectations, meta = [], {}
    return gx.ExpectationSuite(name=outcome.suite_name, expectations=expectations, meta=meta)


def _validation_result(outcome: SuiteOutcome, run_name: str):
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    results = []
    for r in outcome.rules:
        config = ExpectationConfiguration(
            type=r.expectation_type,
            kwargs=_renderable_kwargs(r),
            meta={"rule_id": r.rule_id, "severity": r.severity, "description_zh": r.description_zh,
                  "description_en": r.description_en},
            description=_description(r.rule_id, r.severity, r.description_zh),
            severity="critical" if r.severity == "blocking" else "warning",
        )
        results.append(ExpectationValidationResult(
            success=r.success, expectation_config=config, result=_result_dict(r),
            exception_info={"raised_exception": bool(r.exception), "exception_message": r.exception,
                            "exception_traceback": None},
        ))
    passed = sum(r.success for r in outcome.rules)
    started = outcome.started_at if outcome.started_at.tzinfo else outcome.started_at.replace(tzinfo=dt.UTC)
    run_id = RunIdentifier(run_name=run_name, run_time=started)
    years = "-".join(str(y) for y in outcome.period_years) if outcome.period_years else "all"
    batch = f"{outcome.raw_table}-{years}"
    result = ExpectationSuiteValidationResult(
        success=outcome.passed_blocking,
        results=results,
        suite_name=outcome.suite_name,
        statistics={"evaluated_expectations": len(results), "successful_expectations": passed,
                    "unsuccessful_expectations": len(results) - passed,
                    "success_percent": 100.0 * passed / len(results) if results else 100.0},
        meta={"run_id": run_id,
              "active_batch_definition": {"datasource_name": "work.duckdb", "data_asset_name": outcome.raw_table,
                                          "batch_identifiers": {"period_years": years}},
              "batch_spec": {"table": outcome.raw_table, "period_years": years,
                             "rows_validated": outcome.rows_validated, "batches": outcome.batches},
              "summary_zh": mask_text(outcome.summary_zh(), max_len=20_000)},
        batch_id=batch,
    )
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=outcome.suite_name),
        run_id=run_id, batch_identifier=batch,
    )
    return key, result


def _renderable_kwargs(r: RuleOutcome) -> dict[str, Any]:
    kwargs = dict(r.kwargs)
    if "value_pairs_set" in kwargs:  # GX's renderer expects tuples
        kwargs["value_pairs_set"] = [tuple(p) for p in kwargs["value_pairs_set"]]
    return kwargs


def _result_dict(r: RuleOutcome) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if r.unexpected_count is not None:
        result.update(
            element_count=r.element_count, unexpected_count=r.unexpected_count, unexpected_percent=r.unexpected_percent,
            partial_unexpected_list=list(r.examples),
            partial_unexpected_counts=[{"value": e, "count": 1} for e in r.examples],
            missing_count=0, missing_percent=0.0,
            unexpected_percent_total=r.unexpected_percent, unexpected_percent_nonmissing=r.unexpected_percent,
        )
    if r.observed_value is not None:
        result["observed_value"] = r.observed_value
    return result


def _scrub(root: Path) -> int:
    """Mask any ID-shaped digit run left in a written text file; returns how many were masked."""
    masked = 0
    vendor = root / VENDOR
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES or path.is_relative_to(vendor):
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        count = len(_ID_SHAPED.findall(text))
        if count:
            path.write_text(_ID_SHAPED.sub(lambda m: m.group(0)[:6] + "*" * (len(m.group(0)) - 6), text),
                            encoding="utf-8", errors="surrogateescape")
            masked += count
    return masked
