"""Time, passed in: the system clock in production, a hand-moved clock in tests."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
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


def human(delta: timedelta | None) -> str:
    """A duration the way config.toml writes it: 90 s -> "90s", 4 min -> "4m"."""
    seconds = int(delta.total_seconds()) if delta else 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def days_to_poll(today: date, last_success: date | None, catch_up_days: int) -> list[date]:
    """Yesterday and today (a day's listing grows during it), and every day missed since
    the last successful poll, at most `catch_up_days` back."""
    first = today - timedelta(days=1)
    if last_success is not None:
        first = min(first, max(last_success, today - timedelta(days=catch_up_days)))
    return [first + timedelta(days=i) for i in range((today - first).days + 1)]
