"""A real browser for the tests: Debian's headless Chromium, driven over the DevTools
protocol (a WebSocket) to load a page, click, and read what it shows."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import websocket

from tests.daemon_proc import wait_for
from tests.http_client import HTTP
from tests.receivers import free_port

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is needed (make test installs it)"
    return found


class Page:
    """One tab: navigate, evaluate JavaScript, click and wait for the page it leads to."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A DevTools command's result; one the tab answers while it is between two
        documents ("navigated or closed") is sent again."""
        for _ in range(100):
            self.next_id += 1
            self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
            while True:
                message = json.loads(self.ws.recv())  # events in between are not needed
                if message.get("id") == self.next_id:
                    break
            error = message.get("error", {})
            if "navigated or closed" not in str(error.get("message", "")):
                assert not error, message
                return dict(message.get("result", {}))
            time.sleep(0.05)
        raise AssertionError(f"{method}: the tab kept navigating")

    def open(self, url: str) -> None:
        """Navigate to `url` and wait until its document has loaded (a load event alone
        may be the blank tab's, read late)."""
        self.evaluate("window.__paperwatch_old = true")
        self.call("Page.navigate", url=url)
        self._wait_new_document()

    def _wait_new_document(self, timeout: float = 30) -> None:
        """Until the tab shows another document than the one marked, fully loaded."""
        fresh = "window.__paperwatch_old === undefined && document.readyState === 'complete'"
        assert wait_for(lambda: self.evaluate(fresh), timeout), "the page did not load"

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """Click what `selector` finds and wait for the page it leads to (a link, a
        form's button: the page itself runs no script)."""
        found = self.evaluate(f"document.querySelector({json.dumps(selector)}) !== null")
        assert found, f"nothing on the page matches {selector}"
        self.evaluate("window.__paperwatch_old = true")
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        self._wait_new_document()

    def key(self, key: str, navigates: bool = False) -> None:
        """Press a key as a reader does (keydown, char, keyup); `navigates`: wait for the
        page it leads to (a form the key submits)."""
        if navigates:
            self.evaluate("window.__paperwatch_old = true")
        for kind in ("keyDown", "char", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, text=key)
        if navigates:
            self._wait_new_document()

    def dark(self, on: bool) -> None:
        """Show pages as a reader in dark mode sees them (prefers-color-scheme)."""
        value = "dark" if on else "light"
        self.call(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": value}],
        )

    def screenshot(self, width: int = 1000, height: int | None = None) -> bytes:
        """The page as a PNG, `width` pixels wide, as tall as it is (or `height`)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )
        tall = int(self.evaluate("document.documentElement.scrollHeight"))
        clip = {"x": 0, "y": 0, "width": width, "height": min(tall, height or tall), "scale": 1}
        shot = self.call(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        return base64.b64decode(shot["data"])


def _tabs(port: int) -> list[dict[str, Any]]:
    try:
        tabs = HTTP.get(f"http://127.0.0.1:{port}/json/list").json()
    except httpx.HTTPError:
        return []  # not listening yet
    return [t for t in tabs if t.get("type") == "page"]


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[Page]:
    """Chromium with its DevTools on a free port, ended (and waited for) on leaving."""
    port = free_port()
    process = subprocess.Popen(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: _tabs(port), 30), "chromium opened no DevTools port"
        ws = websocket.create_connection(_tabs(port)[0]["webSocketDebuggerUrl"], timeout=30)
        try:
            yield Page(ws)
        finally:
            ws.close()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def keep_screenshot(name: str, png: bytes) -> None:
    """`make screenshots` sets PAPERWATCH_SCREENSHOTS: the pictures in README.md and
    docs/ are the ones the tests take."""
    folder = os.environ.get("PAPERWATCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(png)


# The buttons of a page that show nothing a reader can see: no letter or digit in their
# text (an emoji alone is an empty box where no emoji font is installed) and no drawn
# image (svg or img of some size). Evaluated in the page: [] when every button shows.
UNSEEN_BUTTONS = """[...document.querySelectorAll('button')].filter(b => {
  const text = b.innerText.replace(/[^\\p{L}\\p{N}]/gu, '');
  const drawn = [...b.querySelectorAll('svg, img')].some(i => {
    const r = i.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  return !(text.length > 0 || drawn);
}).map(b => b.outerHTML)"""
