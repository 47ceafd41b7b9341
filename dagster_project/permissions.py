"""Who may read what on disk: private by default, shared only where analysts need it.

Private (owner only: files 0600, directories 0700) - everything that holds person-level data, a secret
or the pipeline's own state:
  * `work.duckdb` (pseudonymised person-level data), its WAL and spill directory, and the publication's
    staging copy `.monitoring.duckdb.<pid>.<random>.tmp` while it is being built;
  * the HMAC key file (development key or production secrets file) and its directory;
  * Dagster's storage (`$DAGSTER_HOME`: run history, event logs, compute logs, schedules);
  * dbt's target and logs (`$MONITOR_DATA_DIR/dbt_target`), the alerts, the run lock file.

Shared with analysts (owner read-write, group read, others nothing: files 0640, directories 0750):
  * the exports (`$MONITOR_EXPORTS_DIR`: indicator tables, feedback, reports, submissions, data docs);
  * the data directory itself, which analysts must traverse to reach the published database;
  * the published database `monitoring.duckdb`: 0440, read-only for its owner too, so that nobody
    (the pipeline's account included) opens it for writing by mistake; it is only ever replaced whole.
Analysts get access by being members of the group of these directories (e.g. `chgrp -R analysts
warehouse exports && chmod g+s warehouse exports`; the set-group-ID bit, kept by `share`, makes new
files inherit that group). "Others" get nothing: a machine account that is neither the pipeline nor an
analyst has no reason to read statistics that are not yet public.

Why both a umask and explicit chmods: the pipeline's processes run with umask 0o077 (`restrict_umask`,
called at process start by the CLI and by every process that loads the Dagster definitions), so that
whatever a library creates - DuckDB's WAL, SQLite journals, dbt's logs, a temporary file - is private
without our knowing of it. A umask does not change files that already exist (an installation from before
this rule, a file copied in) nor can it make a file more open than 0600, so the files named above are also
chmod-ed where they are opened or written.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SHARED_FILE = 0o640
SHARED_DIR = 0o750
PUBLISHED_FILE = 0o440
# Kept when a shared directory is chmod-ed: the set-group-ID bit an administrator set so that new files
# inherit the analysts' group, and the sticky bit.
_KEPT_DIR_BITS = stat.S_ISGID | stat.S_ISVTX


def restrict_umask() -> None:
    """Files and directories this process creates are private unless chmod-ed open on purpose."""
    os.umask(PRIVATE_UMASK)


def _owned(st: os.stat_result) -> bool:
    # Only the owner (or root) may chmod; a file of another account is reported by whoever opens it.
    return st.st_uid == os.geteuid()


def _chmod(path: Path, mode: int, st: os.stat_result | None = None) -> None:
    st = st or path.lstat()
    if stat.S_ISLNK(st.st_mode) or not _owned(st):
        return  # never follow a link: it could point at anything
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def private(path: Path) -> Path:
    """0600 for a file, 0700 for a directory (not recursive). A missing path is left alone."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return path
    _chmod(path, PRIVATE_DIR if stat.S_ISDIR(st.st_mode) else PRIVATE_FILE, st)
    return path


def private_tree(root: Path) -> Path:
    """`private` on `root` and everything below it (links are not followed)."""
    private(root)
    if root.is_dir() and not root.is_symlink():
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                private(Path(folder) / name)
    return root


def _make_dirs(path: Path, mode: int) -> None:
    """mkdir -p where every directory created gets `mode` (the umask would make them 0700)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            pass  # another process made it
        os.chmod(folder, mode)


def private_dir(path: Path, parents_mode: int = SHARED_DIR) -> Path:
    """A directory that only the pipeline's account can enter, created if missing.

    Missing parents get `parents_mode`: shared by default, since the private directories of the pipeline
    (Dagster's home, dbt's target) live in the data directory, which analysts traverse.
    """
    if not path.exists():
        _make_dirs(path.parent, parents_mode)
        _make_dirs(path, PRIVATE_DIR)
    return private(path)


def shared_dir(path: Path) -> Path:
    """A directory analysts can enter and list (0750), created if missing; set-group-ID kept."""
    _make_dirs(path, SHARED_DIR)
    st = path.lstat()
    if _owned(st) and not stat.S_ISLNK(st.st_mode):
        wanted = SHARED_DIR | (stat.S_IMODE(st.st_mode) & _KEPT_DIR_BITS)
        if stat.S_IMODE(st.st_mode) != wanted:
            os.chmod(path, wanted)
    return path


def share(root: Path) -> Path:
    """Make an export (file, or directory and everything below it) readable by the analysts' group."""
    if not root.exists() or root.is_symlink():
        return root
    if not root.is_dir():
        _chmod(root, SHARED_FILE)
        return root
    shared_dir(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            if not (Path(folder) / name).is_symlink():
                shared_dir(Path(folder) / name)
        for name in files:
            _chmod(Path(folder) / name, SHARED_FILE)
    return root


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)
