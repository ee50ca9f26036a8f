"""`folder`: an inbox directory. Complete files are ingested, then moved to done/ or to
failed/ with `<name>.error.txt`. Nothing is deleted; a symlink out of the inbox is refused.

A file is complete when its writer says so: inotify's IN_CLOSE_WRITE (closed after
writing) or IN_MOVED_TO (renamed in; writing `x.part` and renaming it is the fastest
way in). A file with no such event (there before the daemon started, or seen by a
scheduled poll) is taken once its size and mtime have not changed for `settle`. If its
writer was only pausing, the file is watched where it went and ingested again when it
changes: identity makes a second ingest of the same papers safe.

The watch uses inotify_simple, not watchfiles: watchfiles reports neither event and
fails on file names that are not UTF-8. Lasting problems (an unreadable file, a folder
dropped in) are logged once when they start and once when they end, and retried with
backoff, so a stuck file costs neither log lines nor CPU.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import sqlite3
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inotify_simple import INotify
from inotify_simple import flags as F

from daemon.core.backoff import backoff
from daemon.core.clock import SYSTEM, Clock, iso
from daemon.core.errors import FetchError, PaperwatchError
from daemon.core.log import Conditions, event
from daemon.ingest.document import is_digest_file
from daemon.sources.contract import (
    Context,
    Halt,
    Key,
    Memory,
    Outcome,
    Source,
    SourceKind,
    register,
)

KEEP_WATCHING = 3600.0  # s: a file taken without a close event is watched this long for more
RETRY_FIRST, RETRY_MAX = timedelta(seconds=1), timedelta(minutes=5)  # unreadable files
_INBOX_EVENTS = (
    F.CLOSE_WRITE | F.MOVED_TO | F.MODIFY | F.CREATE | F.ATTRIB | F.DELETE_SELF | F.MOVE_SELF
)
_TAKEN_EVENTS = F.MODIFY | F.CLOSE_WRITE  # in done/ and failed/: files taken while open
Shape = tuple[int, int, int]  # size, mtime_ns, inode


def shown(name: str) -> str:
    """A file name as text for logs and the database: bytes that are not UTF-8 (kept by
    Python as surrogates) become \\xNN escapes instead of failing to encode."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


NAME_BYTES = 200  # a name in done/ or failed/: room for ".N" and ".error.txt" within 255


def _fitted(name: str, n: int) -> str:
    """`name` with copy number `n` (if any), cut to NAME_BYTES: a long name keeps its
    start, a digest of the whole and its last extension."""
    stem, dot, ext = name.partition(".")
    number = f".{n}" if n else ""
    found = f"{stem}{number}{dot}{ext}"
    if len(os.fsencode(found)) <= NAME_BYTES:
        return found
    last = name.rsplit(".", 1)[1] if "." in name else ""
    tail = f"~{hashlib.sha256(os.fsencode(name)).hexdigest()[:12]}{number}"
    tail += f".{last}" if last and len(os.fsencode(last)) <= 16 else ""
    room = NAME_BYTES - len(os.fsencode(tail))
    head = os.fsencode(name)[:room].decode("utf-8", "ignore") if room > 0 else ""
    return head + tail


def _free_name(folder: Path, name: str) -> Path:
    n = 0
    target = folder / _fitted(name, n)
    while target.exists() or target.is_symlink():
        n += 1
        target = folder / _fitted(name, n)
    return target


def move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, path.name)
    os.replace(path, target)
    return target


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def move_read(path: Path, read: os.stat_result, folder: Path) -> Path | None:
    """Move the file that was read (known by its inode, `read`) to `folder`; None if
    `path` names another file now (one renamed over it meanwhile): that file is left
    where it is for a turn of its own, never moved unread. A rename in the instant
    between the check and the move is undone the same way."""
    try:
        if not _same_file(path.stat(), read):
            return None
    except FileNotFoundError:
        return None
    target = move(path, folder)
    if _same_file(target.stat(), read):
        return target
    back = path if not path.exists() else _free_name(path.parent, path.name)
    os.replace(target, back)
    return None


def _note(path: Path) -> Path:
    return path.with_name(path.name + ".error.txt")


