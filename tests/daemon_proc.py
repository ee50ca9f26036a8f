"""Run `paperwatch run` as a real subprocess and watch what it says."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from daemon.cli import main
from tests.conftest import ROOT


def wait_for(predicate, timeout: float = 10.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def paperwatch(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`paperwatch ARGS...` as a real process, as a user runs it ($PAPERWATCH_CONFIG)."""
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PAPERWATCH_CONFIG": str(config)},
        cwd=ROOT,
        timeout=timeout,
    )


def command(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`paperwatch ARGS...` run in this process, beside a daemon's: the code a user's
    command runs, without the 0.7 s of CPU a new interpreter costs (`paperwatch` above is
    for what only a process shows: the console script, exit codes on a busy port)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--config", str(config), *args])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


class Daemon:
    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.config, self.log = config, log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.offset = 0

    def start(self, wait: bool = True) -> Daemon:
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daemon", "--config", str(self.config), "run"],
                stdout=out,
                stderr=out,
                env=self.env,
                cwd=ROOT,
            )
        if wait:
            assert wait_for(lambda: "started pid=" in self.output(), 20), self.output()
        return self

    def output(self) -> str:
        if not self.log.exists():
            return ""
        return self.log.read_bytes()[self.offset :].decode(errors="replace")  # offset in bytes

    def wait_log(self, text: str, timeout: float = 10.0) -> bool:
        return wait_for(lambda: text in self.output(), timeout)

    def stop(self, sig: int = 15, timeout: float = 10.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


class NotifySocket:
    """A Unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self) -> None:
        while self.running:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
