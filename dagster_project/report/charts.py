"""Inline SVG charts for the annual report, drawn in Python: no JavaScript, no fonts or files from anywhere.

Each function returns one `<svg>` element as a string. Text is escaped; every chart has a <title> and
hover titles on its marks (native SVG tooltips, no script).
"""
from __future__ import annotations

import math
from html import escape

# Status labels, colours and order are dbt's (seed status_labels → marts.dim_status), passed in as a
# StatusVocabulary (report/data.py); nothing here knows what a status is called.
FONT = "font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif"


def fmt(value: float | None, digits: int | None = 2) -> str:
    """A value at its unit's published decimals (dbt: unit_labels.decimals → dim_indicator.unit_decimals)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{2 if digits is None else digits}f}"


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            return m * magnitude
    return 10 * magnitude


def nice_range(lo: float, hi: float, ticks: int = 4) -> tuple[float, float, list[float]]:
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo, ticks)
    start = math.floor(lo / step) * step
    end = math.ceil(hi / step) * step
    values = []
    v = start
    while v <= end + step / 2:
        values.append(round(v, 10))
        v += step
    return start, end, values


def _svg(width: int, height: int, title: str, body: list[str], css_class: str = "chart") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" style="{FONT}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def status_bars(rows: list[tuple[str, dict[str, int]]], title: str, vocabulary, width: int = 760) -> str:
    """Horizontal stacked bars: one row per label, segments per status, with a legend."""
    label_w, row_h, top = 170, 24, 34
    total_max = max([sum(c.values()) for _, c in rows] + [1])
    bar_w = width - label_w - 50
    body = []
    x = label_w
    for status in vocabulary.order:  # legend
        if any(c.get(status) for _, c in rows):
            body.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{vocabulary.colour(status)}"/>')
            body.append(f'<text x="{x + 16}" y="18" font-size="12">{escape(vocabulary.label(status))}</text>')
            x += 16 + 13 * len(vocabulary.label(status)) + 14
    for i, (label, counts) in enumerate(rows):
        y = top + i * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>')
        x = float(label_w)
        for status in vocabulary.order:
            n = counts.get(status, 0)
            if not n:
                continue
            w = bar_w * n / total_max
            body.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{vocabulary.colour(status)}">'
                f"<title>{escape(label)} · {escape(vocabulary.label(status))}: {n}</title></rect>")
            if w >= 18:
                body.append(f'<text x="{x + w / 2:.1f}" y="{y + 15}" font-size="11" fill="#fff" text-anchor="middle">{n}</text>')
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + 15}" font-size="11" fill="#555">{sum(counts.values())}</text>')
    return _svg(width, top + len(rows) * row_h + 6, title, body)


def series_chart(
    points: list[tuple[int, float]],
    targets: list[tuple[int, float]],
    digits: int,
    status_colour: str | None,
    title: str,
    target_year: int = 2025,
    projection: tuple[float, float | None, float | None] | None = None,
    last_year: int | None = None,
    width: int = 300,
    height: int = 170,
) -> str:
    """An indicator's yearly values against its target line, with the trend projected to the target year.

    projection = (projected value, lower, upper) at target_year, drawn from the last observed point.
    """
    left, right, top, bottom = 46, 12, 12, 24
    years = [y for y, _ in points] + [y for y, _ in targets]
    x_lo = min(years + [target_year]) if years else target_year - 5
    x_hi = max(years + [target_year])
    ys = [v for _, v in points] + [v for _, v in targets]
    if projection is not None:
        ys += [v for v in projection if v is not None]
    if not ys:
        return _svg(width, height, title, [f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="12" fill="#777">无数据</text>'])
    lo, hi, ticks = nice_range(min(ys), max(ys))
    if min(ys) >= 0 and lo < 0:
        lo = 0.0
        ticks = [t for t in ticks if t >= 0]

    def sx(year: float) -> float:
        return left + (year - x_lo) / max(x_hi - x_lo, 1) * (width - left - right)

    def sy(value: float) -> float:
        return top + (hi - value) / (hi - lo) * (height - top - bottom)

    body = []
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e0e0e0"/>')
        body.append(f'<text x="{left - 4}" y="{sy(t) + 4:.1f}" font-size="10" text-anchor="end" fill="#666">{fmt(t, digits) if digits else f"{t:g}"}</text>')
    for year in range(x_lo, x_hi + 1):
        body.append(f'<text x="{sx(year):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" fill="#666">{str(year)[2:] if width < 260 else year}</text>')
    if targets:
        distinct = {round(v, 9) for _, v in targets}
        if len(distinct) == 1:
            v = targets[0][1]
            body.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#c62828" stroke-dasharray="5 3" stroke-width="1.5">'
                        f"<title>目标 target {fmt(v, digits)}</title></line>")
        else:
            path = " ".join(f"{'M' if i == 0 else 'L'}{sx(y):.1f},{sy(v):.1f}" for i, (y, v) in enumerate(sorted(targets)))
            body.append(f'<path d="{path}" fill="none" stroke="#c62828" stroke-dasharray="5 3" stroke-width="1.5"><title>目标 target</title></path>')
        body.append(f'<text x="{width - right}" y="{sy(targets[-1][1]) - 3:.1f}" font-size="10" text-anchor="end" fill="#c62828">目标</text>')
    colour = status_colour or "#455a64"
    if projection is not None and points and projection[0] is not None:
        px, py = points[-1]
        proj, p_lo, p_hi = projection
        body.append(f'<line x1="{sx(px):.1f}" y1="{sy(py):.1f}" x2="{sx(target_year):.1f}" y2="{sy(proj):.1f}" stroke="{colour}" stroke-dasharray="2 3" stroke-width="1.5"/>')
        if p_lo is not None and p_hi is not None:
            body.append(f'<line x1="{sx(target_year):.1f}" x2="{sx(target_year):.1f}" y1="{sy(p_lo):.1f}" y2="{sy(p_hi):.1f}" stroke="{colour}" stroke-width="1" opacity="0.6"/>')
        body.append(f'<circle cx="{sx(target_year):.1f}" cy="{sy(proj):.1f}" r="3.5" fill="#fff" stroke="{colour}" stroke-width="1.5">'
                    f"<title>{target_year}年预测 projection {fmt(proj, digits)}</title></circle>")
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(y):.1f},{sy(v):.1f}" for i, (y, v) in enumerate(points))
        body.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for y, v in points:
            emphasis = ' stroke="#000" stroke-width="1"' if y == last_year else ""
            body.append(f'<circle cx="{sx(y):.1f}" cy="{sy(v):.1f}" r="3" fill="{colour}"{emphasis}><title>{y}: {fmt(v, digits)}</title></circle>')
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" stroke="#9e9e9e"/>')
    return _svg(width, height, title, body, "chart series")


def parity_chart(rows: list[tuple[str, float, float, float, int]], title: str, width: int = 760) -> str:
    """Female/male ratio of each indicator on a log axis around parity (1).

    rows: (label, female/male ratio, female value, male value, published decimals)
    """
    label_w, row_h, top, right = 230, 22, 46, 150
    ratios = [r for _, r, *_ in rows if r and r > 0]
    lo = min(ratios + [0.5])
    hi = max(ratios + [2.0])
    llo, lhi = math.log(lo) - 0.05, math.log(hi) + 0.05
    plot_w = width - label_w - right

    def sx(ratio: float) -> float:
        return label_w + (math.log(ratio) - llo) / (lhi - llo) * plot_w

    body = []
    bottom = top + len(rows) * row_h
    for tick in (0.25, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 4.0):
        if lo <= tick <= hi:
            body.append(f'<line x1="{sx(tick):.1f}" x2="{sx(tick):.1f}" y1="{top - 6}" y2="{bottom}" stroke="{"#424242" if tick == 1 else "#eeeeee"}"/>')
            body.append(f'<text x="{sx(tick):.1f}" y="{top - 10}" font-size="10" text-anchor="middle" fill="#666">{tick:g}</text>')
    body.append(f'<text x="{label_w}" y="12" font-size="11" fill="#666">← 女性低于男性 female lower</text>')
    body.append(f'<text x="{width - right}" y="12" font-size="11" fill="#666" text-anchor="end">女性高于男性 female higher →</text>')
    for i, (label, ratio, female, male, digits) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        body.append(f'<text x="{label_w - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{escape(label)}</text>')
        if not ratio or ratio <= 0:
            body.append(f'<text x="{label_w + 4}" y="{y + 4:.1f}" font-size="11" fill="#999">女/男之比不可计算</text>')
            continue
        colour = "#ad1457" if ratio < 1 else "#1565c0"
        body.append(f'<line x1="{sx(1):.1f}" x2="{sx(ratio):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="3" opacity="0.5"/>')
        body.append(f'<circle cx="{sx(ratio):.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>{escape(label)}: 女/男 = {ratio:.3f}</title></circle>')
        body.append(f'<text x="{width - right + 8}" y="{y + 4:.1f}" font-size="10" fill="#555">女 {fmt(female, digits)} · 男 {fmt(male, digits)}</text>')
    return _svg(width, bottom + 8, title, body)


def township_heatmap(indicators: list[tuple[str, str]], townships: list[tuple[str, str]],
                     cells: dict[tuple[str, str], tuple[float | None, bool | None, bool]], decimals: dict[str, int],
                     district: dict[str, float | None], title: str, width: int = 980) -> str:
    """Indicators × townships. Colour: meets the district's target (green) / not (red); without an assessable
    target, blue shades by rank among the townships. '*' marks fewer than 20 events.

    cells[(indicator, township)] = (value, met, small_numbers)
    """
    label_w, top, row_h = 220, 64, 22
    col_w = (width - label_w - 70) / max(len(townships), 1)
    body = []
    for j, (_, name) in enumerate(townships):
        x = label_w + j * col_w + col_w / 2 - 6
        body.append(f'<text x="{x:.1f}" y="{top - 6}" font-size="11" text-anchor="start" transform="rotate(-35 {x:.1f} {top - 6})">{escape(name)}</text>')
    body.append(f'<text x="{width - 34}" y="{top - 8}" font-size="11" text-anchor="middle">全区</text>')
    for i, (code, label) in enumerate(indicators):
        y = top + i * row_h
        digits = decimals.get(code, 2)
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="11" text-anchor="end">{escape(label)}</text>')
        values = [cells.get((code, t), (None, None, False))[0] for t, _ in townships]
        present = sorted(v for v in values if v is not None)
        for j, (town, name) in enumerate(townships):
            value, met, small = cells.get((code, town), (None, None, False))
            x = label_w + j * col_w
            if value is None:
                fill, opacity = "#f5f5f5", 1.0
            elif met is True:
                fill, opacity = "#2e7d32", 0.55
            elif met is False:
                fill, opacity = "#c62828", 0.55
            else:
                rank = present.index(value) / max(len(present) - 1, 1) if present else 0
                fill, opacity = "#1565c0", 0.15 + 0.55 * rank
            body.append(
                f'<rect x="{x + 1:.1f}" y="{y + 1}" width="{col_w - 2:.1f}" height="{row_h - 2}" fill="{fill}" fill-opacity="{opacity:.2f}">'
                f"<title>{escape(label)} · {escape(name)}: {fmt(value, digits)}{'（事件数少于20）' if small else ''}</title></rect>")
            if value is not None:
                body.append(f'<text x="{x + col_w / 2:.1f}" y="{y + 15}" font-size="10" text-anchor="middle">{fmt(value, digits)}{"*" if small else ""}</text>')
        body.append(f'<text x="{width - 34}" y="{y + 15}" font-size="10" text-anchor="middle" font-weight="bold">{fmt(district.get(code), digits)}</text>')
    return _svg(width, top + len(indicators) * row_h + 6, title, body, "chart heatmap")


def horizontal_bars(rows: list[tuple[str, float, str]], title: str, unit_label: str = "", width: int = 760,
                    colour: str = "#6d4c41") -> str:
    """Simple horizontal bars: (label, value, hover text)."""
    label_w, row_h, top = 170, 22, 8
    vmax = max([v for _, v, _ in rows] + [1])
    plot_w = width - label_w - 90
    body = []
    for i, (label, value, hover) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * value / vmax
        body.append(f'<text x="{label_w - 8}" y="{y + 14}" font-size="12" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 7}" fill="{colour}"><title>{escape(hover)}</title></rect>')
        body.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="11" fill="#444">{value:,.0f}{escape(unit_label)}</text>')
    return _svg(width, top + len(rows) * row_h + 4, title, body)
