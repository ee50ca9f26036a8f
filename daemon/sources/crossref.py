"""`crossref`: journals' tables of contents, from Crossref's REST API.

Each run asks `/works` for the works of the journals named by `issn` that Crossref
registered (`from-created-date`) from the first day not yet polled to today: a record
re-indexed years later is no new paper. Pages are followed by cursor (`cursor=*`, then
each answer's `next-cursor`) until one comes back short; each page is one document,
parsed by daemon.parse.crossref_json (a paper is its DOI). `mailto` puts the requests
in Crossref's polite pool, as its documentation asks of tools.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from daemon.core.errors import FetchError, ParseError
from daemon.parse import json_text
from daemon.sources.contract import (
    Context,
    Key,
    Outcome,
    Source,
    SourceKind,
    catch_up_key,
    register,
)

MAX_PAGES = 100
PACE = ("crossref", 0.5)
_ISSN = re.compile(r"^(\d{4})-?(\d{3})([\dX])$", re.IGNORECASE)


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    days = ctx.days_to_fetch(source)
    journals = ",".join(f"issn:{_normal(i)}" for i in source.options["issn"])
    params = {
        "filter": f"{journals},from-created-date:{days[0]},until-created-date:{days[-1]}",
        "rows": source.options["rows"],
    }
    if source.options["mailto"]:
        params["mailto"] = source.options["mailto"]
    cursor = "*"
    for _ in range(MAX_PAGES):
        ctx.check_time(source)
        url = f"{source.base_url}/works?{urlencode({**params, 'cursor': cursor})}"
        body = ctx.http.get(url, pace=PACE).body
        after, items = _paging(body, url)  # an error answer fails here, before it is stored
        if items:
            ctx.ingest(outcome, source, body, url)
        if items < source.options["rows"] or not after:
            return outcome
        cursor = after
    raise FetchError(f"{source.base_url}: more than {MAX_PAGES} pages for {days[0]}..{days[-1]}")


def _paging(body: bytes, url: str) -> tuple[str | None, int]:
    """(the next page's cursor, how many works this page holds) of an answer."""
    try:
        doc: dict[str, Any] = json_text.loads(body)
        if doc.get("status") != "ok":
            raise FetchError(f"{url}: Crossref says {str(doc.get('message'))[:200]!r}")
        message = doc["message"]
        after, items = message.get("next-cursor"), message["items"]
        return (str(after) if after else None), len(items)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ParseError(f"{url}: no works in the answer ({exc!r})") from None


def _normal(issn: str) -> str:
    m = _ISSN.match(issn.strip())
    assert m is not None, issn  # checked with the config
    return f"{m.group(1)}-{m.group(2)}{m.group(3).upper()}"


def check_digit(seven: str) -> str:
    """ISSN's check character of its first seven digits (ISO 3297: weights 8 to 2, mod 11)."""
    total = sum(int(d) * w for d, w in zip(seven, range(8, 1, -1), strict=True))
    digit = (11 - total % 11) % 11
    return "X" if digit == 10 else str(digit)


def _issns(values: list[str]) -> str | None:
    if not values:
        return "name at least one journal by its ISSN"
    for value in values:
        m = _ISSN.match(value.strip())
        if m is None:
            return f"{value!r} is not an ISSN (NNNN-NNNC, e.g. 0028-0836)"
        seven = m.group(1) + m.group(2)
        if m.group(3).upper() != check_digit(seven):
            right = f"{seven[:4]}-{seven[4:]}{check_digit(seven)}"
            return f"{value!r} fails its check digit: a typo? (did you mean {right!r}?)"
    return None


def _rows(value: int) -> str | None:
    return None if 1 <= value <= 1000 else "must be between 1 and 1000 (Crossref's limit)"


def _describe(source: Source) -> str:
    return f"Crossref, journals {', '.join(source.options['issn'])} via {source.base_url}"


KIND = register(
    SourceKind(
        name="crossref",
        summary="journal tables of contents: the works Crossref registers for ISSNs",
        keys=(
            Key("issn", "str_list", check=_issns, help="the journals, by ISSN (print or online)"),
            Key("mailto", "str", "", help="your address: Crossref's polite pool"),
            Key("rows", "int", 200, _rows, "works per page"),
            Key("base_url", "url", "https://api.crossref.org", help="the API (tests: a local one)"),
            catch_up_key(),
        ),
        poll=poll,
        describe=_describe,
        every=timedelta(hours=6),
    )
)
