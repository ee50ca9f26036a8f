"""Page days: ISO dates and the yearless "Jul 30" that pages and dumps show."""

from __future__ import annotations

import re
from datetime import date, datetime

MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
YEARLESS = re.compile(r"^([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})$")


def parse_iso_day(value: object) -> date | None:
    """The date part of '2026-06-12' or '2026-06-12T00:00:00.000Z'; None if absent or bad."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_yearless(text: str, ref_time: datetime) -> date | None:
    """'Jul 30' as the most recent such date not after `ref_time`; None if not a day."""
    m = YEARLESS.match(text.strip())
    if not m or m.group(1).lower() not in MONTHS:
        return None
    month, day = MONTHS[m.group(1).lower()], int(m.group(2))
    ref = ref_time.date()
    for year in range(ref.year, ref.year - 8, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # Feb 29 in a non-leap year, or Apr 31
        if candidate <= ref:
            return candidate
    return None
