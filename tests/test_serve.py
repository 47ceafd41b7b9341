"""`make serve` (`cli serve`): the Dagster daemon and UI run unattended, the sensor and schedule are on by default,
and SIGTERM stops everything - also when started the way a background job or nohup starts it (SIGINT ignored).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dagster_project.config import PROJECT_ROOT

pytestmark = pytest.mark.slow(seconds=90)

LOCATION = "dagster_project.definitions"
STARTUP_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _instigator_status(port: int, kind: str, name: str) -> str:
    selector = f'{{repositoryLocationName: "{LOCATION}", repositoryName: "__repository__", {kind}Name: "{name}"}}'
    data = _graphql(port, f"{{ {kind}OrError({kind}Selector: {selector}) {{ __typename "
                          f"... on {kind.capitalize()} {{ {kind}State {{ status }} }} }} }}")
    return data[f"{kind}OrError"][f"{kind}State"]["status"]


def _daemons(port: int) -> dict[str, bool]:
    data = _graphql(port, "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }")
    return {d["daemonType"]: bool(d["healthy"]) for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]
            if d["required"]}


def _processes_with(home: Path) -> list[int]:
    """Pids of live processes whose environment names this Dagster home (the services and whatever they started)."""
    marker = f"DAGSTER_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _ignore_sigint() -> None:  # what nohup / a shell's background job leave a process with
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setsid()


def test_serve_runs_daemon_and_ui_with_automation_on_and_stops_cleanly_on_sigterm(workspace, tmp_path):
    port = _free_port()
    home = tmp_path / "dagster_home"
    log = (tmp_path / "serve.log").open("w+b")
    proc = subprocess.Popen([sys.executable, "-m", "dagster_project.cli", "serve", "--port", str(port)],
                            cwd=PROJECT_ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=_ignore_sigint)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        daemons: dict[str, bool] = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, Path(log.name).read_text(errors="replace")[-3000:]
            try:
                daemons = _daemons(port)
                if daemons and all(daemons.values()):
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(2)
        assert daemons and all(daemons.values()), (daemons, Path(log.name).read_text(errors="replace")[-3000:])
        assert {"SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR"} <= set(daemons)
        # nobody switched them on: they are on by default
        assert _instigator_status(port, "sensor", "raw_file_sensor") == "RUNNING"
        assert _instigator_status(port, "schedule", "annual_monitoring_schedule") == "RUNNING"
        assert _instigator_status(port, "sensor", "run_failure_alert") == "RUNNING"
        assert _processes_with(home), "the services run with the warehouse's Dagster home"
        started = Path(log.name).read_text(errors="replace")
        assert "已启动" in started and f"http://127.0.0.1:{port}" in started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        time.sleep(1)
        survivors = _processes_with(home)
        for pid in survivors:  # never leave a server behind, whatever the test found
            os.kill(pid, signal.SIGKILL)
    output = Path(log.name).read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "已停止 / stopped" in output and "Traceback" not in output
    assert survivors == [], "no process of the services outlives SIGTERM"
