"""Sources fetch raw documents; everything after that is the shared ingest path."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from daemon.config import Config, Source
from daemon.errors import FetchError
from daemon.http import HttpClient
from daemon.ingest import ingest_bytes
from daemon.log import event
from daemon.store import ChangeHook, IngestResult, Store


@dataclass
class Outcome:
    """What one poll of one source did."""

    documents: int = 0
    papers: int = 0
    new: int = 0
    gained: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.documents} documents, {self.papers} papers, {self.new} new, "
            f"{self.gained} gained text"
        )
        return text + ("; " + "; ".join(self.notes) if self.notes else "")


@dataclass
class PollContext:
    store: Store
    config: Config
    http: HttpClient
    now: datetime
    hook: ChangeHook | None
    deadline: float  # time.monotonic() by which the poll must stop

    def check_time(self, source: Source) -> None:
        """The job's hard limit, checked between requests (each request has a timeout)."""
        if time.monotonic() > self.deadline:
            raise FetchError(
                f"{source.name}: over the job time limit "
                f"({self.config.http.job_time_limit}), stopped"
            )

    def ingest(
        self,
        outcome: Outcome,
        source: Source,
        data: bytes,
        *,
        name: str,
        location: str,
        ref_time: datetime,
    ) -> IngestResult:
        result = ingest_bytes(
            self.store,
            data,
            name=name,
            source=source.name,
            location=location,
            ref_time=ref_time,
            now=self.now,
            on_change=self.hook,
        )
        for pid, title in (
            self.store.conn.execute(
                f"SELECT id, title FROM papers WHERE id IN ({','.join('?' * len(result.new))})",
                result.new,
            )
            if result.new
            else ()
        ):
            event("new_paper", source=source.name, id=pid, title=title)
        outcome.documents += 1
        outcome.papers += result.papers
        outcome.new += len(result.new)
        outcome.gained += len(result.gained)
        return result
