"""`citations`: new papers citing the papers citation watchlists follow, from Semantic
Scholar's Graph API.

Each run asks `/paper/{DOI:...|ARXIV:...|PMID:...}/citations` for every followed paper,
page after page (`offset`, until an answer has no `next`), a second apart at least (the
API's rate without a key). Each page is one document, parsed by daemon.parse.s2_json; a
citing paper published before the first day not yet polled is stored without matching
(years-old papers are no news to keyword watchlists), a newer one is matched as any.
What cites a followed paper for the first time alerts its watchlists; the first read of
a paper's citations records them without alerting (as Google Scholar: new citations
only). One followed paper's failure (S2 does not know it) costs no other; the poll
still fails, saying which, so it backs off and reaches the admin alert.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlencode

from daemon.core.errors import FetchError, PaperwatchError
from daemon.core.models import title_key
from daemon.ingest.identity import as_stored
from daemon.parse import json_text, parse_document
from daemon.sources.contract import (
    Context,
    Key,
    Outcome,
    Source,
    SourceKind,
    catch_up_key,
    register,
)

PAGE = 500  # citations per request (the API's limit is 1,000)
MAX_PAGES = 20  # per followed paper and poll: 10,000 citations
PACE = ("semanticscholar", 1.0)
FIELDS = "title,abstract,authors,externalIds,publicationDate,url"
_S2_ID = {"doi": "DOI", "arxiv": "ARXIV", "pmid": "PMID"}


def poll(ctx: Context, source: Source) -> Outcome:
    outcome = Outcome()
    failed = []
    for cited in ctx.followed_citations():
        try:
            ids = _citing(ctx, source, cited, outcome)
        except PaperwatchError as exc:  # this paper's, not the others'
            failed.append(f"{cited}: {exc}")
            continue
        with ctx.store.transaction():
            known = ctx.store.citations.known(cited)
            new = ctx.store.citations.record(cited, ids, ctx.now.isoformat(timespec="seconds"))
        if not known:
            outcome.notes.append(f"{cited}: {len(new)} citations so far (no alert)")
        elif new:
            alerts = ctx.alert_citations(cited, new)
            outcome.notes.append(f"{cited}: {len(new)} new citations, {alerts} alerts")
    if failed:
        raise FetchError("; ".join(failed)[:1000])
    return outcome


def _citing(ctx: Context, source: Source, cited: str, outcome: Outcome) -> list[int]:
    """The stored ids of the papers S2 lists as citing `cited`, each page stored."""
    kind, _, value = cited.partition(":")
    headers = {"x-api-key": source.options["api_key"]} if source.options["api_key"] else {}
    path = f"{source.base_url}/paper/{_S2_ID[kind]}:{quote(value, safe='/.')}/citations"
    ids: list[int] = []
    offset: int | None = 0
    for _ in range(MAX_PAGES):
        ctx.check_time(source)
        url = f"{path}?{urlencode({'fields': FIELDS, 'offset': offset, 'limit': PAGE})}"
        body = ctx.http.get(url, headers, pace=PACE).body
        papers = parse_document(body, url, ctx.now).papers  # an error answer fails here
        offset = _next(body)
        ctx.ingest(outcome, source, body, url, alert_from=ctx.days_to_fetch(source)[0])
        for paper in map(as_stored, papers):
            found = ctx.store.papers.find(
                paper.arxiv_id, title_key(paper.title), paper.doi, paper.pmid
            )
            if found is not None:
                ids.append(found)
        if offset is None:
            return ids
    outcome.notes.append(f"{cited}: over {MAX_PAGES * PAGE} citations, the first read")
    return ids


def _next(body: bytes) -> int | None:
    try:
        after = json_text.loads(body).get("next")
    except (ValueError, AttributeError):
        return None
    return after if isinstance(after, int) and after > 0 else None


def _describe(source: Source) -> str:
    return f"Semantic Scholar: what cites the papers watchlists follow, via {source.base_url}"


KIND = register(
    SourceKind(
        name="citations",
        summary="new papers citing the papers watchlists follow (cites), from Semantic Scholar",
        keys=(
            Key("api_key", "secret", None, help="S2's API key (x-api-key): a higher rate"),
            catch_up_key(help="citing papers this recent are new to keyword watchlists"),
            Key(
                "base_url",
                "url",
                "https://api.semanticscholar.org/graph/v1",
                help="the Graph API (tests: a local one)",
            ),
        ),
        poll=poll,
        describe=_describe,
        every=timedelta(hours=12),
    )
)
