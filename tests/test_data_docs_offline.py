"""The quality Data Docs of a real run (`exports/quality/`) work with the network off: opened in headless
Chromium whose every http(s) request fails, the index page lists every validation with its status icon, a
validation page shows its results, nothing is requested from outside, no script fails; summary.html
(the plain Chinese page) links the GX pages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from dagster_project.quality.docs_offline import CDN_ASSETS
from tests.chromium import Browser, needs_chromium

pytestmark = [pytest.mark.slow(seconds=150), needs_chromium]


@pytest.fixture(scope="module")
def site(sample_warehouse) -> Path:
    return sample_warehouse["exports"] / "quality"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium") / "profile")
    yield chromium
    chromium.close()


def _external(requests: list[str]) -> list[str]:
    return [url for url in requests if not url.startswith(("file:", "data:", "about:"))]


def test_no_page_refers_to_a_cdn(site):
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        loaded = re.findall(r"""<(?:script|img)\b[^>]*\bsrc="(https?://[^"]+)"|<link\b[^>]*\bhref="(https?://[^"]+)\"""", text)
        assert loaded == [], (page, loaded[:3])
    for target in set(CDN_ASSETS.values()):
        assert (site / "static" / target).is_file(), target


def test_index_lists_every_validation_with_its_status_offline(site, browser, tmp_path):
    page = browser.open((site / "index.html").as_uri(), screenshot=tmp_path / "index.png")
    assert _external(page.requests) == [], _external(page.requests)[:5]
    assert page.failed == [] and page.errors == [], (page.failed[:3], page.errors[:3])
    validations = len(list((site / "validations").rglob("*.html")))
    assert validations > 0
    # bootstrap-table holds every validation and shows them ten to a page
    table = "jQuery('.ge-index-page-validation-results-table')"
    assert page.evaluate(f"{table}.bootstrapTable('getData').length") == validations
    rows = page.evaluate("document.querySelectorAll('.ge-index-page-validation-results-table tbody tr').length")
    assert rows == min(validations, page.evaluate(f"{table}.bootstrapTable('getOptions').pageSize"))
    # the status column: one icon per row, drawn by the bundled icon font (an unloaded font draws nothing)
    icons = page.evaluate("""[...document.querySelectorAll('.ge-index-page-validation-results-table tbody tr')]
        .map(tr => { const i = tr.querySelector('td:first-child i.fas');
                     return i ? [i.className.includes('fa-check-circle') || i.className.includes('fa-times'),
                                 i.getBoundingClientRect().width] : null; })""")
    assert all(icon is not None and icon[0] and icon[1] > 0 for icon in icons), icons[:5]
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')") is True
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('Font Awesome') && f.status === 'loaded')")
    # styled by the bundled Bootstrap: its navbar is a flex box, unstyled it is a block
    assert page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"
    assert page.evaluate("typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable === 'function'")


def test_a_validation_page_shows_its_results_offline(site, browser):
    pages = sorted((site / "validations").rglob("*.html"))
    page = browser.open(pages[0].as_uri())
    assert _external(page.requests) == [], _external(page.requests)[:5]
    assert page.failed == [] and page.errors == [], (page.failed[:3], page.errors[:3])
    results = page.evaluate("document.querySelectorAll('table tbody tr').length")
    assert results > 0
    assert page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"


def test_summary_links_the_gx_pages(site, browser):
    page = browser.open((site / "summary.html").as_uri())
    assert _external(page.requests) == [] and page.errors == []
    links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
    assert "index.html" in links
    assert any(link.startswith("validations/") and (site / link).is_file() for link in links)
    assert "数据质量检查结果" in page.evaluate("document.body.innerText")


def test_the_annual_report_links_the_summary(site, sample_warehouse):
    [report] = sorted((sample_warehouse["exports"] / "reports").glob("内部使用_年度监测报告_*.html"))
    links = re.findall(r'href="([^"]*summary\.html)"', report.read_text(encoding="utf-8"))
    assert links and all((report.parent / link).resolve() == (site / "summary.html").resolve() for link in links)
    assert (site / "summary.html").is_file()
