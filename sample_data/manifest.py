"""The run's manifest: every file written and every defect injected, as JSON.

Structure (`manifest_version` 1):

    {
      "manifest_version": 1, "contract_version": 1, "generator": "sample_data",
      "options": {"seed", "years", "scale", "clean", "defect_rate", "areas", "extracts"},
      "conventions": {"row": ..., "handling": ..., "periods": ...},
      "defect_kinds": {kind: {"handling", "rule_id", "default_rate", "rate", "description"}},
      "files": [{"path", "extract", "department", "source_department", "year", "period_start",
                 "period_end", "format", "encoding", "line_terminator", "header_language", "headers",
                 "bool_words", "sex_words", "code_language", "residence_words", "rows", "bytes",
                 "sha256", "defects": {kind: count}, "defects_by_handling": {handling: count}}],
      "defects": [{"file", "row", "kind", "column", "handling", "rule_id", "value", "expected"}],
      "summary": {"files", "rows", "defects", "by_kind", "by_handling"}
    }

`row` is the spreadsheet row number (header = 1, first data row = 2). `value`
is the cell text as written (null for a blanked cell or a duplicate row);
`expected` is, for normalise kinds, the value the warehouse should end up with.
Nothing time-dependent is written, so the manifest is reproducible too.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sample_data.defects import KINDS, kind_rate

MANIFEST_VERSION = 1

CONVENTIONS = {
    "row": "spreadsheet row number: header = 1, first data row = 2; for duplicate_row the second copy",
    "handling": {
        "quarantine": "the row must not reach the warehouse; it is listed with its rule in audit.quarantine",
        "exclude_field": "the row is loaded with the field blanked (NULL, named in _invalid_fields) and the finding "
                         "listed in audit.row_flags: the handling of a quarantine kind in a column that is not "
                         "row-critical (the record still counts where the field is not needed)",
        "normalise": "the value is corrected mechanically (to `expected`) and the row loaded; listed in audit.row_flags",
        "flag": "the row is loaded as is; the finding is listed in audit.row_flags",
    },
    "periods": {
        "mch_year": "health files: 1 October of Y-1 to 30 September of Y",
        "school_year": "education files: the school year starting in the autumn of Y (count in September)",
        "calendar": "all other files: calendar year Y",
    },
    "not_generated": "whole-file defects (the same file sent twice under another name, missing or renamed "
                     "columns, empty or truncated files) are left to tests",
}


def build(options: dict, files: list[dict], contract_version: int, extracts_seen: set[str],
          multiplier: float) -> dict:
    """Everything but the defect list (which is streamed by `write`)."""
    by_kind: Counter[str] = Counter()
    for f in files:
        by_kind.update(f["defects"])
    by_handling: Counter[str] = Counter()  # per defect: a quarantine kind may only blank a field (handling_of)
    for f in files:
        by_handling.update(f.get("defects_by_handling", {}))
    kinds = {}
    for name, kind in KINDS.items():
        rates = sorted({kind_rate(e, name) for e in extracts_seen} | {kind.rate})
        kinds[name] = {
            "handling": kind.handling,
            "rule_id": kind.rule_id,
            "default_rate": kind.rate,
            "rate": [round(r * multiplier, 6) for r in rates] if len(rates) > 1 else round(kind.rate * multiplier, 6),
            "description": kind.description,
        }
    return {
        "manifest_version": MANIFEST_VERSION,
        "contract_version": contract_version,
        "generator": "sample_data",
        "options": options,
        "conventions": CONVENTIONS,
        "defect_kinds": kinds,
        "files": files,
        "summary": {
            "files": len(files),
            "rows": sum(f["rows"] for f in files),
            "defects": sum(by_kind.values()),
            "by_kind": dict(sorted(by_kind.items())),
            "by_handling": dict(sorted(by_handling.items())),
        },
    }


def write(path: Path, manifest: dict, defect_parts: list[Path]) -> None:
    """JSON with one file and one defect per line, so diffs and greps stay readable.

    Defects are copied line by line from the JSON-lines part files (already one
    JSON object per line), so a province run's millions of defects never sit in memory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in manifest.items() if k not in ("files", "summary")}
    with path.open("w", encoding="utf-8") as out:
        out.write("{\n")
        for key, value in head.items():
            out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        out.write('  "files": [\n')
        files = manifest["files"]
        for i, item in enumerate(files):
            out.write("    " + json.dumps(item, ensure_ascii=False) + ("," if i < len(files) - 1 else "") + "\n")
        out.write('  ],\n  "defects": [')
        first = True
        for part in defect_parts:
            with part.open(encoding="utf-8") as fh:
                for line in fh:
                    out.write(("\n    " if first else ",\n    ") + line.rstrip("\n"))
                    first = False
        out.write("\n  ],\n" if not first else "],\n")
        out.write(f'  "summary": {json.dumps(manifest["summary"], ensure_ascii=False)}\n}}\n')


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
