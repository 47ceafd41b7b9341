"""Small-cell protection of public tables: primary and secondary cell suppression.

A public table is a set of count cells tied together by additive lines ("this total is the sum of these
cells"): a township × sex table has one line per township (女 + 男 = 合计) and one line per sex column
(sum of townships = district). Anyone can subtract published cells from a published total, so hiding the
small counts alone (primary suppression) is not enough: hidden cells must not be recoverable from the lines.

Method (deterministic; ties broken by the cell key):

1. Primary: every publishable count from 1 to the threshold (MONITOR_SMALL_CELL_THRESHOLD, default 4).
2. Secondary, line rule (the hypercube idea): in every line (its total counted as a cell of the line) that
   holds exactly one suppressed cell, suppress the smallest other non-zero publishable cell; repeat until
   nothing changes.
3. Secondary, cycle rule: the line rule is necessary but not sufficient. Think of each line as a node and
   each cell as an edge between the (at most two) lines it belongs to — a cell in only one line ends at a
   common "free" node. A suppressed cell can be moved up and down (while every line keeps its sum and
   every cell stays ≥ 0) exactly when it lies on a cycle of suppressed cells; a suppressed cell that is a
   bridge of that graph is pinned to one value by the sums, although every line holds two suppressed cells
   (two protected 2×2 blocks joined through one cell are the classic case). Each bridge is closed by
   suppressing the smallest publishable cell joining its two sides, until no bridge is left.

Because every suppressed cell is then on a cycle whose cells are all positive (or, at worst, one zero the
cycle can grow into), each can move both ways: no suppressed cell can be pinned to a single value from the
published cells and the line sums (tests/test_suppression.py proves it with linear programming).
Cells that are not published but are known to a reader (e.g. persons of unknown sex, the gap between
合计 and 女 + 男) are `fixed`: they sit in the lines but are never suppressed or counted as unknowns.

Rates are suppressed with their counts (`suppress_rates`).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

Key = Hashable
FREE = ("__free__",)  # the common end of cells that belong to a single line


@dataclass
class Line:
    """total = sum(members). The total may be None when a line's sum is known but not a cell of the table."""

    total: Key | None
    members: list[Key]

    def cells(self) -> list[Key]:
        return ([self.total] if self.total is not None else []) + list(self.members)


@dataclass
class ProtectedTable:
    values: dict[Key, float]
    lines: list[Line]
    fixed: set[Key] = field(default_factory=set)  # known to readers, never suppressed
    primary: set[Key] = field(default_factory=set)
    secondary: set[Key] = field(default_factory=set)

    @property
    def suppressed(self) -> set[Key]:
        return self.primary | self.secondary

    def status(self, key: Key) -> str:
        """'primary' | 'secondary' | 'published'."""
        if key in self.primary:
            return "primary"
        if key in self.secondary:
            return "secondary"
        return "published"


def _order(values: dict[Key, float], key: Key) -> tuple:
    return (values[key], repr(key))


def is_small(value: float | None, threshold: int) -> bool:
    return value is not None and 0 < value <= threshold


def protect(values: dict[Key, float], lines: Iterable[Line], threshold: int, fixed: Iterable[Key] = (),
            close_cycles: bool = True, already_suppressed: Iterable[Key] = ()) -> ProtectedTable:
    """Suppress small counts and enough other cells that none of them can be recovered.

    close_cycles=False stops after the line rule (step 2): only for showing why step 3 is needed.
    already_suppressed: cells another table sharing them had to suppress (hierarchical tables are
    protected as linked two-way tables); they count as suppressed here and are reported as secondary.
    """
    table = ProtectedTable(values=dict(values), lines=list(lines), fixed=set(fixed))
    for line in table.lines:
        for key in line.cells():
            if key not in table.values:
                raise KeyError(f"line refers to unknown cell {key!r}")
    table.primary = {k for k, v in table.values.items() if k not in table.fixed and is_small(v, threshold)}
    suppressed = set(table.primary) | (set(already_suppressed) & set(table.values))
    while True:
        _apply_line_rule(table, suppressed)
        if not close_cycles or not _close_one_bridge(table, suppressed):
            break
    table.secondary = suppressed - table.primary
    return table


def _candidates(table: ProtectedTable, keys: Iterable[Key], suppressed: set[Key]) -> list[Key]:
    return [k for k in keys if k not in suppressed and k not in table.fixed]


def _pick(table: ProtectedTable, candidates: list[Key]) -> Key | None:
    if not candidates:
        return None
    non_zero = [k for k in candidates if table.values[k] > 0]
    return min(non_zero or candidates, key=lambda k: _order(table.values, k))