def quarantine(
    path: Path, inbox: Path, reason: str, read: os.stat_result | None = None
) -> Path | None:
    """Move to failed/ (unless there already) with the reason beside it. With `read`
    (the file the reason is about, by its inode): None, and nothing moved, if another
    file has been renamed over it since."""
    if path.parent == inbox / "failed":
        target: Path | None = path
    elif read is not None:
        target = move_read(path, read, inbox / "failed")
    else:
        target = move(path, inbox / "failed")
    if target is None:
        _renamed_over(path)
        return None
    _note(target).write_text(reason + "\n", errors="backslashreplace")
    event("quarantined", file=shown(path.name), to=shown(str(target)), reason=reason)
    return target


def _renamed_over(path: Path) -> None:
    event("renamed_over", file=shown(path.name), action="the file now there waits its turn")


def _shape(st: os.stat_result) -> Shape:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class Seen:
    shape: Shape | None  # None: only an inotify event so far
    since: float  # monotonic time of the last change seen


@dataclass
class Taken:
    """A file taken without its writer's close event, watched where it went."""

    shape: Shape
    at: float


@dataclass
class Blocked:
    attempts: int
    retry_at: float


@dataclass
class Inbox:
    """What the watch and the scans know about the inbox's files, keyed by path. The
    watch thread records events; the poll decides what is complete."""

    settle: float = 5.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: dict[str, Seen] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)  # the writer closed it or renamed it in
    taken: dict[str, Taken] = field(default_factory=dict)
    blocked: dict[str, Blocked] = field(default_factory=dict)
    conditions: Conditions = field(default_factory=Conditions)
    last_scan: float = 0.0  # monotonic start of the last scan: what was due then was looked at
    watched: bool = False  # a watch has set the folder up (so its absence is news)
    clock: Clock = SYSTEM  # settle and retry times: the daemon's one clock (tests move theirs)

    # -- from the watch ----------------------------------------------------------------------

    def on_event(self, folder: Path, name: str, mask: int, watched_inbox: bool) -> bool:
        """Record one inotify event; True if a poll is worth running now."""
        key = str(folder / name)
        now = self.clock.monotonic()
        with self.lock:
            if watched_inbox and not is_digest_file(Path(name)):
                return False  # x.part: the rename that completes it is what counts
            if not watched_inbox and key not in self.taken:
                return False
            if mask & (F.CLOSE_WRITE | F.MOVED_TO):
                self.closed.add(key)
                return True
            if mask & (F.MODIFY | F.CREATE):
                self.closed.discard(key)
                seen = self.seen.setdefault(key, Seen(None, now))
                seen.since = now
                return False  # due once it settles (see `due_in`), not on every write
            if mask & F.ATTRIB and key in self.blocked:  # e.g. chmod: try the file again now
                self.blocked[key].retry_at = now
                return True
        return False

    def due_in(self) -> float | None:
        """Seconds until a file may be ready (settled, or retried); None if none waits."""
        now = self.clock.monotonic()
        with self.lock:
            times = [s.since + self.settle for k, s in self.seen.items() if k not in self.closed]
            times += [b.retry_at for b in self.blocked.values()]
        times = [t for t in times if t > self.last_scan]  # the rest waits for an event
        return max(0.0, min(times) - now) if times else None

    # -- from the poll -----------------------------------------------------------------------

    def ready(self, key: str, st: os.stat_result) -> bool:
        now = self.clock.monotonic()
        shape = _shape(st)
        with self.lock:
            if key in self.closed:
                return True
            seen = self.seen.get(key)
            if seen is None:  # first look: complete if untouched for `settle` already
                self.seen[key] = Seen(shape, now)
                age = self.clock.now().timestamp() - st.st_mtime
                return self.settle <= age  # an mtime in the future waits `settle` from now
            if seen.shape != shape:
                self.seen[key] = Seen(shape, now)
                return False
            return now - seen.since >= self.settle

    def settling(self) -> tuple[list[str], float | None]:
        """Files seen but not complete yet (their writer may still be at work), and the
        seconds until the first may be."""
        now = self.clock.monotonic()
        with self.lock:
            found = {
                k: s.since + self.settle - now
                for k, s in self.seen.items()
                if k not in self.closed and k not in self.taken and k not in self.blocked
            }
        if not found:
            return [], None
        return sorted(shown(Path(k).name) for k in found), max(0.0, min(found.values()))

    def forget(self, key: str) -> None:
        with self.lock:
            self.seen.pop(key, None)
            self.closed.discard(key)
            self.blocked.pop(key, None)

    def scan(self, ctx: Context, source: Source, outcome: Outcome) -> None:
        inbox: Path = source.options["path"]
        self.last_scan = self.clock.monotonic()
        root = inbox.resolve()
        present = set()
        for path in sorted(inbox.iterdir()):
            if not is_digest_file(path):
                continue
            key = str(path)
            present.add(key)
            try:
                self._look(ctx, source, path, root, outcome)
            except (OSError, sqlite3.Error) as exc:  # the disk or the database: it waits
                self._retry_later(path, "inbox_stuck", f"{type(exc).__name__}: {exc}", outcome)
            except Exception as exc:  # one file's failure, never the inbox's
                self._stuck(ctx, source, path, f"{type(exc).__name__}: {exc}", outcome)
        for key in list(self.conditions.active):
            if key.startswith(str(inbox) + os.sep) and key not in present:
                self.conditions.end(key, file=shown(Path(key).name), now="gone")
        with self.lock:
            for stale in [k for k in self.seen if k not in present and k not in self.taken]:
                self.seen.pop(stale)
                self.closed.discard(stale)
            for stale in [k for k in self.blocked if k not in present]:
                self.blocked.pop(stale)
        self.recheck_taken(ctx, source, outcome)

    def _look(self, ctx: Context, source: Source, path: Path, root: Path, outcome: Outcome) -> None:
        """Take one inbox entry if it is a complete digest file."""
        inbox: Path = source.options["path"]
        key = str(path)
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except FileNotFoundError:
                return  # a dangling link: nothing to take (yet)
            except (OSError, RuntimeError):  # a loop
                reason = f"{shown(path.name)}: symlink loop: refused"
                quarantine(path, inbox, reason)
                self._count(ctx, source, path, ok=False)
                return
            if root not in target.parents:
                where = shown(str(target))
                reason = f"{shown(path.name)}: symlink to {where}, outside the inbox: refused"
                quarantine(path, inbox, reason)
                self._count(ctx, source, path, ok=False)
                return
        try:
            st = path.stat()
        except OSError:
            return  # gone meanwhile: nothing to take
        if not path.is_file():
            if path.name not in ("done", "failed"):
                what = "a folder" if path.is_dir() else "not a regular file"
                self.conditions.start(
                    key, "inbox_not_a_file", file=shown(path.name), what=what, action="ignored"
                )
            return
        blocked = self.blocked.get(key)
        if blocked is not None and blocked.retry_at > self.clock.monotonic():
            return
        if not self.ready(key, st):
            return
        self.take(ctx, source, path, st, outcome)

    def _stuck(
        self, ctx: Context, source: Source, path: Path, error: str, outcome: Outcome
    ) -> None:
        """A file the inbox failed on outside any expected error: quarantined with the
        reason if it can be moved, else left and retried with backoff."""
        inbox: Path = source.options["path"]
        self.forget(str(path))
        try:
            quarantine(path, inbox, f"{shown(path.name)}: could not be taken ({error})")
        except Exception as exc:
            error = f"{error}; then {type(exc).__name__}: {exc}"
            self._retry_later(path, "inbox_stuck", error, outcome)
            return
        self._count(ctx, source, path, ok=False)
        outcome.notes.append(f"{shown(path.name)} failed")

    def _retry_later(self, path: Path, condition: str, error: str, outcome: Outcome) -> None:
        """Leave a file where it is and try it again with backoff: the cause is outside it
        (unreadable, the disk full, the database locked). Said once, not at every retry."""
        key = str(path)
        with self.lock:
            self.closed.add(key)  # it was complete: when its turn comes, it is taken
            blocked = self.blocked.setdefault(key, Blocked(0, 0.0))
            blocked.attempts += 1
            pause = backoff(RETRY_FIRST, blocked.attempts, RETRY_MAX).total_seconds()
            blocked.retry_at = self.clock.monotonic() + pause
        if key not in self.conditions:
            outcome.notes.append(f"{shown(path.name)}: {error}")
        self.conditions.start(
            key, condition, file=shown(path.name), error=error[:300], retrying="yes"
        )

    def take(
        self, ctx: Context, source: Source, path: Path, st: os.stat_result, outcome: Outcome
    ) -> None:
        inbox: Path = source.options["path"]
        key = str(path)
        with self.lock:
            closed = key in self.closed
        limit: int = source.options["max_file_bytes"]
        if st.st_size > limit:
            if quarantine(path, inbox, _too_large(path, st.st_size, limit), st) is None:
                return
            self._count(ctx, source, path, ok=False)
            outcome.notes.append(f"{shown(path.name)} too large")
            self.forget(key)
            return
        done = self._ingest(ctx, source, path, st, outcome)
        if done is None:
            return
        self.forget(key)
        self.conditions.end(key, file=shown(path.name), now="ingested")
        if not closed:  # its writer may only be pausing: watch where it went
            with self.lock:  # the shape seen before reading: a write since is a change
                self.taken[str(done)] = Taken(_shape(st), self.clock.monotonic())

    def _ingest(
        self, ctx: Context, source: Source, path: Path, st: os.stat_result, outcome: Outcome
    ) -> Path | None:
        """Ingest one file and move it to done/ or failed/; None if it could not be read."""
        inbox: Path = source.options["path"]
        try:
            data, read = read_consumable(path, source.options["max_file_bytes"])
        except Refused as exc:
            outcome.notes.append(f"{shown(path.name)} refused")
            self._count(ctx, source, path, ok=False)
            return quarantine(path, inbox, str(exc), exc.read)
        except OSError as exc:  # left where it is; tried again with backoff
            self._retry_later(path, "inbox_unreadable", exc.strerror or str(exc), outcome)
            return None
        try:
            result = ctx.ingest(
                outcome,
                source,
                data,
                name=shown(path.name),
                location=shown(str(path.resolve())),
                ref_time=datetime.fromtimestamp(read.st_mtime, UTC),
            )
        except PaperwatchError as exc:
            outcome.notes.append(f"{shown(path.name)} failed")
            self._count(ctx, source, path, ok=False)
            return quarantine(path, inbox, str(exc), read)
        target: Path | None = path
        if path.parent != inbox / "done":
            target = move_read(path, read, inbox / "done")
            if target is None:  # read, stored; the file renamed over it is not
                _renamed_over(path)
                self._count(ctx, source, path, ok=True)
                return None
            if path.parent == inbox / "failed":
                _note(path).unlink(missing_ok=True)  # a file fixed in failed/ loses its note
        event(
            "ingested",
            source=source.name,
            file=shown(path.name),
            papers=result.papers,
            new=len(result.new),
            gained=len(result.gained),
            duplicate=result.duplicate,
            moved_to=shown(str(target)),
        )
        self._count(ctx, source, path, ok=True)
        return target

    def recheck_taken(self, ctx: Context, source: Source, outcome: Outcome) -> None:
        """Ingest again a taken file that changed since; stop watching it when its writer
        closes it or after KEEP_WATCHING seconds without a change."""
        now = self.clock.monotonic()
        with self.lock:
            taken = list(self.taken.items())
        for key, entry in taken:
            path = Path(key)
            try:
                st = path.stat()
            except OSError:
                self._untrack(key)
                continue
            if _shape(st) == entry.shape:
                if now - entry.at > KEEP_WATCHING or key in self.closed:
                    self._untrack(key)
                continue
            if not self.ready(key, st):
                continue
            with self.lock:
                closed = key in self.closed
            event("changed_after_taken", source=source.name, file=shown(path.name))
            target = self._ingest(ctx, source, path, st, outcome)
            if target is None:
                continue
            self._untrack(key)
            if not closed:
                with self.lock:
                    self.taken[str(target)] = Taken(_shape(st), self.clock.monotonic())

    def _untrack(self, key: str) -> None:
        with self.lock:
            self.taken.pop(key, None)
            self.seen.pop(key, None)
            self.closed.discard(key)

    @staticmethod
    def _count(ctx: Context, source: Source, path: Path, ok: bool) -> None:
        """Per-source file counts and the last file, for `status`."""
        details = dict(ctx.state(source).details)
        counter = "files_ingested" if ok else "files_failed"
        details[counter] = details.get(counter, 0) + 1
        details["last_file"] = shown(path.name)
        details["last_file_result"] = "ingested" if ok else "failed"
        details["last_file_at"] = iso(ctx.now)
        ctx.save_state(source, details=details)


