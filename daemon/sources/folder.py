"""`folder`: an inbox directory. Complete files are ingested, then moved to done/ or to
failed/ with `<name>.error.txt`. Nothing is deleted; a symlink out of the inbox is refused.

Its `watch` wakes the poll on inotify events, so a dropped file is ingested within about
a second; the scheduled poll (`every`) is the safety net.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import watchfiles

from daemon.errors import PaperwatchError
from daemon.ingest import is_digest_file
from daemon.log import event
from daemon.poller import Outcome, PollContext
from daemon.sources import Key, Memory, Source, SourceKind, register

SETTLE_SECONDS = 0.5  # a file is complete once its size and mtime stop changing this long


def shown(name: str) -> str:
    """A file name as text for logs and the database: bytes that are not UTF-8 (kept by
    Python as surrogates) become \\xNN escapes instead of failing to encode."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists() or target.is_symlink():
        stem, dot, ext = name.partition(".")
        target = folder / f"{stem}.{n}{dot}{ext}"
        n += 1
    return target


def move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, path.name)
    os.replace(path, target)
    return target


def quarantine(path: Path, inbox: Path, reason: str) -> Path:
    target = move(path, inbox / "failed")
    note = target.with_name(target.name + ".error.txt")
    note.write_text(reason + "\n", errors="backslashreplace")
    event("quarantined", file=shown(path.name), to=shown(str(target)), reason=reason)
    return target


@dataclass
class Inbox:
    """Remembers what each file looked like at the last scan, to tell complete files."""

    seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def ready(self, path: Path, st: os.stat_result) -> bool:
        shape = (st.st_size, st.st_mtime_ns)
        before = self.seen.get(path.name)
        self.seen[path.name] = shape
        age = time.time() - st.st_mtime
        return age >= SETTLE_SECONDS and (before == shape or age >= 2 * SETTLE_SECONDS)

    def scan(self, ctx: PollContext, source: Source, outcome: Outcome) -> None:
        inbox: Path = source.options["path"]
        inbox.mkdir(parents=True, exist_ok=True)
        root = inbox.resolve()
        names = set()
        for path in sorted(inbox.iterdir()):
            if not is_digest_file(path):
                continue
            names.add(path.name)
            if path.is_symlink():
                target = path.resolve()
                if root not in target.parents:
                    quarantine(
                        path,
                        inbox,
                        f"{shown(path.name)}: symlink to {shown(str(target))}, "
                        "outside the inbox: refused",
                    )
                    continue
            if not path.is_file():
                continue
            st = path.stat()
            if self.ready(path, st):
                self.ingest_file(ctx, source, path, st, outcome)
        self.seen = {k: v for k, v in self.seen.items() if k in names}

    def ingest_file(
        self, ctx: PollContext, source: Source, path: Path, st: os.stat_result, outcome: Outcome
    ) -> None:
        inbox: Path = source.options["path"]
        try:
            data = path.read_bytes()
            ref = datetime.fromtimestamp(st.st_mtime, UTC)
            result = ctx.ingest(
                outcome,
                source,
                data,
                name=shown(path.name),
                location=shown(str(path.resolve())),
                ref_time=ref,
            )
        except PaperwatchError as exc:
            quarantine(path, inbox, str(exc))
            outcome.notes.append(f"{shown(path.name)} failed")
            return
        except OSError as exc:  # left in the inbox: the next scan tries again
            event("inbox_unreadable", logging.WARNING, file=shown(path.name), error=exc.strerror)
            outcome.notes.append(f"{shown(path.name)}: {exc.strerror}")
            return
        done = move(path, inbox / "done")
        event(
            "ingested",
            source=source.name,
            file=shown(path.name),
            papers=result.papers,
            new=len(result.new),
            gained=len(result.gained),
            duplicate=result.duplicate,
            moved_to=shown(str(done)),
        )
        self.seen.pop(path.name, None)


def _inbox(memory: Memory) -> Inbox:
    found: Inbox = memory.setdefault("inbox", Inbox())
    return found


def poll(ctx: PollContext, source: Source) -> Outcome:
    outcome = Outcome()
    _inbox(ctx.memory).scan(ctx, source, outcome)
    return outcome


def watch(source: Source, memory: Memory, halt: threading.Event) -> Iterator[None]:
    """Yield on every inotify event and, while files settle, every half second."""
    path: Path = source.options["path"]
    path.mkdir(parents=True, exist_ok=True)
    first = True  # the first scan runs once inotify is set up: nothing dropped slips by
    for changes in watchfiles.watch(
        path,
        stop_event=halt,
        yield_on_timeout=True,
        rust_timeout=500,
        debounce=100,
        recursive=False,
        raise_interrupt=False,
    ):
        if first or changes or _inbox(memory).seen:
            first = False
            yield


KIND = register(
    SourceKind(
        name="folder",
        summary="an inbox folder: files dropped into it are ingested within seconds",
        keys=(Key("path", "path", "inbox", help="relative to config.toml; default state/inbox"),),
        poll=poll,
        describe=lambda source: str(source.options["path"]),
        every=timedelta(minutes=1),
        watch=watch,
    )
)
