"""Configuration in one place.

Every setting comes from an environment variable with a documented default
(see `.env.example`). Paths are resolved against the project root so that the
CLI, Dagster and dbt agree whatever the working directory is.
"""
from __future__ import annotations

import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster_project.permissions import PRIVATE_DIR, PRIVATE_FILE, private, private_dir, shared_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
CONTRACTS_FILE = Path(__file__).resolve().parent / "contracts" / "extract_templates_v1.yaml"

WORK_DB_NAME = "work.duckdb"          # the pipeline's own database (person-level, pseudonymised)
PUBLISHED_DB_NAME = "monitoring.duckdb"  # the analysts' database, replaced atomically

# The pseudonymisation key (see Settings.hmac_key). Never inside the data directory: a key next to the data
# it protects goes wherever the data goes (a backup, a copy handed over).
HMAC_KEY_ENV = "MONITOR_HMAC_KEY"            # the key itself (production: from the service's environment)
HMAC_KEY_FILE_ENV = "MONITOR_HMAC_KEY_FILE"  # or a secrets file outside the repository holding it
DEV_KEY_FILE_ENV = "MONITOR_DEV_KEY_FILE"    # where development keeps its generated key
DEV_KEY_DEFAULT = Path("shuangqing-monitor") / "dev-hmac.key"  # under $XDG_CONFIG_HOME (~/.config)
LEGACY_DEV_KEY_FILE_NAME = ".dev_hmac_key"  # where earlier versions generated it: in the data directory
MIN_KEY_LENGTH = 16


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe; the message says which and how to fix it."""


def _path_from_env(name: str, default: str) -> Path:
    value = os.environ.get(name, default)
    path = Path(value)
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def dev_key_file() -> Path:
    """$MONITOR_DEV_KEY_FILE, or ~/.config/shuangqing-monitor/dev-hmac.key ($XDG_CONFIG_HOME respected)."""
    explicit = os.environ.get(DEV_KEY_FILE_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser().resolve()
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(config_home) if config_home and Path(config_home).is_absolute() else Path.home() / ".config"
    return (base / DEV_KEY_DEFAULT).resolve()


def _checked_key(key: str, source: str) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(f"{source}：密钥少于 {MIN_KEY_LENGTH} 个字符，请使用足够长的随机密钥 / the key is shorter "
                                 f"than {MIN_KEY_LENGTH} characters; use a long random secret.")
    return key.encode("utf-8")


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
        """The pseudonymisation key, from the first of:

        1. `MONITOR_HMAC_KEY` in the environment. Outside development it must not come from the project's
           `.env` file: that file sits in the repository's folder, where a key is one `git add -f`, one copy
           of the folder away from leaking.
        2. `MONITOR_HMAC_KEY_FILE`: a secrets file outside the repository and the data directory (e.g.
           `/etc/shuangqing-monitor/hmac.key`, a systemd credential, a container secret), mode 0600 or 0640.
        3. Development only: a key generated once into `dev_key_file()` (mode 0600, folder 0700), with a
           loud warning. A key left in the data directory by an earlier version is moved there.

        In production a missing key is fatal: pseudonyms made with a throwaway key could never be linked to
        next year's.
        """
        production = self.environment != "development"
        key = os.environ.get(HMAC_KEY_ENV, "").strip()
        if key:
            if production and HMAC_KEY_ENV in _FROM_DOTENV:
                raise ConfigurationError(
                    f"生产环境的密钥不得写在项目目录的 .env 中，请改用服务的环境变量或 {HMAC_KEY_FILE_ENV}（仓库以外的密钥文件）/ "
                    f"{HMAC_KEY_ENV} comes from {PROJECT_ROOT / '.env'}, inside the project folder: outside development "
                    f"the key must come from the service's environment or {HMAC_KEY_FILE_ENV} (a secrets file outside "
                    "the repository).")
            return _checked_key(key, HMAC_KEY_ENV)
        key_file = os.environ.get(HMAC_KEY_FILE_ENV, "").strip()
        if key_file:
            return _checked_key(self._read_key_file(Path(key_file).expanduser()), HMAC_KEY_FILE_ENV)
        if production:
            raise ConfigurationError(
                f"未配置假名化密钥，拒绝启动：请在服务的环境变量中设置 {HMAC_KEY_ENV}，或将 {HMAC_KEY_FILE_ENV} 设为仓库以外的密钥文件 / "
                f"neither {HMAC_KEY_ENV} nor {HMAC_KEY_FILE_ENV} is set and MONITOR_ENV is not 'development': refusing "
                f"to start. Set {HMAC_KEY_ENV} in the service's environment, or {HMAC_KEY_FILE_ENV} to a secrets file "
                "outside the repository."
            )
        return self._development_key()

    def _refuse_inside_project_or_data(self, path: Path, what: str) -> None:
        for folder, name in ((self.data_dir, "the data directory"), (PROJECT_ROOT, "the project folder")):
            if _is_within(path, folder):
                raise ConfigurationError(
                    f"密钥文件不得放在数据目录或项目目录中 / {what} {path} is inside {name} ({folder}): keep the key "
                    "outside it, e.g. under /etc/shuangqing-monitor/ or ~/.config/shuangqing-monitor/.")

    def _read_key_file(self, path: Path) -> str:
        if not path.is_absolute():
            raise ConfigurationError(f"密钥文件须用绝对路径 / {HMAC_KEY_FILE_ENV}={path}: give an absolute path.")
        self._refuse_inside_project_or_data(path, HMAC_KEY_FILE_ENV)
        try:
            st = path.stat()
            text = path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigurationError(f"无法读取密钥文件 / {HMAC_KEY_FILE_ENV}={path}: cannot read it "
                                     f"({err.strerror}).") from None
        # Anyone who can read the key can re-identify people from their pseudonyms; anyone who can write it
        # breaks the linking across years. The service's own group may read it (0640), nobody else.
        if stat.S_IMODE(st.st_mode) & (stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP):
            raise ConfigurationError(
                f"密钥文件权限过宽，请执行 chmod 600 {path} / {HMAC_KEY_FILE_ENV}={path} has mode "
                f"{stat.S_IMODE(st.st_mode):04o}: other accounts can read or change it.")
        return text

    def _development_key(self) -> bytes:
        key_file = dev_key_file()
        self._refuse_inside_project_or_data(key_file, DEV_KEY_FILE_ENV)
        # The default folder is ours alone and is kept 0700; a folder named by MONITOR_DEV_KEY_FILE may be
        # shared with other things (/tmp), so it is only created (0700) if missing, never chmod-ed.
        own_folder = not os.environ.get(DEV_KEY_FILE_ENV, "").strip()
        legacy = self.data_dir / LEGACY_DEV_KEY_FILE_NAME
        legacy_key = legacy.read_text(encoding="utf-8").strip() if legacy.is_file() else ""
        if not key_file.exists():
            if own_folder or not key_file.parent.exists():
                private_dir(key_file.parent, parents_mode=PRIVATE_DIR)
            # Written aside, then linked into place: two processes starting together (two runs, a run and
            # `cli status`) end up with the same key, never with two, nor one reading a half-written file.
            tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            try:
                os.write(fd, (legacy_key or secrets.token_hex(32)).encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, key_file)
                created = True
            except FileExistsError:
                created = False
            finally:
                tmp.unlink(missing_ok=True)
            if created and legacy_key:
                print(f"已将开发密钥移出数据目录 / moved the development key out of the data directory: {legacy} → "
                      f"{key_file}", file=sys.stderr)
            elif created:
                print(
                    f"警告：未配置假名化密钥，已生成开发用密钥 {key_file}，切勿用于真实数据 / WARNING: no pseudonymisation "
                    f"key is configured; generated a DEVELOPMENT key at {key_file}. Never use it for real data: set "
                    f"{HMAC_KEY_ENV} or {HMAC_KEY_FILE_ENV} in production.",
                    file=sys.stderr,
                )
        if own_folder:
            private(key_file.parent)
        private(key_file)
        key = key_file.read_text(encoding="utf-8").strip()
        if legacy.is_file():
            legacy.unlink(missing_ok=True)  # two runs starting together both get here
            if legacy_key and legacy_key != key:
                print(f"警告：已删除数据目录中的旧开发密钥，{self.work_db.name} 中已有的假名与新加载的数据不一致，请重建"
                      f"（make clean run）/ WARNING: removed an older development key {legacy}; pseudonyms already in "
                      f"{self.work_db.name} were made with it and will not match newly loaded files (rebuild: "
                      "`make clean run`).", file=sys.stderr)
        return _checked_key(key, str(key_file))


# Names `_load_dotenv` set from the project's .env (not from the real environment): a production key
# must not be among them (see Settings.hmac_key).
_FROM_DOTENV: set[str] = set()


def _load_dotenv(env_file: Path | None = None) -> None:
    """Read `.env` at the project root (if any) without overriding variables already set."""
    env_file = env_file or PROJECT_ROOT / ".env"
    if not env_file.exists():
        return
    for line in env_file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if value.strip() and name.strip() not in os.environ:
            os.environ[name.strip()] = value.strip().strip('"').strip("'")
            _FROM_DOTENV.add(name.strip())


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
    shared_dir(settings.data_dir)  # dbt may be the first to open the database
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
