"""One run at a time (dagster_project/run_lock.py), and what the runs leave on disk (permissions.py).

* The lock itself, fast: a second acquire fails while the lock is held and names the holder, succeeds
  after release, waits when asked to, and is free again as soon as the holder process dies.
* A run Dagster launches (sensor, schedule, UI) takes the lock in the job's executor: held elsewhere, the
  run waits, then fails before its first step with the one-line message; free, it runs.
* The run queue admits one run of monitoring_job at a time, CLI runs included.
* End to end: two `cli run` started together on one data directory - one publishes, the other refuses
  with the one-line message naming the first (its run id is the one published), no traceback in
  either; a third started with `--wait` waits and then runs. Afterwards the files the runs created have
  the modes of permissions.py and the development key is outside the data directory.
"""
from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagster_project.config import PROJECT_ROOT
from dagster_project.run_lock import Holder, RunLock, RunLockBusy, current_holder, lock_path
from tests.pipeline_runs import environment, generate_raw, module_workspace

pytestmark = pytest.mark.slow(seconds=210)  # two end-to-end runs and a third that waits

# A process that takes the run lock of a data directory, says so, and holds it until told to let go
# (a line on stdin) or killed.
HOLDER_SCRIPT = """
import sys
from pathlib import Path
from dagster_project.run_lock import Holder, RunLock
lock = RunLock(Path(sys.argv[1]))
lock.acquire(Holder.this_process(sys.argv[2], "test holder"))
print("held", flush=True)
sys.stdin.readline()
lock.release()
print("released", flush=True)
sys.stdin.readline()
"""


class HeldElsewhere:
    """The run lock of `data_dir`, held by another process."""

    def __init__(self, data_dir: Path, run_id: str = "run-held-elsewhere"):
        self.run_id = run_id
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER_SCRIPT, str(data_dir), run_id], cwd=PROJECT_ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "released"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()


@pytest.fixture
def held(tmp_path):
    holders = []

    def hold(run_id: str = "run-held-elsewhere") -> HeldElsewhere:
        holders.append(HeldElsewhere(tmp_path / "warehouse", run_id))
        return holders[-1]

    yield hold
    for holder in holders:
        holder.close()


def me(run_id: str = "run-of-this-test") -> Holder:
    return Holder.this_process(run_id, "cli")


# --------------------------------------------------------------------------- the lock itself

def test_a_second_acquire_fails_while_the_lock_is_held_and_succeeds_after_release(tmp_path, held):
    data_dir = tmp_path / "warehouse"
    other = held("run-1234")
    with pytest.raises(RunLockBusy) as busy:
        RunLock(data_dir).acquire(me(), wait_seconds=0)
    assert busy.value.holder.run_id == "run-1234" and busy.value.holder.pid == other.proc.pid
    message = str(busy.value)
    assert "\n" not in message
    assert message.startswith("另一次运行正在进行") and " / another run is in progress" in message
    assert f"进程 {other.proc.pid}@" in message and "run-1234" in message and "test holder" in message
    assert current_holder(data_dir).run_id == "run-1234"  # what `cli status` shows

    other.release()
    assert current_holder(data_dir) is None
    lock = RunLock(data_dir)
    lock.acquire(me("run-5678"))
    assert current_holder(data_dir).run_id == "run-5678"
    lock.release()
    assert lock_path(data_dir).read_text(encoding="utf-8") == ""  # a finished run is not described as running


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_lock_is_free_as_soon_as_its_holder_dies(tmp_path, held, sig):
    data_dir = tmp_path / "warehouse"
    other = held()
    with pytest.raises(RunLockBusy):
        RunLock(data_dir).acquire(me())
    os.kill(other.proc.pid, sig)
    other.proc.wait(timeout=30)
    # no stale lock: nothing to clean up, the next run takes it at once
    assert current_holder(data_dir) is None  # its description outlives it, but names a dead process
    lock = RunLock(data_dir)
    lock.acquire(me(), wait_seconds=0)
    lock.release()


def test_a_waiting_acquire_says_whom_it_waits_for_and_takes_the_lock_when_it_is_released(tmp_path, held):
    data_dir = tmp_path / "warehouse"
    other = held("run-long")
    told = []
    started = time.monotonic()
    with pytest.raises(RunLockBusy) as busy:
        RunLock(data_dir).acquire(me(), wait_seconds=1.0, on_wait=told.append)
    assert time.monotonic() - started >= 1.0
    assert [h.run_id for h in told] == ["run-long"]
    assert re.search(r"已等待 \d+ 秒.* after waiting \d+ s", str(busy.value))

    import threading

    threading.Timer(1.0, other.release).start()
    lock = RunLock(data_dir)
    started = time.monotonic()
    lock.acquire(me(), wait_seconds=60)
    assert 0.8 <= time.monotonic() - started < 30
    lock.release()


