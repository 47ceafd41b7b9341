"""The analysts' way in, run exactly as printed: the lines at the end of `make run`, the commands of the
README and of docs/analysts.md. Each answers a query on the published database; the shell refuses to read
other files or to attach the working database; a mistake gives one line, not a traceback."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from dagster_project.config import PROJECT_ROOT

pytestmark = pytest.mark.slow(seconds=80)  # the committed-sample run (shared with other modules)

QUERY = "SELECT count(*) AS n_indicators FROM marts.dim_indicator;\n"


def _env(sample_warehouse, home) -> dict[str, str]:
    env = {**os.environ, "MONITOR_DATA_DIR": str(sample_warehouse["warehouse"]), "HOME": str(home)}
    env.pop("MONITOR_WORK_DB", None)
    return env


def _bash(command: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=PROJECT_ROOT, env=env, input=stdin, capture_output=True,
                          text=True, timeout=120)


def _printed_commands(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("分析人员只读打开"))
    commands = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        commands.append(line.strip())
    return commands


def _documented_commands() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    guide = (PROJECT_ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    inline = re.findall(r"`((?:make -s sql|make sql|echo [^`]*\| make -s sql|\.venv/bin/python -m dagster_project\.cli sql)[^`]*)`",
                        readme + guide)
    blocks = [line.strip() for block in re.findall(r"```\n(.*?)```", guide, re.S) for line in block.splitlines()]
    return sorted({c for c in inline + blocks if c.startswith(("make", "echo", ".venv/bin/python -m dagster_project.cli"))})


def _n_indicators(sample_warehouse) -> int:
    import duckdb

    with duckdb.connect(str(sample_warehouse["warehouse"] / "monitoring.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM marts.dim_indicator").fetchone()[0]


def test_every_command_the_run_prints_answers_a_query(sample_warehouse, tmp_path):
    commands = _printed_commands(sample_warehouse["stdout"])
    assert len(commands) == 3 and any("make sql" in c for c in commands) and any(" sql " in c for c in commands)
    n = _n_indicators(sample_warehouse)
    for command in commands:
        interactive = " sql " not in command
        result = _bash(command, _env(sample_warehouse, tmp_path), QUERY if interactive else None)
        assert result.returncode == 0, (command, result.stdout[-1500:], result.stderr[-1500:])
        assert "Traceback" not in result.stdout + result.stderr
        assert re.search(rf"│\s+{n}\s+│" if interactive else r"│", result.stdout), (command, result.stdout[-1500:])


def test_every_command_in_the_readme_and_the_analysts_guide_runs_as_printed(sample_warehouse, tmp_path):
    commands = _documented_commands()
    assert any(c == "make sql" for c in commands) and sum("dagster_project.cli sql" in c for c in commands) >= 3
    for command in commands:
        result = _bash(command, _env(sample_warehouse, tmp_path), QUERY if command == "make sql" else None)
        assert result.returncode == 0, (command, result.stdout[-1500:], result.stderr[-1500:])
        assert "Traceback" not in result.stdout + result.stderr
        assert result.stdout.strip() or "--out" in command, command
    written = tmp_path / "indicators_2024.csv"  # the guide's --out example writes to ~ (HOME is tmp_path here)
    assert written.read_bytes().startswith(b"\xef\xbb\xbf") and b"indicator_code" in written.read_bytes()[:200]


@pytest.mark.parametrize("statement, refusal", [
    ("SELECT * FROM read_csv('/etc/passwd');", "disabled by configuration"),
    ("ATTACH '{work_db}' AS w;", "disabled by configuration"),
    ("SET enable_external_access = true;", "Cannot enable external access"),
    ("CREATE TABLE marts.t AS SELECT 1;", "read-only"),
])
def test_the_shell_refuses_other_files_the_working_database_and_writes(sample_warehouse, tmp_path, statement, refusal):
    work_db = sample_warehouse["warehouse"] / "work.duckdb"
    result = _bash("make -s sql", _env(sample_warehouse, tmp_path), statement.format(work_db=work_db) + "\n")
    assert result.returncode != 0
    assert refusal in result.stderr, result.stderr
    assert "root:" not in result.stdout


def test_cli_sql_errors_are_one_line_and_csv_has_every_row(sample_warehouse, tmp_path):
    env = _env(sample_warehouse, tmp_path)
    typo = _bash('.venv/bin/python -m dagster_project.cli sql "selct 1"', env)
    assert typo.returncode == 1 and "Traceback" not in typo.stderr
    assert typo.stderr.strip().count("\n") == 0 and typo.stderr.startswith("SQL 错误 / SQL error:")
    csv = _bash('.venv/bin/python -m dagster_project.cli sql --csv "SELECT indicator_code FROM marts.dim_indicator"', env)
    assert csv.returncode == 0 and len(csv.stdout.strip().splitlines()) == _n_indicators(sample_warehouse) + 1
    wide = _bash('.venv/bin/python -m dagster_project.cli sql "SELECT * FROM marts.dim_indicator"', env)
    header = next(line for line in wide.stdout.splitlines() if "indicator_code" in line)
    assert "responsible_department_zh" in header  # every column shown, none elided
    assert len([line for line in wide.stdout.splitlines() if line.startswith("│ ")]) >= _n_indicators(sample_warehouse)


def test_every_sql_example_of_the_analysts_guide_runs_on_the_published_database(sample_warehouse):
    """The ```sql blocks of docs/analysts.md, each run as an analyst pastes it (read-only, external access off)."""
    from dagster_project.publish import open_published_readonly

    guide = (PROJECT_ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", guide, re.S)
    assert len(blocks) >= 3
    con = open_published_readonly(sample_warehouse["warehouse"] / "monitoring.duckdb")
    try:
        for block in blocks:
            for statement in filter(str.strip, block.split(";")):
                con.execute(statement).fetchall()  # raises on any error: the example is wrong
    finally:
        con.close()
