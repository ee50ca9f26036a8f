"""A clock the test moves: sleeping advances it at once, so politeness waits cost nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2026, 6, 12, 12, tzinfo=UTC)
        self.elapsed = 0.0
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            self.elapsed += seconds

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)
