"""A small but realistic warehouse for the hand-over tests (report, submission, suppression, warnings).

Generator output at scale 0.05 for 2021–2024 (≈14,000 residents: many small cells, as small townships
have), loaded through the Dagster ingestion assets, then one `dbt build` (without unit tests). About 40 s.
Built once per test session and shared by every xdist worker (a file lock guards the build); tests open it
read-only or work on a copy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from dagster_project.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = PROJECT_ROOT / "dbt"
DBT = Path(sys.executable).with_name("dbt")
TEST_KEY = "test-hmac-key-not-for-production-0123456789"
YEARS = "2021-2024"
SCALE = "0.05"


@dataclass(frozen=True)
class SmallWarehouse:
    root: Path

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def work_db(self) -> Path:
        return self.root / "warehouse" / "work.duckdb"

    def settings(self, exports_dir: Path, threshold: int = 4, data_dir: Path | None = None) -> Settings:
        return Settings(raw_dir=self.raw_dir, data_dir=data_dir or self.work_db.parent, exports_dir=exports_dir,
                        environment="development", small_cell_threshold=threshold)

    def copy_to(self, folder: Path) -> Path:
        """A private, writable copy of the working database (returns its folder, usable as MONITOR_DATA_DIR)."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.work_db, folder / "work.duckdb")
        return folder


def _build(root: Path) -> None:
    env = {
        "MONITOR_RAW_DIR": str(root / "raw"), "MONITOR_DATA_DIR": str(root / "warehouse"),
        "MONITOR_EXPORTS_DIR": str(root / "exports"), "MONITOR_HMAC_KEY": TEST_KEY, "MONITOR_ENV": "development",
        "DAGSTER_HOME": str(root / "dagster_home"), "MONITOR_WORK_DB": str(root / "warehouse" / "work.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "sample_data", "--out", str(root / "raw"), "--scale", SCALE,
         "--years", YEARS, "--quiet"],
        cwd=PROJECT_ROOT, env={**os.environ, **env}, check=True, timeout=600,
    )
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        from tests.helpers import ingest

        ingest()
    result = subprocess.run(
        [str(DBT), "build", "--exclude-resource-type", "unit_test", "--project-dir", str(DBT_DIR),
         "--profiles-dir", str(DBT_DIR), "--target-path", str(root / "dbt_target"), "--log-path", str(root / "dbt_logs")],
        cwd=DBT_DIR, env={**os.environ, **env}, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def small_warehouse(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> SmallWarehouse:
    """HANDOVER_WAREHOUSE=<folder> keeps the build in that folder across sessions (delete it after changing models)."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    root = shared / "handover_warehouse"
    if os.environ.get("HANDOVER_WAREHOUSE"):
        root = Path(os.environ["HANDOVER_WAREHOUSE"])
        shared = root.parent
        shared.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / "handover_warehouse.lock")):
        if not (root / "BUILT").exists():
            if root.exists():
                shutil.rmtree(root)
            root.mkdir()
            _build(root)
            (root / "BUILT").write_text("ok", encoding="utf-8")
    return SmallWarehouse(root)
