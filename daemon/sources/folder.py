"""`folder`: an inbox directory. Complete files are ingested, then moved to done/ or to
failed/ with `<name>.error.txt`. Nothing is deleted; a symlink out of the inbox is refused.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from daemon.config import Source
from daemon.errors import PaperwatchError
from daemon.log import event
from daemon.sources import Outcome, PollContext

IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".swp", ".error.txt")
SETTLE_SECONDS = 0.5  # a file is complete once its size and mtime stop changing this long


def is_candidate(path: Path) -> bool:
    """Files worth reading: not hidden, not a partial download."""
    return not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)


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
    target.with_name(target.name + ".error.txt").write_text(reason + "\n")
    event("quarantined", file=path.name, to=str(target), reason=reason)
    return target


@dataclass
class Inbox:
    """Remembers what each file looked like at the last scan, to tell complete files."""

    seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def ready(self, path: Path, st: os.stat_result) -> bool:
        shape = (st.st_size, st.st_mtime_ns)
        before = self.seen.get(path.name)
        self.seen[path.name] = shape
        settled = time.time() - st.st_mtime >= SETTLE_SECONDS
        return settled and (before == shape or time.time() - st.st_mtime >= 2 * SETTLE_SECONDS)

    def scan(self, ctx: PollContext, source: Source, outcome: Outcome) -> None:
        inbox = source.path
        assert inbox is not None
        inbox.mkdir(parents=True, exist_ok=True)
        root = inbox.resolve()
        names = set()
        for path in sorted(inbox.iterdir()):
            if not is_candidate(path):
                continue
            names.add(path.name)
            if path.is_symlink():
                target = path.resolve()
                if root not in target.parents:
                    quarantine(
                        path, inbox, f"{path.name}: symlink to {target}, outside the inbox: refused"
                    )
                    continue
            if not path.is_file():
                continue
            st = path.stat()
            if not self.ready(path, st):
                continue
            self.ingest_file(ctx, source, path, st, outcome)
        self.seen = {k: v for k, v in self.seen.items() if k in names}

    def ingest_file(
        self, ctx: PollContext, source: Source, path: Path, st: os.stat_result, outcome: Outcome
    ) -> None:
        inbox = source.path
        assert inbox is not None
        try:
            data = path.read_bytes()
            ref = datetime.fromtimestamp(st.st_mtime, UTC)
            result = ctx.ingest(
                outcome, source, data, name=path.name, location=str(path.resolve()), ref_time=ref
            )
        except PaperwatchError as exc:
            quarantine(path, inbox, str(exc))
            outcome.notes.append(f"{path.name} failed")
            return
        except OSError as exc:  # left in the inbox: the next scan tries again
            event("inbox_unreadable", logging.WARNING, file=path.name, error=exc.strerror)
            outcome.notes.append(f"{path.name}: {exc.strerror}")
            return
        done = move(path, inbox / "done")
        event(
            "ingested",
            source=source.name,
            file=path.name,
            papers=result.papers,
            new=len(result.new),
            gained=len(result.gained),
            duplicate=result.duplicate,
            moved_to=str(done),
        )
        self.seen.pop(path.name, None)


def poll(ctx: PollContext, source: Source, inbox: Inbox | None = None) -> Outcome:
    outcome = Outcome()
    (inbox or Inbox()).scan(ctx, source, outcome)
    return outcome
