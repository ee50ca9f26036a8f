"""`pubmed`: the papers PubMed lists for a query, from NCBI's E-utilities.

Each run asks esearch for the query's papers entered (`datetype=edat`) from the first day
not yet polled (yesterday on a first run, the day of the last success after a pause, at
most `catch_up_days` back) to today, keeping the result on NCBI's history server
(`usehistory=y`), then efetches them 200 at a time. Each batch is one document, parsed
by daemon.parse.pubmed_xml: a paper is its PMID, and meets its journal and preprint rows
by its DOI. NCBI allows 3 requests a second without an API key and 10 with one; the key
travels in the query string, so it is left out of every location stored or shown.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

from daemon.core.errors import FetchError
from daemon.sources.contract import (
    Context,
    Key,
    Outcome,
    Source,
    SourceKind,
    catch_up_key,
    register,
)

BATCH = 200  # records per efetch (NCBI's advice for large sets)
MAX_RECORDS = 10_000  # per poll: a term this broad is told so, its first records kept


def _pace(source: Source) -> tuple[str, float]:
    return ("ncbi", 0.1 if source.options["api_key"] else 0.34)


def _url(source: Source, tool: str, **params: str | int) -> tuple[str, str]:
    """(the URL to ask, the URL to show and store: without the API key)."""
    common: dict[str, str | int] = {"db": "pubmed", **params, "tool": "paperwatch"}
    if source.options["email"]:
        common["email"] = source.options["email"]
    shown = f"{source.base_url}/{tool}.fcgi?{urlencode(common)}"
    if source.options["api_key"]:
        common["api_key"] = source.options["api_key"]
    return f"{source.base_url}/{tool}.fcgi?{urlencode(common)}", shown


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    days = ctx.days_to_fetch(source)
    url, shown = _url(
        source,
        "esearch",
        term=source.options["term"],
        datetype="edat",
        mindate=days[0].strftime("%Y/%m/%d"),
        maxdate=days[-1].strftime("%Y/%m/%d"),
        usehistory="y",
        retmax=0,
    )
    count, key, env = _search(ctx.http.get(url, pace=_pace(source)).body, shown)
    if count > MAX_RECORDS:
        outcome.notes.append(f"{count} papers match: the first {MAX_RECORDS} taken")
    for start in range(0, min(count, MAX_RECORDS), BATCH):
        ctx.check_time(source)
        url, shown = _url(
            source,
            "efetch",
            query_key=key,
            WebEnv=env,
            retstart=start,
            retmax=BATCH,
            retmode="xml",
        )
        ctx.ingest(outcome, source, ctx.http.get(url, pace=_pace(source)).body, shown)
    return outcome


def _search(body: bytes, shown: str) -> tuple[int, str, str]:
    """(how many papers, the history's query key, its WebEnv) of an esearch answer; an
    answer with an error, or without the history asked for, fails the poll."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise FetchError(f"{shown}: not an esearch answer ({exc})") from None
    error = root.findtext("ERROR") or root.findtext("ErrorList/PhraseNotFound")
    if error:
        raise FetchError(f"{shown}: PubMed says {' '.join(error.split())[:200]!r}")
    count = (root.findtext("Count") or "").strip()
    if not count.isdecimal():
        raise FetchError(f"{shown}: no count in the esearch answer")
    key, env = (root.findtext("QueryKey") or "").strip(), (root.findtext("WebEnv") or "").strip()
    if int(count) and not (key and env):
        raise FetchError(f"{shown}: the esearch answer keeps no history (QueryKey, WebEnv)")
    return int(count), key, env


def _term(value: str) -> str | None:
    """A PubMed query: not empty, its quotes and brackets closed."""
    if not value.strip():
        return "must not be empty"
    if value.count('"') % 2:
        return 'has an unclosed quote (")'
    depth = 0
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return "has a ) before its ("
    return None if depth == 0 else "has an unclosed ("


def _describe(source: Source) -> str:
    return f"PubMed {source.options['term']!r} via {source.base_url}"


KIND = register(
    SourceKind(
        name="pubmed",
        summary="PubMed: the papers entered for a query, from NCBI's E-utilities",
        keys=(
            Key("term", "str", check=_term, help='a PubMed query: "CRISPR"[tiab] AND humans[mh]'),
            Key("api_key", "secret", None, help="NCBI's API key: 10 requests a second, not 3"),
            Key("email", "str", "", help="sent with each request, as NCBI asks of tools"),
            Key(
                "base_url",
                "url",
                "https://eutils.ncbi.nlm.nih.gov/entrez/eutils",
                help="E-utilities (tests: a local one)",
            ),
            catch_up_key(),
        ),
        poll=poll,
        describe=_describe,
        every=timedelta(hours=6),
    )
)
