"""Text dumps: the visible text of a Daily Papers page saved by a browser or an extractor.

After the page chrome, the dump is title / abstract / title / abstract... one per line.
Blank lines are optional (the compact variant has none), so pairing is by non-empty line.
"""

from __future__ import annotations

from datetime import date, datetime

from daemon.errors import ParseError
from daemon.models import Digest, Paper, clean_text
from daemon.parse.days import parse_yearless

CHROME = {
    "new",
    "subscribe",
    "daily papers",
    "byak and the research community",
    "by ak and the research community",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
}
GLUED_PREFIX = "Subscribe"
MAX_TITLE_CHARS = 400
MIN_ABSTRACT_CHARS = 60


def parse_text(text: str, name: str, ref_time: datetime) -> Digest:
    lines = [clean_text(line) for line in text.splitlines()]
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line]
    page_day, start, body = _strip_chrome(numbered, ref_time)
    if not body:
        raise ParseError(
            f"{name}: no papers found (only page chrome)" if start else f"{name}: no papers found"
        )
    if len(body) % 2:
        lineno, line = body[-1]
        raise ParseError(
            f"{name}: line {lineno}: title without an abstract (truncated dump?): {line[:60]!r}"
        )
    papers = []
    for (tline, title), (aline, abstract) in zip(body[0::2], body[1::2], strict=True):
        if len(title) > MAX_TITLE_CHARS:
            raise ParseError(
                f"{name}: line {tline}: expected a title, found {len(title)} "
                "characters of text (not a title/abstract dump)"
            )
        if len(abstract) < MIN_ABSTRACT_CHARS or len(abstract) <= len(title):
            raise ParseError(
                f"{name}: line {aline}: expected the abstract of {title[:60]!r}, "
                f"found {abstract[:60]!r} (not a title/abstract dump)"
            )
        papers.append(Paper(title=title, abstract=abstract))
    return Digest("text", tuple(papers), page_day)


def _strip_chrome(
    numbered: list[tuple[int, str]], ref_time: datetime
) -> tuple[date | None, int, list[tuple[int, str]]]:
    """Drop the page's header lines; split a title glued to the Subscribe button."""
    page_day = None
    i = 0
    while i < len(numbered):
        lineno, line = numbered[i]
        folded = line.casefold()
        day = parse_yearless(line, ref_time)
        if folded in CHROME:
            i += 1
        elif day is not None:
            page_day = day
            i += 1
        elif line.startswith(GLUED_PREFIX) and len(line) > len(GLUED_PREFIX):
            rest = [(lineno, line[len(GLUED_PREFIX) :].strip())]
            return page_day, i, rest + numbered[i + 1 :]
        else:
            break
    return page_day, i, numbered[i:]
