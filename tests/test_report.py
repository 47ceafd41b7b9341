"""The annual monitoring report: one self-contained Chinese HTML file that renders in headless Chromium
with no console errors and no network, and shows every catalogued indicator."""
from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from dagster_project.config import SEEDS_DIR
from dagster_project.report import report_path, write_annual_report
from tests.handover_warehouse import small_warehouse

pytestmark = pytest.mark.slow(seconds=45)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--mute-audio"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium (Debian package 'chromium'; `make browser` installs it, "
           "and `make test` does so automatically under CI=true or where apt-get exists)")


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory, worker_id):
    return small_warehouse(tmp_path_factory, worker_id)


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory) -> Path:
    settings = warehouse.settings(tmp_path_factory.mktemp("report") / "exports")
    return write_annual_report(settings)


def catalogue_codes() -> set[str]:
    with (SEEDS_DIR / "indicator_catalogue.csv").open(encoding="utf-8") as fh:
        return {r["indicator_code"] for r in csv.DictReader(fh)}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_report_is_one_self_contained_file(report, warehouse):
    assert report.name.startswith("内部使用_年度监测报告_") and report.suffix == ".html"
    html = report.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    tags = parser.tags
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object", "embed")]
    for tag, attrs in tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            if (tag, name, value) == ("a", "href", "../quality/summary.html"):
                continue  # a link a reader may follow to the quality pages beside the reports folder, never loaded
            assert value is None or value.startswith("#"), (tag, name, value)
    assert not re.search(r"url\(|@import", html)
    # the only URL in the file is the SVG namespace, which is never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert '<html lang="zh-CN">' in html and '<meta charset="utf-8">' in html


def test_report_shows_every_indicator_domain_and_section(report, warehouse):
    html = report.read_text(encoding="utf-8")
    rows = set(re.findall(r'<tr id="ind-([a-z0-9_]+)"', html))
    assert rows == catalogue_codes()
    charts = set(re.findall(r'<figure data-indicator="([a-z0-9_]+)"', html))
    assert charts == catalogue_codes()  # each indicator's series against its target
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    domains = {r[0] for r in con.execute("SELECT DISTINCT domain_zh FROM main_marts.dim_indicator").fetchall()}
    con.close()
    for domain in domains:
        assert f">{domain} <span" in html, domain
    for section in ("summary", "warnings", "quality", "methods"):
        assert f'<section id="{section}"' in html
    assert "乡镇比较" in html and "性别差距" in html and "各部门隔离行" in html
    assert html.count("<svg") > len(catalogue_codes())


def test_report_numbers_are_the_warehouse_numbers(report, warehouse):
    html = report.read_text(encoding="utf-8")
    year = int(re.search(r"年度监测报告_(\d{4})", report.name).group(1))
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        targeted = con.execute("SELECT count(*) FROM main_marts.dim_indicator WHERE has_target").fetchone()[0]
        met = con.execute(
            """SELECT count(*) FROM main_marts.fct_early_warnings w JOIN main_marts.dim_indicator i USING (indicator_code)
               WHERE w.as_of_year = ? AND w.area_level = 'county' AND i.has_target AND w.status = 'met'""", [year]).fetchone()[0]
        quarantined = con.execute(
            "SELECT sum(rows_quarantined) FROM audit.file_loads WHERE is_current AND (period_year = ? OR period_year IS NULL)",
            [year]).fetchone()[0]
    finally:
        con.close()
    assert f"<b>{targeted}</b><span>有量化目标" in html
    assert f"<b>{met}</b><span>已达标" in html
    assert f"隔离行{quarantined}行" in html


