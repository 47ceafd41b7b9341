"""Find department files under MONITOR_RAW_DIR and say which extract and period each one is."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from dagster_project.contracts import Contracts, Extract

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".txt")


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    relative: str                       # path relative to the raw dir, as shown to users
    extract: Extract | None             # None: the name matches no template
    period_year: int | None
    source_department: str | None

    @property
    def partition(self) -> tuple[str, int | None, str | None]:
        return (self.extract.name if self.extract else "", self.period_year, self.source_department)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def identify(path: Path, raw_dir: Path, contracts: Contracts) -> DroppedFile:
    """Match `<raw>/<department>/<extract>_<YYYY>.<ext>` against the contracts."""
    relative = path.relative_to(raw_dir).as_posix() if path.is_relative_to(raw_dir) else path.name
    folder = path.parent.name
    stem = path.stem.strip().lower()
    for extract in contracts.extracts.values():
        if extract.raw_dir_name != folder:
            continue
        match = extract.file_regex().match(stem)
        if match:
            groups = match.groupdict()
            year = int(groups["year"]) if groups.get("year") else None
            return DroppedFile(path, relative, extract, year, groups.get("source_department"))
    return DroppedFile(path, relative, None, None, None)


def discover(raw_dir: Path, contracts: Contracts, extract_name: str | None = None) -> list[DroppedFile]:
    """Every file in the raw dir (hidden and `_`-prefixed folders skipped), sorted for determinism."""
    found = []
    if not raw_dir.exists():
        return found
    for path in sorted(raw_dir.rglob("*")):
        rel_parts = path.relative_to(raw_dir).parts
        if not path.is_file() or any(p.startswith((".", "_")) for p in rel_parts):
            continue
        dropped = identify(path, raw_dir, contracts)
        if extract_name is None or (dropped.extract and dropped.extract.name == extract_name):
            found.append(dropped)
    return found