def test_a_process_that_holds_the_lock_may_take_it_again_and_keeps_it_until_the_last_release(tmp_path):
    data_dir = tmp_path / "warehouse"
    outer = RunLock(data_dir)
    outer.acquire(me("run-outer"))
    inner = RunLock(data_dir)  # e.g. the executor of a run started from a process that holds the lock
    inner.acquire(me("run-inner"))
    inner.release()
    probe = [sys.executable, "-c", "import sys; from pathlib import Path; from dagster_project.run_lock import "
             "Holder, RunLock, RunLockBusy\ntry:\n RunLock(Path(sys.argv[1])).acquire(Holder.this_process('p', 'x'))"
             "\nexcept RunLockBusy as e:\n print(e.holder.run_id)\nelse:\n print('free')", str(data_dir)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    assert subprocess.run(probe, capture_output=True, text=True, env=env).stdout.strip() == "run-outer"
    outer.release()
    assert subprocess.run(probe, capture_output=True, text=True, env=env).stdout.strip() == "free"


# --------------------------------------------------------------------------- runs Dagster launches

def _monitoring_job():
    from dagster_project.definitions import defs

    return defs.resolve_job_def("monitoring_job")


def test_a_run_dagster_launches_waits_for_the_lock_then_fails_before_any_step(workspace, monkeypatch):
    """What a sensor, schedule or UI run does when a `cli run` holds the lock: the job's own executor (not
    `execute_in_process`, which replaces it) runs, as in Dagster's run worker."""
    from dagster import AssetKey, DagsterInstance, execute_job, reconstructable

    from dagster_project.lib.dagster_instance import ensure_dagster_home

    monkeypatch.setenv("MONITOR_RUN_LOCK_WAIT_SECONDS", "1")
    ensure_dagster_home()
    other = HeldElsewhere(workspace["warehouse"], "run-of-the-cli")
    try:
        with DagsterInstance.get() as instance:
            job = reconstructable(_monitoring_job)
            started = time.monotonic()
            result = execute_job(job, instance, asset_selection=[AssetKey(["raw", "file_inventory"])],
                                 tags={"dagster/sensor_name": "raw_file_sensor"})
            assert time.monotonic() - started >= 1.0
            assert not result.success
            events = instance.all_logs(result.run_id)
            kinds = [e.dagster_event.event_type_value for e in events if e.dagster_event]
            assert "STEP_START" not in kinds  # nothing ran
            assert any(e.message.startswith("等待运行 run-of-the-cli（") and "waiting up to 1 s for run run-of-the-cli" in e.message
                       for e in events)
            failure = next(e.dagster_event for e in events if e.dagster_event and e.dagster_event.is_run_failure)
            error = failure.event_specific_data.error
            assert error.cls_name == "RunLockBusy" and "run-of-the-cli" in error.message
            assert "\n" not in error.message.strip()

            other.release()
            result = execute_job(job, instance, asset_selection=[AssetKey(["raw", "file_inventory"])])
            assert result.success
            assert any("run lock taken" in e.message for e in instance.all_logs(result.run_id))
            assert current_holder(workspace["warehouse"]) is None  # released at the end of the run
    finally:
        other.close()


# A run worker as Dagster starts one (`dagster api execute_run` maps SIGTERM to SIGINT, then runs the job's
# own executor), running raw/file_inventory of monitoring_job.
RUN_WORKER = """
from dagster import AssetKey, DagsterInstance, execute_job, reconstructable
from dagster._utils.interrupts import setup_interrupt_handlers
from tests.test_run_lock import _monitoring_job
setup_interrupt_handlers()
with DagsterInstance.get() as instance:
    result = execute_job(reconstructable(_monitoring_job), instance,
                         asset_selection=[AssetKey(["raw", "file_inventory"])])
    print("run", result.run_id, instance.get_run_by_id(result.run_id).status.value, flush=True)
"""


def test_a_run_waiting_for_the_lock_can_be_terminated_at_once(workspace):
    """Termination from the UI reaches the run worker as SIGTERM; Dagster defers interrupts outside step
    code, so without care the run would only stop when its wait (an hour by default) is over."""
    from dagster_project.lib.dagster_instance import ensure_dagster_home

    ensure_dagster_home()
    other = HeldElsewhere(workspace["warehouse"])
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MONITOR_RUN_LOCK_WAIT_SECONDS": "300"}
    worker = subprocess.Popen([sys.executable, "-c", RUN_WORKER], cwd=PROJECT_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _waiting_runs():
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.5)
        assert _waiting_runs(), "the run never started waiting for the lock"
        worker.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        out, err = worker.communicate(timeout=120)
        assert time.monotonic() - stopped < 30, "the run kept waiting after SIGTERM"
        [(run_id, status)] = [line.split()[1:] for line in out.splitlines() if line.startswith("run ")]
        assert status in ("FAILURE", "CANCELED")
        assert other.proc.poll() is None and current_holder(workspace["warehouse"]).run_id == other.run_id
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=60)
        other.close()