def test_methods_section_lists_statuses_and_every_unmeasured_plan_goal(report, warehouse):
    """The methods section explains every status of dim_status and lists each plan goal no indicator monitors
    (seed plan_numbers_outside_catalogue, kind not_measured), with its clause and reason, in plan order."""
    html = report.read_text(encoding="utf-8")
    methods = html[html.index('<section id="methods"'):]
    methods = methods[:methods.index("</section>")]
    with (SEEDS_DIR / "status_labels.csv").open(encoding="utf-8") as fh:
        statuses = list(csv.DictReader(fh))
    for s in statuses:
        assert f">{s['label_zh']}</span>" in methods and s["description_zh"] in methods, s["status"]
    with (SEEDS_DIR / "plan_numbers_outside_catalogue.csv").open(encoding="utf-8") as fh:
        unmeasured = [r for r in csv.DictReader(fh) if r["kind"] == "not_measured"]
    table = methods[methods.index('id="unmeasured"'):]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(.*?)</td><td>(.*?)<br>", table)
    assert len(rows) == len(unmeasured) > 100
    assert f"以下 {len(unmeasured)} 项" in table
    for r in unmeasured:
        assert (r["plan_clause"], r["reason_zh"]) in {(c, reason) for c, _, reason in rows}, r["plan_clause"]
    # women's plan first, and within a domain 主要目标 before 策略措施
    clauses = [c for c, _, _ in rows]
    women = [i for i, c in enumerate(clauses) if c.startswith("妇女")]
    assert women and max(women) < min(i for i, c in enumerate(clauses) if not c.startswith("妇女"))
    for domain in {c.split("·")[0] for c in clauses}:
        sections = [c.split("·")[1][:4] for c in clauses if c.startswith(domain + "·")]
        assert sections == sorted(sections, key=lambda x: x == "策略措施"), domain


def test_report_lists_the_records_each_indicator_could_not_use(report, warehouse):
    html = report.read_text(encoding="utf-8")
    year = int(re.search(r"年度监测报告_(\d{4})", report.name).group(1))
    con = duckdb.connect(str(warehouse.work_db), read_only=True)
    try:
        name, blanked = con.execute(
            """SELECT i.name_zh, sum(e.records) FROM main_marts.fct_indicator_exclusions e
               JOIN main_marts.dim_indicator i USING (indicator_code)
               WHERE e.period_year = ? AND e.area_code = '430502' AND e.reason_code = 'field_invalid'
               GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""", [year]).fetchone()
    finally:
        con.close()
    section = html[html.index("Records not usable, by indicator"):html.index("Failed Great Expectations rules")]
    assert f'<tr><td>{name}</td><td class="num">{blanked:,}</td>' in section


def test_validation_findings_section_with_and_without_the_table(warehouse, tmp_path):
    data_dir = warehouse.copy_to(tmp_path / "warehouse")
    con = duckdb.connect(str(data_dir / "work.duckdb"))
    con.execute("DROP TABLE IF EXISTS main_marts.fct_validation_findings")
    year = con.execute("SELECT max(period_year) FROM main_marts.fct_indicator_values").fetchone()[0]
    con.close()
    html = write_annual_report(warehouse.settings(tmp_path / "exports", data_dir=data_dir)).read_text(encoding="utf-8")
    assert "fct_validation_findings 尚未建立" in html
    con = duckdb.connect(str(data_dir / "work.duckdb"))
    con.execute(
        "CREATE TABLE main_marts.fct_validation_findings AS SELECT * FROM (VALUES "
        f"('VR01', 'high', {year}, '兴隆街道', 'health', '出生数与户籍登记相差超过10%'),"
        f"('VR02', 'low', {year}, '双清区', 'education', '在校生数与上年相比波动较大'),"
        f"('VR01', 'high', {year - 1}, '兴隆街道', 'health', '上一年度的问题')) "
        "t(rule_code, importance, period_year, area_name_zh, departments, message_zh)")
    con.close()
    html = write_annual_report(warehouse.settings(tmp_path / "exports2", data_dir=data_dir)).read_text(encoding="utf-8")
    section = html[html.index("Open validation findings"):]
    assert "出生数与户籍登记相差超过10%" in section and "在校生数与上年相比波动较大" in section
    assert section.index("出生数与户籍登记") < section.index("在校生数")  # high importance first
    assert "上一年度的问题" not in section
    assert "卫健局" in section


def test_report_for_a_chosen_year(warehouse, tmp_path):
    settings = warehouse.settings(tmp_path / "exports")
    path = write_annual_report(settings, 2022)
    assert path == report_path(settings, 2022) and path.name == "内部使用_年度监测报告_2022.html"
    assert "2022年度监测报告" in path.read_text(encoding="utf-8")


