"""One pipeline run at a time, whoever starts it: an exclusive OS lock on `$MONITOR_DATA_DIR/.run.lock`.

Why an OS lock (`fcntl.flock`) and not a marker file or a database row: the kernel drops the lock when the
holding process ends, however it ends - finished, crashed, SIGTERM, SIGKILL, power cut - so a lock can
never be left stale and nothing has to decide whether an old marker still means something. The lock is
on an open file description that is not inherited by subprocesses (Python opens files close-on-exec, and
dbt's subprocesses are started with close_fds), so a child that outlives its run cannot keep it.

Who takes it:
  * `cli run` before it touches anything (`dagster_project.cli`), waiting `--wait` seconds at most;
  * every run Dagster launches itself (sensor, schedule, backfill, the UI's launchpad), in the job's
    executor (`defs/automation/executor.py`), before the first step. Dagster's run queue
    (one run of this job at a time, see `lib/dagster_instance.DAGSTER_INSTANCE_SETTINGS`) already keeps those
    apart; the lock also keeps them apart from `cli run`, which does not go through the queue.

The file holds a one-line description of the holder (run id, start time, pid, host, how it was launched)
so that whoever finds the lock taken can say which run is in progress. It is written after the lock is
taken and emptied before it is released.

A process that holds the lock may take it again (nested `acquire`s are counted): a run started from
within a process that already holds it is the same run's work, not a second run.

The lock works on local disks (flock on NFS is emulated with byte-range locks and is not reliable on old
servers); the data directory holds DuckDB files, which need a local disk anyway.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from dagster_project.permissions import PRIVATE_FILE, shared_dir

LOCK_FILE_NAME = ".run.lock"
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Holder:
    """Who holds the run lock."""

    run_id: str
    started_at: str  # local time, ISO 8601 to the second
    pid: int
    host: str
    launched_by: str  # "cli", "raw_file_sensor", "annual_schedule", "backfill", "Dagster UI", ...

    @classmethod
    def this_process(cls, run_id: str, launched_by: str) -> Holder:
        return cls(run_id=run_id, started_at=dt.datetime.now().replace(microsecond=0).isoformat(),
                   pid=os.getpid(), host=socket.gethostname(), launched_by=launched_by)

    def describe_zh(self) -> str:
        return f"运行 {self.run_id}（{self.launched_by} 启动，进程 {self.pid}@{self.host}，开始于 {self.started_at}）"

    def describe_en(self) -> str:
        return (f"run {self.run_id} (launched by {self.launched_by}, pid {self.pid} on {self.host}, "
                f"started {self.started_at})")


class RunLockBusy(RuntimeError):
    """Another run holds the lock; `str()` is the one-line message for the person who started this one."""

    def __init__(self, holder: Holder | None, waited: float):
        self.holder = holder
        self.waited = waited
        super().__init__(self.message())

    def message(self) -> str:
        zh = self.holder.describe_zh() if self.holder else "另一次运行（信息未能读取）"
        en = self.holder.describe_en() if self.holder else "another run (its details could not be read)"
        waited_zh = f"已等待 {self.waited:.0f} 秒，" if self.waited else ""
        waited_en = f" after waiting {self.waited:.0f} s" if self.waited else ""
        return (f"另一次运行正在进行：{zh}；{waited_zh}本次未启动，请待其结束后重试 / another run is in progress: {en}; "
                f"this one did not start{waited_en}. Retry when it has finished, or wait for it with --wait SECONDS.")


@dataclass
class _Held:
    fd: int
    depth: int
    holder: Holder


# Locks this process holds, by lock file: a second acquire in the same process nests instead of
# deadlocking on itself (flock locks of two open file descriptions exclude each other, even in one process).
_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_FILE_NAME


def _read_holder(path: Path, attempts: int = 10) -> Holder | None:
    """The holder's description, or None if it cannot be read (being written, or from a dead process)."""
    for attempt in range(attempts):
        try:
            text = path.read_text(encoding="utf-8").strip()
            if text:
                holder = Holder(**json.loads(text))
                if holder.host != socket.gethostname() or _alive(holder.pid):
                    return holder
        except (OSError, ValueError, TypeError):
            pass
        if attempt + 1 < attempts:
            time.sleep(0.05)  # the holder takes the lock, then writes its line: give it a moment
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class RunLock:
    """The run lock of one data directory. Use as `with RunLock(dir).hold(holder, wait_seconds): ...`."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = lock_path(self.data_dir)
        self._key = str(self.path.resolve())  # one key per file, however the data directory is spelt

    def held_here(self) -> bool:
        with _held_guard:
            return self._key in _held

    def acquire(self, holder: Holder, wait_seconds: float = 0.0, on_wait=None) -> None:
        """Take the lock, waiting at most `wait_seconds`; raise RunLockBusy naming the holder if it stays taken.

        `on_wait(current_holder)` is called once, when the lock is found taken and we are about to wait.
        """
        with _held_guard:
            held = _held.get(self._key)
            if held is not None:
                held.depth += 1
                return
        shared_dir(self.data_dir)  # analysts traverse it to the published database (permissions.py)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        try:
            os.fchmod(fd, PRIVATE_FILE)  # a lock file from before the umask rule: it names runs and hosts
            started = time.monotonic()
            deadline = started + max(0.0, wait_seconds)
            told = False
            while not _try_lock(fd):
                now = time.monotonic()
                if now >= deadline:
                    raise RunLockBusy(_read_holder(self.path), now - started if wait_seconds > 0 else 0.0)
                if not told and on_wait is not None:
                    on_wait(_read_holder(self.path))
                    told = True
                time.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))
            line = json.dumps(asdict(holder), ensure_ascii=False).encode("utf-8")
            os.ftruncate(fd, 0)
            os.pwrite(fd, line + b"\n", 0)
        except BaseException:
            os.close(fd)  # closing drops the lock if we had it
            raise
        with _held_guard:
            _held[self._key] = _Held(fd=fd, depth=1, holder=holder)

    def release(self) -> None:
        with _held_guard:
            held = _held.get(self._key)
            if held is None:
                return
            held.depth -= 1
            if held.depth > 0:
                return
            del _held[self._key]
        try:
            os.ftruncate(held.fd, 0)  # nobody should read a finished run as the one in progress
        finally:
            os.close(held.fd)  # drops the lock

    @contextmanager
    def hold(self, holder: Holder, wait_seconds: float = 0.0, on_wait=None) -> Iterator[RunLock]:
        self.acquire(holder, wait_seconds, on_wait)
        try:
            yield self
        finally:
            self.release()  # any way the run ends: success, failure, KeyboardInterrupt (SIGINT, SIGTERM)


def current_holder(data_dir: Path) -> Holder | None:
    """The run in progress on `data_dir` (for `cli status`), or None.

    Read from the lock file's description, whose process must still exist; the lock itself is not tried,
    since holding it even for a moment could make a run starting at that moment refuse to start.
    """
    path = lock_path(Path(data_dir))
    with _held_guard:
        if str(path.resolve()) in _held:
            return _held[str(path.resolve())].holder
    return _read_holder(path, attempts=1)
