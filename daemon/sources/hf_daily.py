"""`hf_daily`: Hugging Face Daily Papers, one API call per day, the day's page as fallback.

Each run polls today and yesterday (lists grow during the day) and every day missed since
the last successful poll, up to `catch_up_days`.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta

from daemon.core.errors import FetchError, ParseError
from daemon.core.log import event
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

PAGE_LIMIT = 100
MAX_PAGES = 20


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    for day in ctx.days_to_fetch(source):
        ctx.check_time(source)
        poll_day(ctx, source, day, outcome)  # the first failing day fails the poll; the
    return outcome  # next run starts again from the last successful one


def _api_day(ctx: Context, source: Source, day: date) -> bytes:
    """Every entry of `day` from the API as one JSON array (more pages while full)."""
    entries: list[object] = []
    for page in range(MAX_PAGES):
        ctx.check_time(source)
        url = (
            f"{source.base_url}/api/daily_papers?date={day.isoformat()}&limit={PAGE_LIMIT}&p={page}"
        )
        body = ctx.http.get(url, token=source.options["hf_token"]).body
        try:
            chunk = json_text.loads(body)
        except (ValueError, RecursionError):
            raise ParseError(f"{url}: API answered something that is not JSON") from None
        if not isinstance(chunk, list):
            raise ParseError(f"{url}: API answered JSON of the wrong shape")
        entries.extend(chunk)
        if len(chunk) < PAGE_LIMIT:
            break
    return json.dumps(entries).encode()


def poll_day(ctx: Context, source: Source, day: date, outcome: Outcome) -> None:
    """The API's answer for `day`; the day's page when the API fails or answers nonsense."""
    location = f"{source.base_url}/api/daily_papers?date={day.isoformat()}"
    try:
        data = _api_day(ctx, source, day)
        ctx.ingest(outcome, source, data, location)
        return
    except (FetchError, ParseError) as exc:
        api_error = exc
    event("api_fallback", logging.DEBUG, source=source.name, day=day, reason=str(api_error))
    page = f"{source.base_url}/papers/date/{day.isoformat()}"
    try:
        response = ctx.http.get(page, token=source.options["hf_token"])
        result = ctx.ingest(
            outcome,
            source,
            response.body,
            page,
        )
    except (ParseError, FetchError) as page_exc:
        raise FetchError(f"day {day}: API: {api_error}; page: {page_exc}") from None
    if result.page_day and result.page_day != day.isoformat():
        outcome.notes.append(f"{day} page shows {result.page_day}")


KIND = register(
    SourceKind(
        name="hf_daily",
        summary="Hugging Face Daily Papers: the API per day, the day's page as fallback",
        keys=(
            Key("base_url", "url", "https://huggingface.co", help="the site (tests: a local one)"),
            catch_up_key(),
            Key("hf_token", "secret", None, help="sent as a Bearer header to base_url only"),
        ),
        poll=poll,
        describe=lambda source: source.base_url,
        every=timedelta(minutes=30),
    )
)