class Refused(PaperwatchError):
    """A file the inbox will not read: not a regular file, or over max_file_bytes;
    `read` is the file it is about (its inode), as opened."""

    def __init__(self, message: str, read: os.stat_result) -> None:
        super().__init__(message)
        self.read = read


def read_consumable(path: Path, limit: int) -> tuple[bytearray, os.stat_result]:
    """The file in a buffer that ingest empties once parsed, so a large file is not held
    as raw bytes and as papers at once (peak memory stays under 3x the file). Opened
    without blocking (a FIFO renamed over a file must not hang the inbox); its type and
    size are checked on the open descriptor, and at most `limit` bytes are read, so a
    file swapped in after the scan's checks is refused too. Returns the file's stat as
    opened: what is moved afterwards must be this file, not one renamed over it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb", closefd=True) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{shown(path.name)}: not a regular file: refused", st)
        if st.st_size > limit:
            raise Refused(_too_large(path, st.st_size, limit), st)
        data = bytearray(st.st_size)
        data[f.readinto(data) :] = b""
        more = f.read(limit + 1 - len(data))  # what a writer appended meanwhile
        if len(data) + len(more) > limit:
            raise Refused(_too_large(path, len(data) + len(more), limit), st)
        data += more
    return data, st


def _too_large(path: Path, size: int, limit: int) -> str:
    return (
        f"{shown(path.name)}: {size:,} bytes, over this inbox's max_file_bytes "
        f"({limit:,}): not read (raise max_file_bytes in config.toml to ingest it)"
    )


def _inbox(memory: Memory, source: Source) -> Inbox:
    found: Inbox = memory.setdefault("inbox", Inbox())
    found.settle = source.options["settle"].total_seconds()
    return found


def _make(path: Path, inbox: Inbox) -> None:
    """The inbox folder, made if missing (a vanished one is logged once, whichever of the
    watch and a scan finds it gone); a failure is the source's, with the reason."""
    with inbox.lock:
        if path.is_dir():
            return
        if inbox.watched:
            event("inbox_vanished", logging.WARNING, path=path, action="made again")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(f"{path}: cannot use as the inbox folder ({exc.strerror})") from None


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    inbox = _inbox(ctx.memory, source)
    _make(source.options["path"], inbox)
    inbox.scan(ctx, source, outcome)
    outcome.waiting, outcome.again_in = inbox.settling()
    return outcome