def _waiting_runs() -> list[str]:
    """Runs of the current instance that logged that they wait for the run lock."""
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        return [r.run_id for r in instance.get_runs()
                if any("waiting up to" in (e.message or "") for e in instance.all_logs(r.run_id))]


def test_the_run_queue_admits_one_run_of_the_job_at_a_time(workspace):
    from dagster import DagsterInstance, DagsterRun
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    from dagster_project.lib.dagster_instance import RUN_LOCK_TAG, ensure_dagster_home

    ensure_dagster_home()
    job = _monitoring_job()
    assert job.executor_def.name == "in_process"  # the launchpad's `execution: in_process:` config still applies
    with DagsterInstance.get() as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": RUN_LOCK_TAG, "value": job.run_tags[RUN_LOCK_TAG], "limit": 1} in limits

    def run_of(**tags):
        return DagsterRun(job_name="monitoring_job", tags={**job.run_tags, **tags})

    in_progress = run_of(**{"monitor/trigger": "cli"})
    queued = run_of(**{"dagster/sensor_name": "raw_file_sensor"})
    assert TagConcurrencyLimitsCounter(limits, [in_progress]).is_blocked(queued)
    assert not TagConcurrencyLimitsCounter(limits, []).is_blocked(queued)


# --------------------------------------------------------------------------- end to end: two CLI runs

