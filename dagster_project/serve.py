"""Unattended operation: the Dagster webserver and the Dagster daemon, supervised together (`make serve`).

The daemon is what runs the file-drop sensor, the annual schedule, the failure alerts and the run queue; both are on
by default (defs/automation). `dagster dev` does the same for a developer but is a terminal toy (one process tree
that dies with the terminal, a temporary instance when DAGSTER_HOME is unset); on a district server the two
processes run under a service manager (docs/deploy/), and this supervisor is what that manager starts:

* both children get the warehouse's Dagster home (`ensure_dagster_home`: one run at a time, private storage) and
  the project root on PYTHONPATH (the instance's event log class lives in this project);
* their signal dispositions are reset to the defaults: started from `nohup` or a background job, a child would
  inherit an ignored SIGINT, and Dagster maps SIGTERM to the SIGINT handler, so it could never be stopped;
* SIGTERM/SIGINT to the supervisor stop both children (then SIGKILL after a grace period); if either child ends
  on its own, the other is stopped and the supervisor exits non-zero, so that the service manager restarts the pair
  instead of leaving a webserver without a daemon (a UI that shows schedules which never fire).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import PROJECT_ROOT

DEFAULT_HOST = "127.0.0.1"  # the district server's own users only; a reverse proxy (or MONITOR_UI_HOST) opens it up
DEFAULT_PORT = 3000
STOP_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def services(host: str, port: int) -> list[Service]:
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    return [
        Service("dagster-daemon", [_bin("dagster-daemon"), "run", "-w", workspace]),
        Service("dagster-webserver", [_bin("dagster-webserver"), "-w", workspace, "-h", host, "-p", str(port)]),
    ]


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _reset_signals() -> None:  # runs in the child between fork and exec
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    os.setpgrp()  # its own process group: stopping it stops whatever it started (code servers, run workers)


def _stop(procs: dict[str, subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs.values():
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group: a code server left behind by a killed parent too
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def serve(host: str | None = None, port: int | None = None) -> int:
    """Start the daemon and the webserver; return when both have stopped (0 after SIGTERM/SIGINT, 1 otherwise)."""
    from dagster_project.lib.dagster_instance import ensure_dagster_home
    from dagster_project.permissions import restrict_umask

    restrict_umask()  # Dagster's storage (run history, schedules, logs) is private like the pipeline's
    host = host or os.environ.get("MONITOR_UI_HOST", "").strip() or DEFAULT_HOST
    port = port or int(os.environ.get("MONITOR_UI_PORT", "").strip() or DEFAULT_PORT)
    home = ensure_dagster_home()
    env = _child_env(home)
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    procs: dict[str, subprocess.Popen] = {}
    for service in services(host, port):
        procs[service.name] = subprocess.Popen(service.argv, cwd=PROJECT_ROOT, env=env, preexec_fn=_reset_signals)
    print(f"已启动：Dagster 守护进程（文件监听、年度定时任务、失败告警、运行队列）与界面 http://{host}:{port} ；"
          f"Dagster 目录 {home}。停止：Ctrl-C 或 SIGTERM。\n"
          f"started: the Dagster daemon (file-drop sensor, annual schedule, failure alerts, run queue) and the UI on "
          f"http://{host}:{port}; Dagster home {home}. Stop with Ctrl-C or SIGTERM.", flush=True)
    exited = None
    while stopping["signal"] is None and exited is None:
        exited = next((name for name, proc in procs.items() if proc.poll() is not None), None)
        if exited is None:
            time.sleep(0.5)
    _stop(procs)
    if exited is not None:
        code = procs[exited].returncode
        print(f"{exited} 意外退出（退出码 {code}），已停止全部服务 / {exited} exited unexpectedly (status {code}); "
              "all services stopped", file=sys.stderr)
        return 1
    print("已停止 / stopped", flush=True)
    return 0
