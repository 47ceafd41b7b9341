"""Shared fixtures: every test gets its own raw/, warehouse/ and exports/ folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_KEY = "test-hmac-key-not-for-production-0123456789"


# fixtures that run the pipeline or build a warehouse (minutes each)
HEAVY_FIXTURES = frozenset({"sample_warehouse", "warehouse", "handover", "ws"})


def pytest_collection_modifyitems(session, config, items):
    """Heaviest modules first, so that the two xdist workers (`--dist loadfile`) finish together.

    xdist hands out whole modules in collection order; alphabetical order left a 3-minute module for the
    end of one worker while the other sat idle. `slow(seconds=N)` is a module's rough cost on a quiet
    2-core machine (its shared pipeline runs and builds); it only decides the order, never a verdict.
    The Makefile passes --no-loadscope-reorder: by default xdist re-sorts modules by their number of tests.
    """
    # A test that builds a warehouse through these fixtures runs the pipeline: it must be marked slow, or
    # `make test-fast` (-m "not slow") would silently build one and stop being fast.
    unmarked = sorted({item.nodeid.split("::")[0] for item in items
                       if HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("slow")})
    if unmarked:
        raise pytest.UsageError("mark these modules pytest.mark.slow(seconds=N): they use a pipeline-run fixture: "
                                + ", ".join(unmarked))

    def cost(item) -> float:
        marker = item.get_closest_marker("slow")
        return float(marker.kwargs.get("seconds", 60)) if marker else 0.0

    modules: dict[str, float] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], cost(item))
    order = {m: i for i, m in enumerate(sorted(modules, key=lambda m: -modules[m]))}
    items.sort(key=lambda item: order[item.nodeid.split("::")[0]])  # stable: tests keep their order in a module


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("raw", "warehouse", "exports")}
    for p in paths.values():
        p.mkdir()
    monkeypatch.setenv("MONITOR_RAW_DIR", str(paths["raw"]))
    monkeypatch.setenv("MONITOR_DATA_DIR", str(paths["warehouse"]))
    monkeypatch.setenv("MONITOR_EXPORTS_DIR", str(paths["exports"]))
    monkeypatch.setenv("MONITOR_HMAC_KEY", TEST_KEY)
    monkeypatch.setenv("MONITOR_ENV", "development")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("MONITOR_WORK_DB", str(paths["warehouse"] / "work.duckdb"))
    return paths


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Path]:
    """One full pipeline run (the CLI, as `make run` does) on the committed sample, shared by the session.

    Shared by every xdist worker too: the first worker to ask runs it under a file lock, the others wait
    and reuse it (the run takes over a minute; building it once per worker cost the suite that much again).
    Tests only read it.
    """
    import subprocess
    import sys

    from filelock import FileLock

    root = Path(__file__).resolve().parent.parent
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    base = shared / "sample_run"
    paths = {"raw": root / "raw", "warehouse": base / "warehouse", "exports": base / "exports"}
    with FileLock(str(shared / "sample_run.lock")):
        if not (base / "BUILT").exists():
            if base.exists():
                import shutil

                shutil.rmtree(base)
            base.mkdir()
            env = {
                **os.environ,
                "MONITOR_RAW_DIR": str(paths["raw"]),
                "MONITOR_DATA_DIR": str(paths["warehouse"]),
                "MONITOR_EXPORTS_DIR": str(paths["exports"]),
                "MONITOR_HMAC_KEY": TEST_KEY,
                "MONITOR_ENV": "development",
                "DAGSTER_HOME": str(base / "dagster_home"),
            }
            env.pop("MONITOR_WORK_DB", None)
            result = subprocess.run([sys.executable, "-m", "dagster_project.cli", "run"], cwd=root, env=env,
                                    capture_output=True, text=True, timeout=1200)
            (base / "run.log").write_text(result.stdout + result.stderr, encoding="utf-8")
            (base / "stdout.txt").write_text(result.stdout, encoding="utf-8")
            (base / "stderr.txt").write_text(result.stderr, encoding="utf-8")
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            (base / "BUILT").write_text("ok", encoding="utf-8")
    paths["log"] = base / "run.log"
    paths["stdout"] = (base / "stdout.txt").read_text(encoding="utf-8")
    paths["stderr"] = (base / "stderr.txt").read_text(encoding="utf-8")
    return paths