def watch(source: Source, memory: Memory, halt: Halt) -> Iterator[None]:
    """Yield when a file is complete or due for another look; a vanished inbox is logged
    and made again."""
    path: Path = source.options["path"]
    inbox = _inbox(memory, source)
    while not halt.is_set():
        _make(path, inbox)  # watched before (by this watch, or one restarted) and gone now?
        inbox.watched = True
        with INotify() as notify:
            folders = {notify.add_watch(path, _INBOX_EVENTS): path}
            for sub in ("done", "failed"):
                (path / sub).mkdir(exist_ok=True)
                folders[notify.add_watch(path / sub, _TAKEN_EVENTS)] = path / sub
            yield  # the first scan runs once inotify is set up: nothing dropped slips by
            while not halt.is_set():
                due = inbox.due_in()
                timeout = 1.0 if due is None else min(due, 1.0)
                wake = vanished = False
                ready, _, _ = select.select([notify, halt], [], [], timeout + 0.001)
                for ev in notify.read(timeout=0) if notify in ready else ():
                    folder = folders.get(ev.wd)
                    if ev.mask & (F.IGNORED | F.DELETE_SELF | F.MOVE_SELF):
                        vanished = True
                    elif folder is not None and ev.name:
                        wake |= inbox.on_event(folder, ev.name, ev.mask, folder == path)
                if vanished:
                    break
                due = inbox.due_in()
                wake |= due is not None and due <= 0.005
                if wake:
                    yield


def _report(source: Source, details: dict[str, Any]) -> dict[str, Any]:
    """Stored counts, and what lies in the inbox and in failed/ now."""
    path: Path = source.options["path"]

    def count(folder: Path) -> int:
        try:
            return sum(1 for p in folder.iterdir() if p.is_file() and is_digest_file(p))
        except OSError:
            return 0

    return {**details, "waiting": count(path), "in_failed": count(path / "failed")}


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be a positive number of bytes"


KIND = register(
    SourceKind(
        name="folder",
        summary="an inbox folder: files dropped into it are ingested within seconds",
        keys=(
            Key("path", "path", "inbox", help="relative to config.toml; default <state_dir>/inbox"),
            Key(
                "settle",
                "duration",
                timedelta(seconds=5),
                help="a file with no close event is complete once unchanged this long",
            ),
            Key(
                "max_file_bytes",
                "int",
                50_000_000,
                _positive,
                help="larger files are quarantined unread",
            ),
        ),
        poll=poll,
        describe=lambda source: str(source.options["path"]),
        every=timedelta(minutes=1),
        watch=watch,
        report=_report,
    )
)