# ---- headless Chromium ----------------------------------------------------------------------------

@needs_chromium
def test_report_renders_in_headless_chromium_dump_dom(report, tmp_path):
    profile = tmp_path / "profile"
    result = subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    dom = result.stdout
    assert set(re.findall(r'data-indicator="([a-z0-9_]+)"', dom)) >= catalogue_codes()
    assert "年度监测报告" in dom
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console


def _cdp_session(ws_url: str):
    from websockets.sync.client import connect

    return connect(ws_url, max_size=None, open_timeout=30)


@needs_chromium
def test_report_renders_in_chromium_without_console_errors_or_network(report, tmp_path):
    """Drive Chromium through the DevTools protocol: load the file, collect console messages, exceptions and
    every network request, and read the rendered page."""
    pytest.importorskip("websockets.sync.client", reason="the websockets package is needed for the DevTools protocol")
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--remote-allow-origins=*", "about:blank"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    found: dict = {}

    def read_stderr():
        for line in proc.stderr:
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                found["ws"] = match.group(1)
        found["closed"] = True

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        deadline = time.time() + 60
        while "ws" not in found and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert "ws" in found, "Chromium did not announce its DevTools endpoint"
        with _cdp_session(found["ws"]) as ws:
            counter = iter(range(1, 10_000))
            events: list[dict] = []

            def call(method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
                message_id = next(counter)
                message = {"id": message_id, "method": method, "params": params or {}}
                if session:
                    message["sessionId"] = session
                ws.send(json.dumps(message))
                end = time.time() + timeout
                while time.time() < end:
                    reply = json.loads(ws.recv(timeout=max(end - time.time(), 0.1)))
                    if reply.get("id") == message_id:
                        assert "error" not in reply, reply
                        return reply.get("result", {})
                    events.append(reply)
                raise TimeoutError(method)

            def wait_for(method: str, timeout: float = 60) -> dict:
                end = time.time() + timeout
                for event in events:
                    if event.get("method") == method:
                        return event
                while time.time() < end:
                    event = json.loads(ws.recv(timeout=max(end - time.time(), 0.1)))
                    events.append(event)
                    if event.get("method") == method:
                        return event
                raise TimeoutError(method)

            target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                call(f"{domain}.enable", session=session)
            call("Page.navigate", {"url": report.as_uri()}, session=session)
            wait_for("Page.loadEventFired")
            time.sleep(0.5)  # let late console messages arrive

            def evaluate(expression: str):
                return call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)["result"]["value"]

            codes = set(evaluate("[...document.querySelectorAll('tr[data-indicator]')].map(e => e.dataset.indicator)"))
            svg_count = evaluate("document.querySelectorAll('svg').length")
            rendered = evaluate("[...document.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width > 0).length")
            title = evaluate("document.title")
            height = evaluate("document.body.scrollHeight")
            screenshot = call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
            (tmp_path / "report.png").write_bytes(base64.b64decode(screenshot))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    assert codes >= catalogue_codes()
    assert svg_count > len(catalogue_codes()) and rendered == svg_count
    assert "年度监测报告" in title and height > 5000
    errors = [e for e in events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert", "warning"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") in ("error", "warning"))]
    assert errors == [], errors[:5]
    requests = {e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"}
    assert requests <= {report.as_uri()}, requests
    assert (tmp_path / "report.png").stat().st_size > 10_000


# ---- printing: A4, landscape for the wide sections, nothing wider than its page -----------------------------

MM = 96 / 25.4  # CSS pixels per millimetre
A4 = (595.28, 841.89)  # points


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of every page of a PDF Chromium wrote (its page objects are not compressed)."""
    boxes = re.findall(rb"/Type\s*/Page\b(?!s)[^>]*?/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]", pdf, re.S)
    if not boxes:  # MediaBox before /Type in the dictionary
        boxes = re.findall(rb"/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


@needs_chromium
def test_report_prints_on_a4_with_landscape_tables_that_fit_their_pages(report, tmp_path):
    """Printed by Chromium (the print CSS of the report): every page A4, the wide sections (indicator tables,
    warnings, data quality) on landscape pages, a sane number of pages; in print media at the pages' content
    widths no table is wider than its page and the indicator column is not crushed; every page carries the
    internal mark."""
    pytest.importorskip("websockets.sync.client", reason="the websockets package is needed for the DevTools protocol")
    pdf_path = tmp_path / "report.pdf"
    profile = tmp_path / "profile"
    result = subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf_path}", report.as_uri()], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and pdf_path.exists(), result.stderr[-2000:]
    pages = _pdf_pages(pdf_path.read_bytes())
    portrait = [p for p in pages if abs(p[0] - A4[0]) < 2 and abs(p[1] - A4[1]) < 2]
    landscape = [p for p in pages if abs(p[0] - A4[1]) < 2 and abs(p[1] - A4[0]) < 2]
    assert len(portrait) + len(landscape) == len(pages), sorted(set(pages))  # A4 only (Letter is 612 × 792)
    assert portrait and landscape
    assert 10 <= len(pages) <= 80, len(pages)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True).stdout
        per_page = [t for t in text.split("\f") if t.strip()]
        assert len(per_page) == len(pages) and all("内部使用" in t for t in per_page)

    # the layout in print media at each kind of page's content width (A4 minus the @page margins)
    widths = {"portrait": round((210 - 24) * MM), "landscape": round((297 - 24) * MM)}
    checks = {}
    with _devtools(tmp_path) as page:
        page.call("Page.navigate", {"url": report.as_uri()})
        page.wait_for("Page.loadEventFired")
        page.call("Emulation.setEmulatedMedia", {"media": "print"})
        for kind, width in widths.items():
            page.call("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
            wide = "section.domain, section#warnings, section#quality"
            selector = f":is({wide}) table" if kind == "landscape" else f"table:not(:is({wide}) table)"
            checks[kind] = page.evaluate(f"""(() => {{
                const tables = [...document.querySelectorAll({json.dumps(selector)})];
                const over = tables.filter(t => t.getBoundingClientRect().right > {width} + 1 || t.scrollWidth > t.clientWidth + 1)
                                   .map(t => (t.closest('section') || document.body).id + ': ' + t.rows[0].innerText.slice(0, 60));
                const indicator = [...document.querySelectorAll('section.domain td.indicator')].map(td => td.getBoundingClientRect().width);
                return {{tables: tables.length, over: over, indicator: indicator.length ? Math.min(...indicator) : null,
                         pages: getComputedStyle(document.querySelector('section.domain')).page}};
            }})()""")
    assert checks["portrait"]["tables"] > 0 and checks["landscape"]["tables"] > 10
    assert checks["portrait"]["over"] == [] and checks["landscape"]["over"] == [], checks
    assert checks["landscape"]["pages"] == "wide"
    assert checks["landscape"]["indicator"] >= 45 * MM, checks["landscape"]["indicator"]  # the indicator column keeps ~5 cm


class _devtools:
    """Chromium driven through the DevTools protocol on one page: `call`, `wait_for`, `evaluate`."""

    def __init__(self, tmp_path: Path):
        self.profile = tmp_path / "devtools-profile"

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "about:blank"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        found: dict = {}

        def read_stderr():
            for line in self.proc.stderr:
                match = re.search(r"DevTools listening on (ws://\S+)", line)
                if match:
                    found["ws"] = match.group(1)

        threading.Thread(target=read_stderr, daemon=True).start()
        deadline = time.time() + 60
        while "ws" not in found and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        assert "ws" in found, "Chromium did not announce its DevTools endpoint"
        self.ws = _cdp_session(found["ws"]).__enter__()
        self.counter = iter(range(1, 100_000))
        self.events: list[dict] = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        return self

    def call(self, method: str, params: dict | None = None, timeout: float = 120):
        message_id = next(self.counter)
        message = {"id": message_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        end = time.time() + timeout
        while time.time() < end:
            reply = json.loads(self.ws.recv(timeout=max(end - time.time(), 0.1)))
            if reply.get("id") == message_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float = 120) -> dict:
        end = time.time() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.time() < end:
            event = json.loads(self.ws.recv(timeout=max(end - time.time(), 0.1)))
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(method)

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"]["value"]

    def __exit__(self, *exc):
        try:
            self.ws.__exit__(*exc)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)