def _apply_line_rule(table: ProtectedTable, suppressed: set[Key]) -> None:
    changed = True
    while changed:
        changed = False
        for line in table.lines:
            cells = line.cells()
            hidden = [k for k in cells if k in suppressed]
            if len(hidden) != 1:
                continue
            choice = _pick(table, [k for k in _candidates(table, cells, suppressed) if table.values[k] > 0])
            if choice is None:  # only zeros left: a zero cell can still hide the other one
                choice = _pick(table, _candidates(table, cells, suppressed))
            if choice is not None:
                suppressed.add(choice)
                changed = True


def _cell_ends(table: ProtectedTable) -> dict[Key, tuple]:
    """Each cell -> the two nodes (lines, or FREE) it joins."""
    memberships: dict[Key, list[int]] = defaultdict(list)
    for index, line in enumerate(table.lines):
        for key in line.cells():
            memberships[key].append(index)
    ends = {}
    for key in table.values:
        lines = memberships.get(key, [])
        if len(lines) > 2:
            raise ValueError(f"cell {key!r} is in {len(lines)} lines; only two-way tables are supported")
        nodes = [("line", i) for i in lines] + [FREE] * (2 - len(lines))
        ends[key] = (nodes[0], nodes[1])
    return ends


def _bridges(edges: dict[Key, tuple]) -> list[Key]:
    """Bridges of an undirected multigraph given as edge key -> (u, v); iterative Tarjan, parallel edges allowed."""
    adjacency: dict[object, list[tuple[object, Key]]] = defaultdict(list)
    for key, (u, v) in edges.items():
        if u == v:
            continue  # a cell in no line (or only in FREE twice): never recoverable, never a bridge
        adjacency[u].append((v, key))
        adjacency[v].append((u, key))
    disc: dict[object, int] = {}
    low: dict[object, int] = {}
    found: list[Key] = []
    counter = 0
    for root in sorted(adjacency, key=repr):
        if root in disc:
            continue
        disc[root] = low[root] = counter
        counter += 1
        stack = [(root, None, iter(adjacency[root]))]
        while stack:
            node, via, neighbours = stack[-1]
            advanced = False
            for nxt, key in neighbours:
                if key == via:
                    continue
                if nxt in disc:
                    low[node] = min(low[node], disc[nxt])
                else:
                    disc[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append((nxt, key, iter(adjacency[nxt])))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        found.append(via)
    return sorted(found, key=repr)


def _component(edges: dict[Key, tuple], start, without: Key) -> set:
    adjacency: dict[object, list] = defaultdict(list)
    for key, (u, v) in edges.items():
        if key != without:
            adjacency[u].append(v)
            adjacency[v].append(u)
    seen = {start}
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in adjacency[node]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _close_one_bridge(table: ProtectedTable, suppressed: set[Key]) -> bool:
    """Suppress one more cell if some suppressed cell is a bridge (recoverable). Returns whether it did."""
    ends = _cell_ends(table)
    hidden_edges = {k: ends[k] for k in suppressed}
    bridges = _bridges(hidden_edges)
    if not bridges:
        return False
    bridge = bridges[0]
    u, v = hidden_edges[bridge]
    side_u = _component(hidden_edges, u, bridge)
    side_v = _component(hidden_edges, v, bridge)
    joining = [k for k in _candidates(table, table.values, suppressed)
               if (ends[k][0] in side_u and ends[k][1] in side_v) or (ends[k][0] in side_v and ends[k][1] in side_u)]
    choice = _pick(table, joining)
    if choice is None:
        # nothing joins the two sides directly: widen the bridge's ends by their smallest publishable cell; repeat
        near = [k for k in _candidates(table, table.values, suppressed) if ends[k][0] in (u, v) or ends[k][1] in (u, v)]
        choice = _pick(table, near)
    if choice is None:
        raise RuntimeError(f"cannot protect suppressed cell {bridge!r}: no publishable cell left to suppress")
    suppressed.add(choice)
    return True


def two_way_lines(rows: list, cols: list, row_total: object | None, col_total: object | None) -> list[Line]:
    """Lines of a rows × cols table of cells keyed (row, col).

    row_total: the column key holding each row's total (e.g. '_T'), or None when rows have no total cell.
    col_total: the row key holding each column's total (e.g. the district), or None.
    `rows`/`cols` exclude the total row/column.
    """
    lines = []
    all_cols = cols + ([row_total] if row_total is not None else [])
    if row_total is not None:
        for r in rows + ([col_total] if col_total is not None else []):
            lines.append(Line(total=(r, row_total), members=[(r, c) for c in cols]))
    if col_total is not None:
        for c in all_cols:
            lines.append(Line(total=(col_total, c), members=[(r, c) for r in rows]))
    return lines


def suppress_rates(table: ProtectedTable, rate_keys: dict[Key, Iterable[Key]]) -> set[Key]:
    """Rates to suppress: each rate key -> the count cells it is computed from."""
    hidden = table.suppressed
    return {rate for rate, counts in rate_keys.items() if any(c in hidden for c in counts)}
