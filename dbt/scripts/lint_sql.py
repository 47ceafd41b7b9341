"""`make lint`'s SQL half: sqlfluff on the dbt models, tests and macros (configuration: dbt/.sqlfluff).

sqlfluff parses every rendered model (minutes for this project on two cores), so a file is linted again only when
it, a macro or the configuration changed since it last passed: the hashes of passing files are kept in
`.tools/sqlfluff-passed.json` (outside git; a fresh clone lints everything). Exit status: sqlfluff's.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

DBT = Path(__file__).resolve().parent.parent
ROOT = DBT.parent
CACHE = ROOT / ".tools" / "sqlfluff-passed.json"
FOLDERS = ("models", "tests", "macros")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _context() -> str:
    """What every file's result depends on: the configuration, every macro and sqlfluff's version."""
    digest = hashlib.sha256(_sha(DBT / ".sqlfluff").encode())
    for macro in sorted((DBT / "macros").rglob("*.sql")):
        digest.update(f"{macro.relative_to(DBT)}:{_sha(macro)}".encode())
    version = subprocess.run([str(Path(sys.executable).with_name("sqlfluff")), "--version"],
                             capture_output=True, text=True).stdout.strip()
    digest.update(version.encode())
    return digest.hexdigest()


def main() -> int:
    files = sorted(p for folder in FOLDERS for p in (DBT / folder).rglob("*.sql"))
    context = _context()
    try:
        cache = json.loads(CACHE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    passed = cache.get("files", {}) if cache.get("context") == context else {}
    hashes = {str(p.relative_to(DBT)): _sha(p) for p in files}
    todo = [name for name, sha in hashes.items() if passed.get(name) != sha]
    print(f"sqlfluff: {len(files) - len(todo)} of {len(files)} SQL files unchanged since they last passed; "
          f"linting {len(todo)}", flush=True)
    if not todo:
        return 0
    proc = subprocess.run([str(Path(sys.executable).with_name("sqlfluff")), "lint", "--processes", "2",
                           "--disable-progress-bar", *todo], cwd=DBT, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    failed = set(re.findall(r"^== \[(.+?)\] FAIL", proc.stdout, re.M))
    if proc.returncode not in (0, 1):  # 1: findings; anything else: sqlfluff itself failed, trust nothing
        return proc.returncode
    # files that passed need not be parsed again, even when others failed
    keep = {name: sha for name, sha in hashes.items() if name not in failed and (name in todo or passed.get(name) == sha)}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps({"context": context, "files": keep}, indent=0), encoding="utf-8")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
