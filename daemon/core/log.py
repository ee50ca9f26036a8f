"""Logging: one event per line on stderr, `key=value` fields; a timestamp unless journald
adds its own."""

from __future__ import annotations

import logging
import os
import re
import sys

from daemon.core.secrets import scrub

log = logging.getLogger("paperwatch")
# control characters (a carriage return, a terminal escape in a file name) never reach a
# log line raw: they become \xNN, as a name's bytes that are not UTF-8 do
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _quote(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="') or _CONTROL.search(text):
        text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + '"'
    return text


def event(name: str, level: int = logging.INFO, **fields: object) -> None:
    """Log `name key=value ...`, every secret value scrubbed (callers pass none; a URL's
    path or a header may still hold one)."""
    parts = [name, *(f"{k}={_quote(v)}" for k, v in fields.items() if v is not None)]
    log.log(level, scrub(" ".join(parts)))


class Scrubbed(logging.Filter):
    """Every record, paperwatch's or a library's (httpx, urllib3 at debug level print a
    request's path), leaves with its secrets hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: logging reports it itself
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Scrubbed())
    # journald stamps each line itself; anywhere else a line carries its own time
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    handler.setFormatter(logging.Formatter(stamp + "%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # apprise's own lines can quote URLs with secrets: they are captured per send,
    # scrubbed and logged by paperwatch (daemon.delivery.channels), never passed through raw.
    logging.getLogger("apprise").propagate = False


class Conditions:
    """Lasting conditions (an unreadable file, a missing folder) logged once when they
    start and once when they end, however often they are checked in between."""

    def __init__(self) -> None:
        self.active: dict[str, str] = {}  # key -> event name

    def start(self, key: str, name: str, level: int = logging.WARNING, **fields: object) -> None:
        if key not in self.active:
            self.active[key] = name
            event(name, level, **fields)

    def end(self, key: str, **fields: object) -> None:
        name = self.active.pop(key, None)
        if name is not None:
            event(f"{name}_ended", logging.INFO, **fields)

    def __contains__(self, key: str) -> bool:
        return key in self.active
