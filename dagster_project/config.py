"""Configuration in one place.

Every setting comes from an environment variable with a documented default
(see `.env.example`). Paths are resolved against the project root so that the
CLI, Dagster and dbt agree whatever the working directory is.
"""
from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
CONTRACTS_FILE = Path(__file__).resolve().parent / "contracts" / "extract_templates_v1.yaml"

WORK_DB_NAME = "work.duckdb"          # the pipeline's own database (person-level, pseudonymised)
PUBLISHED_DB_NAME = "monitoring.duckdb"  # the analysts' database, replaced atomically
DEV_KEY_FILE_NAME = ".dev_hmac_key"   # development key, generated on first run, git-ignored


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe; the message says which and how to fix it."""


def _path_from_env(name: str, default: str) -> Path:
    value = os.environ.get(name, default)
    path = Path(value)
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    data_dir: Path
    exports_dir: Path
    environment: str           # "development" or "production"
    small_cell_threshold: int  # counts 1..threshold are suppressed in public tables

    @property
    def work_db(self) -> Path:
        return self.data_dir / WORK_DB_NAME

    @property
    def published_db(self) -> Path:
        return self.data_dir / PUBLISHED_DB_NAME

    @property
    def reports_dir(self) -> Path:
        return self.exports_dir / "reports"

    def hmac_key(self) -> bytes:
        """The pseudonymisation key.

        In production a missing key is fatal: pseudonyms made with a throwaway
        key could never be linked to next year's. In development a key is
        generated once into the data folder, with a loud warning.
        """
        key = os.environ.get("MONITOR_HMAC_KEY", "").strip()
        if key:
            if len(key) < 16:
                raise ConfigurationError("MONITOR_HMAC_KEY is shorter than 16 characters; use a long random secret.")
            return key.encode("utf-8")
        if self.environment != "development":
            raise ConfigurationError(
                "MONITOR_HMAC_KEY is not set and MONITOR_ENV is not 'development': refusing to start. "
                "Set MONITOR_HMAC_KEY to the secret pseudonymisation key (kept outside the repository)."
            )
        key_file = self.data_dir / DEV_KEY_FILE_NAME
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32), encoding="utf-8")
            key_file.chmod(0o600)
            print(
                "WARNING / 警告: MONITOR_HMAC_KEY is not set; generated a DEVELOPMENT pseudonymisation key at "
                f"{key_file}. Never use it for real data: set MONITOR_HMAC_KEY in production.",
                file=sys.stderr,
            )
        return key_file.read_text(encoding="utf-8").strip().encode("utf-8")


def _load_dotenv() -> None:
    """Read `.env` at the project root (if any) without overriding variables already set."""
    env_file = PROJECT_ROOT / ".env"
    if not env_file.exists():
        return
    for line in env_file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if value.strip():
            os.environ.setdefault(name.strip(), value.strip().strip('"').strip("'"))


def get_settings() -> Settings:
    _load_dotenv()
    return Settings(
        raw_dir=_path_from_env("MONITOR_RAW_DIR", "raw"),
        data_dir=_path_from_env("MONITOR_DATA_DIR", "warehouse"),
        exports_dir=_path_from_env("MONITOR_EXPORTS_DIR", "exports"),
        environment=os.environ.get("MONITOR_ENV", "development").strip().lower() or "development",
        small_cell_threshold=int(os.environ.get("MONITOR_SMALL_CELL_THRESHOLD", "4")),
    )


def export_dbt_env(settings: Settings | None = None) -> None:
    """dbt reads the working database path from MONITOR_WORK_DB (see dbt/profiles.yml)."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # dbt may be the first to open the database
    os.environ["MONITOR_WORK_DB"] = str(settings.work_db)
    os.environ["MONITOR_DUCKDB_MEMORY_LIMIT"] = duckdb_memory_limit()
    # The dbt models run in several Dagster steps (see assets/dbt.py): a test runs in a step only
    # when all the models it reads are built there ("cautious"), never before its inputs exist.
    # Tests that span steps still run in the full `dbt build` of the test suite.
    os.environ.setdefault("DBT_INDIRECT_SELECTION", "cautious")


# DuckDB's own default (80% of RAM) would let one province-sized aggregation take the whole machine;
# above the limit DuckDB spills to disk instead. A share of RAM, capped, keeps room for Python and
# the spreadsheet writers.
DEFAULT_DUCKDB_MEMORY_SHARE = 0.4
DEFAULT_DUCKDB_MEMORY_CAP = 8 * 2**30


def duckdb_memory_limit() -> str:
    """MONITOR_DUCKDB_MEMORY_LIMIT (e.g. `6GB`), or 40% of RAM capped at 8 GiB."""
    value = os.environ.get("MONITOR_DUCKDB_MEMORY_LIMIT", "").strip()
    if value:
        return value
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 16 * 2**30
    return f"{min(DEFAULT_DUCKDB_MEMORY_CAP, int(ram * DEFAULT_DUCKDB_MEMORY_SHARE)) // 2**20}MiB"
