"""The service as docs/operations.md's "Run as a service" installs it (`make install-service`, run
by `make test` into a staging root): a production virtualenv on the system's Python, the
default config in CONFDIR, a unit that `systemd-analyze verify` accepts; and the installed
daemon run as systemd would run it without systemd: an unprivileged user, every path
read-only but its state directory, no network, /tmp its own. A file dropped into the
inbox alerts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from daemon.config import load_config
from daemon.runtime import build_sources
from tests.conftest import ROOT
from tests.daemon_proc import wait_for

STAGE = Path(os.environ.get("PAPERWATCH_STAGE", "/var/tmp/paperwatch-stage"))
VENV = STAGE / "opt/paperwatch/venv"
CONFIG = STAGE / "etc/paperwatch/config.toml"
UNIT = STAGE / "etc/systemd/system/paperwatch.service"
STATE = STAGE / "var/lib/paperwatch"
NOBODY = 65534


def _installed_is_current() -> bool:
    """The staged package is this checkout's (every module byte for byte)."""
    site = list(VENV.glob("lib/python3*/site-packages/daemon"))
    if not site or not CONFIG.exists() or not UNIT.exists():
        return False
    return all(
        (site[0] / p.relative_to(ROOT / "daemon")).read_bytes() == p.read_bytes()
        for p in (ROOT / "daemon").rglob("*.py")
    )


@pytest.fixture(scope="module")
def installed() -> Path:
    """`make test` stages the install before the tests; a run of pytest alone after an
    edit stages it again here (about 20 s)."""
    if not _installed_is_current():
        subprocess.run(["make", "-s", "stage", f"STAGE={STAGE}"], cwd=ROOT, check=True)
    assert _installed_is_current()
    return STAGE


def test_the_install_is_a_production_virtualenv_a_config_and_a_verified_unit(installed):
    base = subprocess.run(
        [VENV / "bin/python", "-c", "import os, sys; print(os.path.realpath(sys.base_prefix))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not base.startswith(("/root", "/home")), base  # the service user reads it
    for tool in ("pytest", "ruff", "mypy", "hypothesis"):
        assert not (VENV / "bin" / tool).exists(), tool  # no dev tools
    assert (
        "paperwatch"
        in subprocess.run(
            [VENV / "bin/paperwatch", "--version"], capture_output=True, text=True
        ).stdout
    )
    config = load_config(CONFIG)
    assert config.state_dir == STATE
    [inbox] = [s for s in build_sources(config) if s.name == "inbox"]
    assert inbox.options["path"] == STATE / "inbox"  # in StateDirectory
    unit = UNIT.read_text()
    assert f"ExecStart={VENV}/bin/paperwatch --config {CONFIG} run" in unit
    assert "StateDirectory=paperwatch" in unit and "ProtectSystem=strict" in unit
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True)
        assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), (
            verify.stdout + verify.stderr
        )


def _as_nobody() -> list[str]:
    if os.geteuid() != 0:
        return []  # unprivileged already
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _sandbox(state: Path) -> list[str]:
    """systemd's sandbox, approximated with bubblewrap: / read-only, the state directory
    writable, its own /tmp, /dev and /proc, no network; run as nobody."""
    return [
        *_as_nobody(),
        "bwrap",
        "--ro-bind", "/", "/",
        "--bind", str(state), str(STATE),
        "--tmpfs", "/tmp",
        "--dev", "/dev",
        "--proc", "/proc",
        "--unshare-all",
        "--die-with-parent",
        "--chdir", str(STATE),
    ]  # fmt: skip


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A fresh StateDirectory, owned by the service user, mounted where the unit has it."""
    top = Path(tempfile.mkdtemp(prefix="paperwatch-install-", dir="/var/tmp"))
    top.chmod(0o755)
    state = top / "state"
    state.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(state, NOBODY, NOBODY)
    try:
        yield state
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_the_installed_daemon_runs_unprivileged_and_read_only_and_alerts(installed, state_dir):
    capable = [*_as_nobody(), "bwrap", "--ro-bind", "/", "/", "--unshare-all", "true"]
    probe = subprocess.run(capable, capture_output=True, text=True)
    if probe.returncode != 0:  # no user namespaces here (a locked-down container)
        pytest.skip(f"this machine cannot make a bubblewrap sandbox: {probe.stderr.strip()}")
    log = state_dir.parent / "log"
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    command = [*_sandbox(state_dir), str(VENV / "bin/paperwatch"), "--config", str(CONFIG), "run"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=out, env=env, preexec_fn=lambda: os.umask(0o077)
        )

    def output() -> str:
        return log.read_text(errors="replace")

    try:
        assert wait_for(lambda: "started" in output(), 20), output()
        inbox = state_dir / "inbox"
        assert wait_for(inbox.is_dir, 5), output()  # made by the daemon, in its state
        paper = {
            "id": "2611.00042",
            "title": "Tensor Network Contraction at Scale",
            "summary": "We contract tensor networks of a thousand nodes.",
        }
        (inbox / "drop.json.part").write_text(json.dumps([{"paper": paper}]))
        (inbox / "drop.json.part").rename(inbox / "drop.json")
        assert wait_for(lambda: "Tensor Network Contraction at Scale" in output(), 15), output()
        assert "alert channel=console" in output()
        assert (inbox / "done" / "drop.json").exists()
        assert (state_dir / "paperwatch.db").stat().st_uid == (
            NOBODY if os.geteuid() == 0 else os.geteuid()
        )
    finally:
        daemons = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "paperwatch" in " ".join(p.cmdline())
        ]
        for daemon in daemons:
            daemon.terminate()
        code = proc.wait(timeout=15)
    text = output()
    assert code == 0, text
    assert "Read-only file system" not in text and "Permission denied" not in text, text
    assert "watchdog_withheld" not in text and "stopped" in text


def _pins(text: str) -> dict[str, str]:
    """`name==version` lines of a requirements file, names normalised (PEP 503)."""
    import re

    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text, re.M)
    return {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in found}


def test_the_install_pins_what_the_lock_file_says(installed):
    """Issue 33, item 6: the service installs requirements.lock's versions (with their
    hashes), and the lock holds every runtime dependency pyproject.toml declares."""
    import re
    import tomllib

    lock = _pins((ROOT / "requirements.lock").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["similar"]
    for requirement in declared:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement)[0]).lower()
        assert name in lock, f"{name}: in pyproject.toml, not in requirements.lock (make lock)"
    assert "--hash=sha256:" in (ROOT / "requirements.lock").read_text()
    frozen = subprocess.run(
        [VENV / "bin/python", "-m", "pip", "freeze", "--all"], capture_output=True, text=True
    ).stdout
    installed_pins = _pins(frozen)
    wrong = {n: (v, installed_pins.get(n)) for n, v in lock.items() if installed_pins.get(n) != v}
    assert wrong == {}, wrong
