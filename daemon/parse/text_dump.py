"""Text dumps: the visible text of a Daily Papers page saved by a browser or an extractor.

After the page chrome, the dump is title / abstract / title / abstract... one per line.
Blank lines are optional (the compact variant has none), so pairing is by non-empty line.
The day the page shows ("Jul 30", its year the nearest past one from the file's time) is
each paper's Daily Papers day: their own day, shown and filtered on as any paper's.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import date, datetime

from daemon.core.errors import ParseError
from daemon.core.models import MAX_FIELD, Digest, Paper, clean_text
from daemon.parse.days import parse_yearless
from daemon.parse.formats import GENERAL, Format, register_format

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


NEWLINE = b"\n"
_LINE = re.compile(rb"[^\r\n]+")


def _lines(data: bytes | bytearray) -> Iterator[tuple[int, str]]:
    """Non-empty lines, whitespace collapsed, with their byte offsets, decoded one at a
    time: a large dump is never held as bytes and as text at once. `data` is UTF-8
    (checked by the caller)."""
    for m in _LINE.finditer(data, len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0):
        # a line is read up to what clean_text keeps: one of 49 MB is not copied whole
        end = min(m.end(), m.start() + 16 * MAX_FIELD)
        line = clean_text(data[m.start() : end].decode("utf-8", "ignore"))
        if line:
            yield m.start(), line


def parse_text(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    def at(offset: int) -> str:
        return f"{name}: line {data.count(NEWLINE, 0, offset) + 1}"

    lines = _lines(data)
    page_day, chrome, first = _strip_chrome(lines, ref_time)
    papers = []
    title: tuple[int, str] | None = first
    for item in lines if first is not None else ():
        if title is None:
            title = item
            continue
        (toffset, ttext), (aoffset, abstract) = title, item
        title = None
        if len(ttext) > MAX_TITLE_CHARS:
            raise ParseError(
                f"{at(toffset)}: expected a title, found {len(ttext)} "
                "characters of text (not a title/abstract dump)"
            )
        if len(abstract) < MIN_ABSTRACT_CHARS or len(abstract) <= len(ttext):
            raise ParseError(
                f"{at(aoffset)}: expected the abstract of {ttext[:60]!r}, "
                f"found {abstract[:60]!r} (not a title/abstract dump)"
            )
        papers.append(Paper(title=ttext, abstract=abstract, hf_day=page_day))
    if title is not None:
        raise ParseError(
            f"{at(title[0])}: title without an abstract (truncated dump?): {title[1][:60]!r}"
        )
    if not papers:
        raise ParseError(
            f"{name}: no papers found (only page chrome)" if chrome else f"{name}: no papers found"
        )
    return Digest("text", tuple(papers), page_day)


def _strip_chrome(
    lines: Iterator[tuple[int, str]], ref_time: datetime
) -> tuple[date | None, bool, tuple[int, str] | None]:
    """Drop the page's header lines; split a title glued to the Subscribe button.
    Returns the page day, whether there was chrome, and the first line of the body."""
    page_day = None
    chrome = False
    for offset, line in lines:
        day = parse_yearless(line, ref_time)
        if line.casefold() in CHROME:
            chrome = True
        elif day is not None:
            page_day, chrome = day, True
        elif line.startswith(GLUED_PREFIX) and len(line) > len(GLUED_PREFIX):
            return page_day, True, (offset, line[len(GLUED_PREFIX) :].strip())
        else:
            return page_day, chrome, (offset, line)
    return page_day, chrome, None


# whatever no other format claims is read as a text dump (its own errors say why not)
FORMAT = register_format(Format("text", GENERAL, lambda head: True, parse_text))