@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two `cli run` started together, then a third with --wait while the winner still runs."""
    for ws in module_workspace(tmp_path_factory, "run_lock"):
        generate_raw(ws["raw"])
        root = ws["raw"].parent
        # No key configured: development generates one, outside the data directory; one left in the data
        # directory by an earlier version (mode 0644, as it was) is moved out.
        legacy = ws["warehouse"] / ".dev_hmac_key"
        legacy.write_text("legacy-development-key-0123456789abcdef", encoding="utf-8")
        legacy.chmod(0o644)
        # Files an earlier version left open to everyone (a umask does not change existing files): the
        # working database, Dagster's home and a file in it.
        import duckdb

        duckdb.connect(str(ws["warehouse"] / "work.duckdb")).close()
        (ws["warehouse"] / "work.duckdb").chmod(0o644)
        ws["warehouse"].chmod(0o755)
        (root / "dagster_home").chmod(0o755)
        (root / "dagster_home" / "notes.txt").write_text("left by an operator\n", encoding="utf-8")
        (root / "dagster_home" / "notes.txt").chmod(0o644)
        env = {**environment(ws), "XDG_CONFIG_HOME": str(root / "config")}
        env.pop("MONITOR_HMAC_KEY")

        def start(*args: str, env: dict = env) -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-m", "dagster_project.cli", "run", *args], cwd=PROJECT_ROOT,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        first, second = start(), start()
        # The loser exits at once; while the winner still runs, a third waits for it, then runs.
        deadline = time.monotonic() + 120
        while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert first.poll() is not None or second.poll() is not None, "neither run refused within 2 minutes"
        winner, loser = (second, first) if first.poll() is not None else (first, second)
        assert winner.poll() is None, "the winner ended before the loser: the runs did not overlap"
        third = start("--wait", "1200")
        procs = {"winner": winner, "loser": loser, "third": third}
        outputs = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=1500)
            outputs[name] = {"returncode": proc.returncode, "stdout": out, "stderr": err, "pid": proc.pid}
        (root / "outputs.json").write_text(json.dumps(outputs, ensure_ascii=False, indent=1), encoding="utf-8")
        yield {**ws, "root": root, "runs": outputs, "config": root / "config", "dagster_home": root / "dagster_home"}


def _dev_key_warning(line: str) -> bool:
    return line.startswith("警告：未配置假名化密钥") or line.startswith("已将开发密钥移出数据目录")


def test_of_two_runs_started_together_one_publishes_and_the_other_refuses_in_one_line(two_runs):
    from dagster_project.cli import EXIT_BUSY
    from dagster_project.publish import open_published_readonly

    runs = two_runs["runs"]
    winner, loser = runs["winner"], runs["loser"]
    assert winner["returncode"] == 0, winner["stderr"][-3000:]
    assert loser["returncode"] == EXIT_BUSY, loser["stdout"] + loser["stderr"]
    for run in runs.values():
        assert "Traceback" not in run["stdout"] + run["stderr"]
    said = [line for line in (loser["stdout"] + loser["stderr"]).splitlines() if line and not _dev_key_warning(line)]
    assert len(said) == 1, said
    [message] = said
    assert message.startswith("另一次运行正在进行：运行 ") and "/ another run is in progress: run " in message
    assert f"进程 {winner['pid']}@" in message and "cli 启动" in message and "开始于 " in message
    named_run = message.split("另一次运行正在进行：运行 ", 1)[1].split("（", 1)[0]

    # the published database is whole (the last publication is the third run's, see the next test)
    con = open_published_readonly(two_runs["warehouse"] / "monitoring.duckdb")
    try:
        [(published_run,)] = con.execute("SELECT run_id FROM meta.publication").fetchall()
        values = con.execute("SELECT count(*) FROM marts.fct_indicator_values").fetchone()[0]
        marts = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts'").fetchone()[0]
    finally:
        con.close()
    assert values > 0 and marts > 10

    from dagster import DagsterInstance, DagsterRunStatus

    from dagster_project.defs.automation.run_recovery import PID_TAG

    os.environ["DAGSTER_HOME"] = str(two_runs["dagster_home"])
    with DagsterInstance.get() as instance:
        recorded = {r.run_id: r for r in instance.get_runs()}
    # the refused run never reached Dagster: two runs, both successful - the one the message named, run by
    # the winner's process, and the third's, which published last
    assert set(recorded) == {named_run, published_run} and named_run != published_run
    assert recorded[named_run].tags[PID_TAG] == str(winner["pid"])
    assert {r.status for r in recorded.values()} == {DagsterRunStatus.SUCCESS}
    assert all(r.tags.get("monitor/run_lock") == "warehouse" for r in recorded.values())  # counted by the queue


def test_a_run_started_with_wait_waits_for_the_run_in_progress_then_runs(two_runs):
    third = two_runs["runs"]["third"]
    assert third["returncode"] == 0, third["stderr"][-3000:]
    said = [line for line in third["stderr"].splitlines() if line.startswith("等待")]
    assert len(said) == 1 and "/ waiting up to 1200 s for run " in said[0], said
    assert "完成 / done in" in third["stdout"]
    # it ran after the winner: the publication is its own
    from dagster_project.publish import read_publication

    publication = read_publication(two_runs["warehouse"] / "monitoring.duckdb")
    winner_run = said[0].split("等待运行 ", 1)[1].split("（", 1)[0]
    assert publication["run_id"] not in ("", winner_run)
    assert f"(publication {publication['publication_id']})" in third["stdout"]


# --------------------------------------------------------------------------- what the runs left on disk

def _modes(root: Path) -> dict[Path, int]:
    found = {root: stat.S_IMODE(root.lstat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if not path.is_symlink():
                found[path] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_person_level_data_keys_and_dagster_storage_are_private_and_exports_are_for_the_analysts_group(two_runs):
    data_dir = two_runs["warehouse"]
    work_db, published = data_dir / "work.duckdb", data_dir / "monitoring.duckdb"
    assert stat.S_IMODE(work_db.stat().st_mode) == 0o600
    assert stat.S_IMODE(published.stat().st_mode) == 0o440  # the analysts' group reads it; nobody writes it
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o750  # analysts traverse it to the published database
    # everything else in the data directory - dbt's target, the lock, spill files - is the pipeline's alone
    others = {p: m for p, m in _modes(data_dir).items() if p not in (data_dir, published)}
    assert work_db in others and data_dir / "dbt_target" in others and data_dir / ".run.lock" in others
    assert {p: oct(m) for p, m in others.items() if m & 0o077} == {}
    assert {oct(m) for p, m in others.items() if p.is_dir()} == {"0o700"}
    assert {oct(m) for p, m in others.items() if p.is_file()} == {"0o600"}

    home = _modes(two_runs["dagster_home"])
    assert len(home) > 5 and two_runs["dagster_home"] / "notes.txt" in home  # the file left open was closed
    assert {oct(m) for p, m in home.items() if p.is_dir()} == {"0o700"}
    assert {oct(m) for p, m in home.items() if p.is_file()} == {"0o600"}

    exports = _modes(two_runs["exports"])
    assert len(exports) > 20
    assert {oct(m) for p, m in exports.items() if p.is_dir()} == {"0o750"}
    assert {oct(m) for p, m in exports.items() if p.is_file()} == {"0o640"}


def test_the_development_key_lives_outside_the_data_directory(two_runs):
    from dagster_project.config import DEV_KEY_DEFAULT

    key = two_runs["config"] / DEV_KEY_DEFAULT
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert not key.resolve().is_relative_to(two_runs["warehouse"].resolve())
    assert not (two_runs["warehouse"] / ".dev_hmac_key").exists()
    # the earlier version's key was moved, not replaced: pseudonyms already made with it still link
    assert key.read_text(encoding="utf-8") == "legacy-development-key-0123456789abcdef"
    said = "".join(r["stderr"] for r in two_runs["runs"].values())
    assert said.count("已将开发密钥移出数据目录") == 1 and "已生成开发用密钥" not in said
