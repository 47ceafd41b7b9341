"""Open a page in headless Chromium with the network off and drive it through the DevTools protocol.

"Network off": every http(s) request goes to a proxy on the discard port (127.0.0.1:9), loopback included
(`<-loopback>`), so it fails as it would on an offline network; file:// pages and their local files load.
Every request the page makes is recorded, so a test can also assert that none went out.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
BASE_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-extensions", "--mute-audio"]
# the network off: every request that is not to this machine goes to a closed port
FLAGS = [*BASE_FLAGS, "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium (Debian package 'chromium'; `make browser` installs it)")


@dataclass
class Page:
    """What a loaded page did, and a way to ask it things."""

    evaluate: object
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


class Browser:
    """One Chromium; `open(url)` loads a page in a fresh tab and returns what it requested and logged."""

    def __init__(self, profile: Path):
        pytest.importorskip("websockets.sync.client", reason="the websockets package drives the DevTools protocol")
        from websockets.sync.client import connect

        self.profile = profile
        self.proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "about:blank"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        found: dict = {}

        def read_stderr():
            for line in self.proc.stderr:
                match = re.search(r"DevTools listening on (ws://\S+)", line)
                if match:
                    found["ws"] = match.group(1)

        threading.Thread(target=read_stderr, daemon=True).start()
        deadline = time.time() + 60
        while "ws" not in found and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        if "ws" not in found:
            self.close()
            raise AssertionError("Chromium did not announce its DevTools endpoint")
        self.ws = connect(found["ws"], max_size=None, open_timeout=30)
        self.ids = iter(range(1, 1_000_000))
        self.events: list[dict] = []

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        end = time.time() + timeout
        while time.time() < end:
            reply = json.loads(self.ws.recv(timeout=max(end - time.time(), 0.1)))
            if reply.get("id") == message_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def _wait_for(self, method: str, session: str, timeout: float = 60) -> None:
        end = time.time() + timeout
        if any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            return
        while time.time() < end:
            event = json.loads(self.ws.recv(timeout=max(end - time.time(), 0.1)))
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return
        raise TimeoutError(method)

    def open(self, url: str, settle: float = 1.0, screenshot: Path | None = None) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        start = len(self.events)
        self.call("Page.navigate", {"url": url}, session=session)
        self._wait_for("Page.loadEventFired", session)
        time.sleep(settle)  # scripts that run after load (bootstrap-table fills its tables then)

        def evaluate(expression: str):
            reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            assert "exceptionDetails" not in reply, reply
            return reply["result"].get("value")

        if screenshot is not None:
            data = self.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
            screenshot.write_bytes(base64.b64decode(data))
        mine = [e for e in self.events[start:] if e.get("sessionId") == session]
        page = Page(evaluate=evaluate)
        page.requests = [e["params"]["request"]["url"] for e in mine if e.get("method") == "Network.requestWillBeSent"]
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
                for e in mine if e.get("method") == "Network.requestWillBeSent"}
        page.failed = [f'{e["params"].get("errorText", "")} {urls.get(e["params"]["requestId"], "?")}'
                       for e in mine if e.get("method") == "Network.loadingFailed"]
        page.errors = [e for e in mine if e.get("method") == "Runtime.exceptionThrown"
                       or (e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert"))
                       or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")]
        return page

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)
