"""Looking at a page as headless Chromium lays it out for print, through the DevTools protocol.

`print_layout(html, width_px, script)` opens the file with the print media emulated in a viewport as wide
as the printable area of a page, runs `script` (an expression returning JSON-able data) and returns its
value; `screenshot` saves what that looks like (for a person checking a layout by eye).
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.chromium import BASE_FLAGS, CHROMIUM

FLAGS = BASE_FLAGS
MM_PER_INCH, CSS_PX_PER_INCH = 25.4, 96


def mm_to_px(mm: float) -> int:
    return int(mm / MM_PER_INCH * CSS_PX_PER_INCH)


class _Session:
    def __init__(self, ws):
        self.ws, self.counter = ws, iter(range(1, 1_000_000))

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 120):
        message_id = next(self.counter)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        end = time.time() + timeout
        while time.time() < end:
            reply = json.loads(self.ws.recv(timeout=max(end - time.time(), 0.1)))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply.get("result", {})
        raise TimeoutError(method)


def _with_page(html: Path, width_px: int, action):
    from websockets.sync.client import connect

    # Chromium's helper processes may still write into the profile while it is removed: never fail on that
    with tempfile.TemporaryDirectory(prefix="cdp-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "about:blank"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True)
        found: dict = {}

        def read_stderr():
            for line in proc.stderr:
                match = re.search(r"DevTools listening on (ws://\S+)", line)
                if match:
                    found["ws"] = match.group(1)

        threading.Thread(target=read_stderr, daemon=True).start()
        try:
            deadline = time.time() + 60
            while "ws" not in found and time.time() < deadline and proc.poll() is None:
                time.sleep(0.05)
            if "ws" not in found:
                raise RuntimeError("Chromium did not announce its DevTools endpoint")
            with connect(found["ws"], max_size=None, open_timeout=30) as ws:
                cdp = _Session(ws)
                target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
                session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                cdp.call("Emulation.setEmulatedMedia", {"media": "print"}, session)
                cdp.call("Emulation.setDeviceMetricsOverride",
                         {"width": width_px, "height": 1200, "deviceScaleFactor": 1, "mobile": False}, session)
                cdp.call("Page.enable", {}, session)
                cdp.call("Page.navigate", {"url": html.resolve().as_uri()}, session)
                for _ in range(600):  # wait for the document to be complete
                    state = cdp.call("Runtime.evaluate", {"expression": "document.readyState", "returnByValue": True},
                                     session)["result"].get("value")
                    if state == "complete":
                        break
                    time.sleep(0.1)
                return action(cdp, session)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the browser and every helper it started
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)


def print_layout(html: Path, width_px: int, script: str):
    def run(cdp, session):
        reply = cdp.call("Runtime.evaluate", {"expression": script, "returnByValue": True}, session)
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"])
        return reply["result"].get("value")
    return _with_page(html, width_px, run)


def screenshot(html: Path, width_px: int, out: Path, height_px: int = 3000) -> Path:
    def run(cdp, session):
        cdp.call("Emulation.setDeviceMetricsOverride",
                 {"width": width_px, "height": height_px, "deviceScaleFactor": 1, "mobile": False}, session)
        data = cdp.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
        out.write_bytes(base64.b64decode(data))
        return out
    return _with_page(html, width_px, run)
