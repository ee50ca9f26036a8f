"""Time, passed in: the system clock in production, a hand-moved clock in tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...  # aware, UTC

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM = SystemClock()


def iso(moment: datetime) -> str:
    """How moments are stored: UTC, ISO 8601, whole seconds (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")
