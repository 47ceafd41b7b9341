"""Least privilege on disk (dagster_project/permissions.py) and where the pseudonymisation key comes from
(config.Settings.hmac_key). Fast: no pipeline run (tests/test_run_lock.py checks the modes after real runs).
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project import config
from dagster_project.config import PROJECT_ROOT, ConfigurationError, get_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def no_key(workspace, tmp_path, monkeypatch):
    """No key configured; development keys go under a private XDG_CONFIG_HOME of this test."""
    monkeypatch.delenv("MONITOR_HMAC_KEY", raising=False)
    monkeypatch.delenv("MONITOR_HMAC_KEY_FILE", raising=False)
    monkeypatch.delenv("MONITOR_DEV_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(config, "_FROM_DOTENV", set())
    return tmp_path / "config" / config.DEV_KEY_DEFAULT


# --------------------------------------------------------------------------- the development key

def test_the_development_key_is_generated_once_outside_the_data_directory_and_private(workspace, no_key, capsys):
    key = get_settings().hmac_key()
    assert no_key.read_text(encoding="utf-8").encode() == key and len(key) == 64
    assert mode(no_key) == 0o600 and mode(no_key.parent) == 0o700
    assert "已生成开发用密钥" in capsys.readouterr().err
    assert not list(workspace["warehouse"].iterdir())  # nothing about the key in the data directory
    assert get_settings().hmac_key() == key  # the same key next time, without a new warning
    assert capsys.readouterr().err == ""
    no_key.chmod(0o644)  # loosened by hand: closed again
    get_settings().hmac_key()
    assert mode(no_key) == 0o600


def test_processes_starting_together_get_one_development_key(workspace, no_key):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    script = "from dagster_project.config import get_settings; print(get_settings().hmac_key().decode())"
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    keys = {proc.communicate(timeout=120)[0].strip() for proc in procs}
    assert keys == {no_key.read_text(encoding="utf-8")}
    assert [p.name for p in no_key.parent.iterdir()] == [no_key.name]  # no temporary file left behind


def test_a_development_key_left_in_the_data_directory_is_moved_out(workspace, no_key, capsys):
    legacy = workspace["warehouse"] / config.LEGACY_DEV_KEY_FILE_NAME
    legacy.write_text("an-older-development-key-0123456789", encoding="utf-8")
    assert get_settings().hmac_key() == b"an-older-development-key-0123456789"  # pseudonyms still link
    assert not legacy.exists() and mode(no_key) == 0o600
    assert "已将开发密钥移出数据目录" in capsys.readouterr().err


def test_a_development_key_file_may_be_named_but_not_inside_the_data_or_project_directory(workspace, no_key,
                                                                                         tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("MONITOR_DEV_KEY_FILE", str(shared / "dev.key"))
    get_settings().hmac_key()
    assert mode(shared / "dev.key") == 0o600
    assert mode(shared) == 0o755  # a folder we did not make is not chmod-ed (it could be /tmp)
    for inside in (workspace["warehouse"] / "dev.key", PROJECT_ROOT / "dev.key"):
        monkeypatch.setenv("MONITOR_DEV_KEY_FILE", str(inside))
        with pytest.raises(ConfigurationError, match="密钥文件不得放在数据目录或项目目录中"):
            get_settings().hmac_key()
        assert not inside.exists()


# --------------------------------------------------------------------------- production keys

def test_production_takes_the_key_from_the_environment_or_a_secrets_file_outside_the_repository(
        workspace, no_key, tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_ENV", "production")
    with pytest.raises(ConfigurationError, match="未配置假名化密钥，拒绝启动"):
        get_settings().hmac_key()
    assert not no_key.exists()  # production never generates one

    monkeypatch.setenv("MONITOR_HMAC_KEY", "a-production-key-from-the-environment")
    assert get_settings().hmac_key() == b"a-production-key-from-the-environment"
    monkeypatch.delenv("MONITOR_HMAC_KEY")

    secrets_dir = tmp_path / "etc"
    secrets_dir.mkdir()
    key_file = secrets_dir / "hmac.key"
    key_file.write_text("a-production-key-from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("MONITOR_HMAC_KEY_FILE", str(key_file))
    for loose in (0o644, 0o660, 0o604):
        key_file.chmod(loose)
        with pytest.raises(ConfigurationError, match="密钥文件权限过宽"):
            get_settings().hmac_key()
    for tight in (0o600, 0o640, 0o400):
        key_file.chmod(tight)
        assert get_settings().hmac_key() == b"a-production-key-from-a-file"

    for inside in (workspace["warehouse"] / "hmac.key", PROJECT_ROOT / "dbt" / "hmac.key"):
        monkeypatch.setenv("MONITOR_HMAC_KEY_FILE", str(inside))
        with pytest.raises(ConfigurationError, match="密钥文件不得放在数据目录或项目目录中"):
            get_settings().hmac_key()
    monkeypatch.setenv("MONITOR_HMAC_KEY_FILE", "etc/hmac.key")
    with pytest.raises(ConfigurationError, match="绝对路径"):
        get_settings().hmac_key()
    monkeypatch.setenv("MONITOR_HMAC_KEY_FILE", str(secrets_dir / "missing.key"))
    with pytest.raises(ConfigurationError, match="无法读取密钥文件"):
        get_settings().hmac_key()


def test_production_refuses_a_key_written_in_the_projects_env_file(workspace, no_key, tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("MONITOR_HMAC_KEY=a-key-in-the-project-folder-0123\n", encoding="utf-8")
    config._load_dotenv(env_file)  # sets MONITOR_HMAC_KEY; the fixture's monkeypatch restores it afterwards
    assert get_settings().hmac_key() == b"a-key-in-the-project-folder-0123"  # development: a convenience
    monkeypatch.setenv("MONITOR_ENV", "production")
    with pytest.raises(ConfigurationError, match="生产环境的密钥不得写在项目目录的 .env 中"):
        get_settings().hmac_key()


def test_the_cli_reports_a_refused_key_in_one_line_without_a_traceback(workspace, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MONITOR_ENV": "production",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("MONITOR_HMAC_KEY")
    proc = subprocess.run([sys.executable, "-m", "dagster_project.cli", "run"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("配置错误 / configuration error: 未配置假名化密钥")


# --------------------------------------------------------------------------- the helpers

def test_the_working_database_is_made_private_when_opened_for_writing(tmp_path):
    import duckdb

    from dagster_project import database

    path = tmp_path / "work.duckdb"
    duckdb.connect(str(path)).close()
    path.chmod(0o644)  # created before the rule, or by another tool
    database.connect(path, read_only=True).close()
    assert mode(path) == 0o644  # reading changes nothing
    database.connect(path).close()
    assert mode(path) == 0o600


def test_share_opens_exports_to_the_group_only_and_keeps_the_set_group_id_bit(tmp_path):
    from dagster_project.permissions import private_tree, share

    exports = tmp_path / "exports"
    (exports / "feedback").mkdir(parents=True)
    (exports / "feedback" / "a.xlsx").write_bytes(b"x")
    (exports / "feedback" / "a.xlsx").chmod(0o600)
    (exports / "feedback").chmod(0o700)
    exports.chmod(0o2700)  # an administrator's chmod g+s, so new files get the analysts' group
    elsewhere = tmp_path / "private.txt"
    elsewhere.write_text("not an export", encoding="utf-8")
    elsewhere.chmod(0o600)
    (exports / "a_link").symlink_to(elsewhere)
    share(exports)
    assert mode(exports) == 0o2750 and mode(exports / "feedback") == 0o750
    assert mode(exports / "feedback" / "a.xlsx") == 0o640
    assert mode(elsewhere) == 0o600  # a link is never followed: what it points at is not an export

    private_tree(exports)
    assert mode(exports / "feedback") == 0o700 and mode(exports / "feedback" / "a.xlsx") == 0o600
    assert mode(exports) == 0o700  # private drops the set-group-ID bit: nothing there is for the group


def test_dagster_event_log_files_are_private_whichever_process_creates_them(tmp_path):
    """`dagster job launch` run from an ordinary shell (umask 022) writes the first event of the run it queues."""
    from dagster_project.event_log_storage import PooledSqliteEventLogStorage

    previous = os.umask(0o022)
    try:
        storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
        try:
            with storage._connect("some-run"):
                pass
        finally:
            storage.dispose()
    finally:
        os.umask(previous)
    assert mode(tmp_path / "runs" / "some-run.db") == 0o600 and mode(tmp_path / "runs" / "index.db") == 0o600
