"""Find department files under MONITOR_RAW_DIR and say which extract and period each one is.

Safety: a file name can never make ingestion read outside MONITOR_RAW_DIR.
Files are only ever found by listing the raw folder (never by joining a name
from a file or a database onto a path), symlinked folders are not descended,
and a symlink whose target is not a regular file inside the raw folder is
returned as `blocked`: the loader records it without opening it. Special
files (FIFOs, sockets, devices) are never opened.

Names are matched leniently: full-width characters are folded (NFKC), case is
ignored and runs of spaces or hyphens count as one underscore, so
`Births 2023.csv` and `births－2023.csv` are `births_2023`. Hidden files and
folders (leading `.`) and `_`-prefixed ones (parked) are skipped.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from dagster_project.contracts import Contracts, Extract
from dagster_project.ingest.idnumber import mask_id_numbers

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".txt")
_SEPARATOR_RUN = re.compile(r"[\s\-_]+")


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    relative: str                       # path relative to the raw dir, as shown to users
    extract: Extract | None             # None: the name matches no template
    period_year: int | None
    source_department: str | None
    blocked: str | None = None          # why the file must not be opened (e.g. a link out of the raw dir)

    @property
    def shown(self) -> str:
        """The path as stored and shown anywhere (ledger, findings, logs, events, feedback): an ID number in
        a file or folder name (`births_430502…_2023.csv`) is masked (idnumber.mask_id_numbers)."""
        return mask_id_numbers(self.relative) or self.relative

    @property
    def key(self) -> str:
        """A name to remember the file by outside the raw folder (the file-drop sensor's cursor in Dagster's
        storage): `shown`, plus a hash of the real name when masking changed it, so two masked names differ."""
        if self.shown == self.relative:
            return self.relative
        return f"{self.shown}#{hashlib.sha256(self.relative.encode('utf-8')).hexdigest()[:12]}"

    @property
    def partition(self) -> tuple[str, int | None, str | None]:
        return (self.extract.name if self.extract else "", self.period_year, self.source_department)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def normalise_stem(stem: str) -> str:
    """`Births 2023` / `births－２０２３` → `births_2023`."""
    text = unicodedata.normalize("NFKC", stem).strip().lower()
    return _SEPARATOR_RUN.sub("_", text).strip("_")


def _relative(path: Path, raw_dir: Path) -> str:
    return path.relative_to(raw_dir).as_posix() if path.is_relative_to(raw_dir) else path.name


def identify(path: Path, raw_dir: Path, contracts: Contracts) -> DroppedFile:
    """Match `<raw>/<department>/<extract>_<YYYY>.<ext>` against the contracts."""
    relative = _relative(path, raw_dir)
    folder = path.parent.name
    stem = normalise_stem(path.stem)
    for extract in contracts.extracts.values():
        if extract.raw_dir_name != folder:
            continue
        match = extract.file_regex().match(stem)
        if match:
            groups = match.groupdict()
            year = int(groups["year"]) if groups.get("year") else None
            return DroppedFile(path, relative, extract, year, groups.get("source_department"))
    return DroppedFile(path, relative, None, None, None)


def _link_problem(path: Path, raw_root: Path) -> str | None:
    """Why a symlink must not be followed, or None if it points to a regular file inside the raw dir."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "link_target_missing"
    if not target.is_relative_to(raw_root):
        return "link_outside_raw_dir"
    if not target.is_file():
        return "link_not_a_file"
    return None


def discover(raw_dir: Path, contracts: Contracts, extract_name: str | None = None) -> list[DroppedFile]:
    """Every file in the raw dir (hidden and `_`-prefixed entries skipped), sorted for determinism."""
    found = []
    if not raw_dir.is_dir():
        return found
    raw_root = raw_dir.resolve()
    for folder, dirs, files in os.walk(raw_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        here = Path(folder)
        entries = [here / name for name in files if not name.startswith((".", "_"))]
        # os.walk lists symlinked folders among `dirs` and does not enter them: report links out of the raw dir.
        entries += [here / d for d in dirs if (here / d).is_symlink()]
        for path in sorted(entries):
            if path.is_symlink():
                problem = _link_problem(path, raw_root)
                if problem is None and path.is_dir():
                    continue
                if problem is not None:
                    if extract_name is None:
                        found.append(DroppedFile(path, _relative(path, raw_dir), None, None, None, blocked=problem))
                    continue
            else:
                try:
                    if not stat.S_ISREG(path.lstat().st_mode):
                        continue  # FIFO, socket, device: opening one could block or read a device
                except OSError:
                    continue
            dropped = identify(path, raw_dir, contracts)
            if extract_name is None or (dropped.extract and dropped.extract.name == extract_name):
                found.append(dropped)
    found.sort(key=lambda d: d.relative)
    return found
