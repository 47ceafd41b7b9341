"""Printing a self-contained HTML page to PDF with headless Chromium (the page's own @page CSS sets A4).

Chromium runs with a throw-away profile, no header/footer (no file path or date printed on the pages) and
its background networking off; the pages it prints load nothing from the network. When Chromium is not
installed the caller gets a sentence saying so, in Chinese and English, instead of a PDF.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
         "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw"]
TIMEOUT_SECONDS = 300


def chromium_path() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


def missing_chromium_message(html: Path) -> str:
    return (f"未安装 Chromium，未生成 PDF；可在浏览器中打开 {html.name} 打印（A4）。安装：`make browser`（Debian 软件包 chromium）。"
            f" / Chromium is not installed: no PDF was written; open {html.name} in a browser and print it (A4). "
            "Install it with `make browser` (Debian package chromium).")


def print_to_pdf(html: Path, pdf: Path) -> str | None:
    """Write `pdf` from `html`; returns None when done, else why not (Chinese / English)."""
    return print_many([(html, pdf)])[pdf]


def print_many(jobs: list[tuple[Path, Path]]) -> dict[Path, str | None]:
    """Print several pages at once (one Chromium each, side by side: printing is mostly one core's layout
    work); returns pdf -> None when written, else why not."""
    chromium = chromium_path()
    if chromium is None:
        return {pdf: missing_chromium_message(html) for html, pdf in jobs}
    with tempfile.TemporaryDirectory(prefix="chromium-pdf-") as profiles:
        running = []
        for i, (html, pdf) in enumerate(jobs):
            tmp = pdf.with_name(pdf.name + ".tmp")
            tmp.unlink(missing_ok=True)
            proc = subprocess.Popen(
                [str(chromium), *FLAGS, f"--user-data-dir={profiles}/{i}", f"--print-to-pdf={tmp}",
                 html.resolve().as_uri()],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            running.append((proc, tmp, pdf))
        results: dict[Path, str | None] = {}
        for proc, tmp, pdf in running:
            try:
                _, stderr = proc.communicate(timeout=TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                tmp.unlink(missing_ok=True)
                results[pdf] = (f"Chromium 打印 PDF 超时（{TIMEOUT_SECONDS} 秒），未生成 PDF / "
                                "Chromium timed out printing the PDF.")
                continue
            if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                tmp.unlink(missing_ok=True)
                detail = (stderr or "").strip().splitlines()[-1:] or [""]
                results[pdf] = (f"Chromium 未能生成 PDF（退出码 {proc.returncode}）/ Chromium could not print the PDF: "
                                f"{detail[0][:200]}")
                continue
            tmp.replace(pdf)
            results[pdf] = None
    return results
