"""The one backoff rule: a first delay doubling with each attempt, up to a cap."""

from __future__ import annotations

from datetime import timedelta


def backoff(first: timedelta, attempt: int, cap: timedelta) -> timedelta:
    """Delay before retry number `attempt` (1 = the first retry): first * 2^(attempt-1)."""
    return min(first * (1 << min(max(attempt - 1, 0), 30)), cap)
