"""Make GX's Data Docs open without the internet: bundle the CSS, scripts and fonts its pages load from CDNs.

GX writes every page with `<script src="https://…">` and `<link href="https://…">` for jQuery, Bootstrap,
bootstrap-table (which fills the results table and its status column from data in the page), Font Awesome
(the status icons) and a few more. On the district's offline network those never load: the page stays
unstyled and its tables empty. `bundle_static_assets` copies the files of `data_docs_static/` (the same
versions, from their npm packages; see SOURCES.md there) to `<site>/static/vendor/` and rewrites each
page's CDN URLs to relative paths. The GX logo comes from GX's own `static/images`.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).with_name("data_docs_static")
VENDOR = "static/vendor"

# CDN URL as GX writes it -> file under static/ of the site (vendor/… are ours, images/… are GX's own)
CDN_ASSETS = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "vendor/jquery/jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "vendor/bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "vendor/bootstrap/bootstrap.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "vendor/popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "vendor/bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "vendor/bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "vendor/bootstrap-table/bootstrap-table-filter-control.min.js",
    # GX asks for the 1.19.0 stylesheet of the extension beside the 1.19.1 script; 1.19.1's is the same layout
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "vendor/bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "vendor/bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "vendor/bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "vendor/bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "vendor/fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "vendor/bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": "images/logo-long.png",
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png": "images/logo-long.png",
}
# Chart libraries no page of ours uses (about 830 KB): dropped where the page draws no chart
CHART_SCRIPTS = ("https://cdn.jsdelivr.net/npm/vega@5", "https://cdn.jsdelivr.net/npm/vega-lite@5",
                 "https://cdn.jsdelivr.net/npm/vega-embed@6")
# a URL GX loads (script, stylesheet, image) as opposed to a link a reader may follow
_LOADED = re.compile(r"""(<(?:script|img)\b[^>]*\bsrc=|<link\b[^>]*\bhref=|url\()(["']?)(https?://[^"')\s>]+)""",
                     re.IGNORECASE)
_STATIC_PATH = re.compile(r"""\b(href|src)=(["'])((?:\.\./)*static/[^"'?#]+)""")
_QUERY = re.compile(r"\?[^\"')\s>]*$")


def bundle_static_assets(site: Path) -> list[str]:
    """Copy the bundled assets into `site` and point its pages and stylesheets at them.

    Returns the external URLs still loaded by some page (logged as a warning: that page needs the network)."""
    static = site / "static"
    shutil.copytree(ASSETS_DIR, site / VENDOR, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("SOURCES.md", "LICENSE*"))
    left: set[str] = set()
    for path in sorted([*site.rglob("*.html"), *static.rglob("styles/*.css")]):
        text = path.read_text(encoding="utf-8")
        rewritten = _rewrite(text, path.parent, static, left)
        if rewritten != text:
            path.write_text(rewritten, encoding="utf-8")
    if left:
        logger.warning("data docs: %d external asset(s) still need the network: %s", len(left), ", ".join(sorted(left)))
    return sorted(left)


def _rewrite(text: str, folder: Path, static: Path, left: set[str]) -> str:
    if "vegaEmbed(" not in text:
        for url in CHART_SCRIPTS:
            text = re.sub(rf'<script\b[^>]*\bsrc="{re.escape(url)}"[^>]*>\s*</script>\s*', "", text)

    def local(match: re.Match) -> str:
        lead, quote, url = match.groups()
        target = CDN_ASSETS.get(_QUERY.sub("", url))
        if target is None:
            left.add(url)
            return match.group(0)
        return f"{lead}{quote}{Path(os.path.relpath(static / target, folder)).as_posix()}"

    def site_static(match: re.Match) -> str:
        # GX writes the favicon of a validation page one folder short ("../../../../static/…"): a request that
        # fails offline and online alike; point every static/ path that does not resolve at the site's
        attribute, quote, path = match.groups()
        if (folder / path).exists():
            return match.group(0)
        inside = path[path.index("static/") + len("static/"):]
        return f"{attribute}={quote}{Path(os.path.relpath(static / inside, folder)).as_posix()}"

    text = _STATIC_PATH.sub(site_static, _LOADED.sub(local, text))
    return _TAG.sub(_without_cors, text)


def _without_cors(match: re.Match) -> str:
    """A local copy loads as a plain file: a crossorigin attribute makes Chromium refuse a file:// script
    (CORS), and the CDN's integrity hash belongs to the CDN's delivery."""
    tag = match.group(0)
    if "vendor/" not in tag and "images/" not in tag:
        return tag
    return _CORS_ATTRIBUTES.sub("", tag)


_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_CORS_ATTRIBUTES = re.compile(r"""\s+(?:integrity|crossorigin)(?:=(?:"[^"]*"|'[^']*'|[^\s>]+))?""", re.IGNORECASE)
