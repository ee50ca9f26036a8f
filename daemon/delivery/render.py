"""Alert messages: one digest per watchlist and channel, in the format each service takes:
a styled HTML document (email), HTML fragments, markdown (chat), plain text. A service
with a size limit gets the digest in numbered parts, each within the limit."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from markupsafe import Markup

from daemon.core.errors import QueryError
from daemon.core.models import abs_url, doi_url, pdf_url, pmc_url, pubmed_url, title_search_url
from daemon.delivery.jinja import template
from daemon.language.query import DEFAULT_FIELDS, Field, make_term, term_spans
from daemon.language.text import tokenize
from daemon.store.rows import StoredMatch, StoredPaper

SNIPPET_CHARS = 320
MAX_AUTHORS = 6
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#|<>~])")  # inline markup only
EMAIL = "email"  # HTML as one styled document, for mail clients (never split)


class NotifyFormat:
    """The body formats, as apprise names them (its own enum would import apprise, which
    a daemon whose channels are all paperwatch's own never needs)."""

    TEXT = "text"
    HTML = "html"
    MARKDOWN = "markdown"


def _email() -> Any:
    """The email's template."""
    return template("email.html")


class Part(NamedTuple):
    """One message to send: its title, its body, and which papers (cards) it carries."""

    title: str
    body: str
    cards: tuple[int, ...]


@dataclass(frozen=True)
class Message:
    """A message in every body format: an opening (`heads`) and a card per paper."""

    title: str
    heads: dict[str, str]
    cards: tuple[dict[str, str], ...] = ()
    email: str = ""

    @classmethod
    def plain(cls, title: str, body: str) -> Message:
        """A one-paragraph notice (tests, admin alerts) in every body format."""
        heads: dict[str, str] = {
            NotifyFormat.HTML: f"<p>{html.escape(body)}</p>",
            NotifyFormat.MARKDOWN: md_escape(body),
            NotifyFormat.TEXT: body,
        }
        return cls(title, heads, (), _email().render(title=title, intro=body, cards=[]))

    def body(self, fmt: str) -> str:
        """The whole message in `fmt`."""
        if fmt == EMAIL:
            return self.email
        return "\n".join([self.heads[fmt], *(card[fmt] for card in self.cards)])

    @property
    def html(self) -> str:
        return self.body(NotifyFormat.HTML)

    @property
    def markdown(self) -> str:
        return self.body(NotifyFormat.MARKDOWN)

    @property
    def text(self) -> str:
        return self.body(NotifyFormat.TEXT)

    def parts(self, fmt: str, limit: int | None) -> list[Part]:
        """The messages to send where a message holds at most `limit` characters (None:
        no limit): whole cards to a part, each part numbered."""
        whole = self.body(fmt)
        if fmt == EMAIL or limit is None or len(self.title) + len(whole) <= limit:
            return [Part(self.title, whole, tuple(range(len(self.cards))))]
        label = _PART_LABEL.get(fmt, _PART_LABEL[NotifyFormat.TEXT])
        room = limit - len(self.title) - len(" (part 999 of 999)") - len(label.format(999, 999))
        room -= len(self.heads[fmt]) + 2
        groups: list[list[int]] = [[]]
        texts: list[str] = []
        used = 0
        for number, card in enumerate(self.cards):
            text = card[fmt] if len(card[fmt]) < room else card[fmt][: max(0, room - 2)] + "…"
            if groups[-1] and used + len(text) + 1 > room:
                groups.append([])
                used = 0
            groups[-1].append(number)
            texts.append(text)
            used += len(text) + 1
        n = len(groups)
        return [
            Part(
                f"{self.title} (part {i} of {n})",
                "\n".join([label.format(i, n), self.heads[fmt], *(texts[c] for c in group)]),
                tuple(group),
            )
            for i, group in enumerate(groups, 1)
        ]


_PART_LABEL: dict[str, str] = {
    NotifyFormat.HTML: "<p><b>Part {} of {}</b></p>",
    NotifyFormat.MARKDOWN: "_Part {} of {}_",
    NotifyFormat.TEXT: "Part {} of {}",
}


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


class Highlighter:
    """Marks where a watchlist's matched terms matched: a phrase as the phrase, a
    compound or a word form as the word it matched."""

    def __init__(self, terms: list[str]) -> None:
        # labels of terms that matched, or the words of a search: one that is no term
        # ("&", a lone "*") marks nothing
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self.terms = []
        for label in terms:
            try:
                self.terms.append(make_term(label.strip('"'), DEFAULT_FIELDS))
            except QueryError:
                continue

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character ranges to mark, merged, in order (a card marks its title and its
        snippet in every body format: each text is cut once)."""
        if text not in self._spans:
            self._spans[text] = self._find(text)
        return self._spans[text]

    def _find(self, text: str) -> list[tuple[int, int]]:
        field = Field(tokenize(text))
        at = field.tokens.spans
        found = sorted(
            (at[first][0], at[last][1])
            for term in self.terms
            for first, last in term_spans(term, field)
        )
        merged: list[tuple[int, int]] = []
        for start, end in found:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def apply(self, text: str, escape: Callable[[str], str], mark: Callable[[str], str]) -> str:
        out, last = [], 0
        for start, end in self.spans(text):
            out.append(escape(text[last:start]))
            out.append(mark(escape(text[start:end])))
            last = end
        out.append(escape(text[last:]))
        return "".join(out)

    def snippet(self, text: str) -> str:
        """About SNIPPET_CHARS of `text`, starting near the first highlighted word."""
        if len(text) <= SNIPPET_CHARS:
            return text
        spans = self.spans(text)
        first = spans[0][0] if spans else 0
        start = max(0, text.rfind(". ", 0, first) + 2) if first > SNIPPET_CHARS // 2 else 0
        if first - start > SNIPPET_CHARS // 2:
            start = max(0, first - SNIPPET_CHARS // 3)
            space = text.find(" ", start, first)  # start at a word, not inside one
            start = space + 1 if space != -1 else start
        end = start + SNIPPET_CHARS
        cut = text.rfind(" ", start, end)
        body = text[start : cut if cut > start else end]
        return ("… " if start else "") + body + " …"


def paper_json(paper: StoredPaper) -> dict[str, Any]:
    """A stored paper as `papers --json` and the web API show it."""
    return {
        "id": paper.id,
        "arxiv_id": paper.arxiv_id,
        "doi": paper.doi,
        "pmid": paper.pmid,
        "pmcid": paper.pmcid,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "url": paper.url,
        "day": paper.day,
        "first_seen": paper.first_seen,
        "sightings": paper.sightings,
    }


def terms_line(matched: tuple[tuple[str, str], ...]) -> str:
    """Matched terms where they were found; an author's name as "by Y. LeCun", a paper
    a citation watchlist follows as "cites 10.1016/..."."""
    return ", ".join(_term_said(t, f) for t, f in matched)


_CITED = {"doi": "{}", "arxiv": "arXiv:{}", "pmid": "PMID {}"}


def _term_said(term: str, field: str) -> str:
    if field == "author":
        return f"by {term}"
    if field == "cites":
        kind, _, value = term.partition(":")
        return "cites " + _CITED.get(kind, "{}").format(value)
    return f"{term} in {field}"


def why_line(match: StoredMatch) -> str:
    """Why a paper matched, as a reader says it: its terms and where; for a match by
    similarity, the examples it is closest to and the terms it shares with them (the
    numbers are `why_numbers`')."""
    parts = [terms_line(tuple((t, f) for t, f in match.matched if f != "similar"))]
    parts = [p for p in parts if p]
    if match.explain:
        facts = match.explain
        words = ", ".join(t for t, f in match.matched if f == "similar")
        near = [f"“{t}”" for t in facts.get("closest", [])]
        like = f"close to your examples {' and '.join(near)}" if near else "like your examples"
        rank = (
            "above every recent paper"
            if facts["percentile"] >= 1
            else f"top {100 * (1 - facts['percentile']):.2g}% of recent papers"
        )
        parts.append(f"{like}; shared terms: {words} ({rank})")
    why = ", ".join(parts)
    if match.title_only:
        why += " (title only: decided without the abstract, which never came)"
    return why


def why_numbers(match: StoredMatch) -> str:
    """A similarity match's numbers: its score, what its words and its meaning gave, and
    the threshold ("" for a keyword match)."""
    facts = match.explain
    if not facts:
        return ""
    split = (
        f" ({facts['words']:.2f} from its words, {facts['meaning']:.2f} from its meaning)"
        if "meaning" in facts
        else ""
    )
    return f"score {facts['score']:.2f}{split}; alerting from {facts['threshold']:.2f}"


def authors_line(names: Sequence[str], matched: Sequence[str] = ()) -> str:
    """The first MAX_AUTHORS names, the matched ones among the rest (an author watchlist
    says whom it found, never hides them behind "et al."), then "et al."."""
    shown = list(names[:MAX_AUTHORS])
    later = [n for n in names[MAX_AUTHORS:] if n in matched]
    if later:
        shown += ["…", *later]
    line = ", ".join(shown).replace("…,", "…")
    return line + (f" et al. ({len(names)} authors)" if len(names) > MAX_AUTHORS else "")


def matched_authors(match: StoredMatch) -> tuple[str, ...]:
    """The paper's authors an author watchlist found (as the paper writes them)."""
    names = set(match.paper.authors)
    return tuple(t for t, f in match.matched if f == "author" and t in names)


def mark_names(
    text: str, names: Sequence[str], escape: Callable[[str], str], mark: Callable[[str], str]
) -> str:
    """`text` escaped, each of `names` in it marked."""
    if not names:
        return escape(text)
    found = re.compile("|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)))
    out, last = [], 0
    for m in found.finditer(text):
        out += [escape(text[last : m.start()]), mark(escape(m.group()))]
        last = m.end()
    return "".join([*out, escape(text[last:])])


def paper_links(paper: StoredPaper) -> list[tuple[str, str]]:
    """Where to read a paper: arXiv's abstract page and PDF, its DOI's page, PubMed's and
    PubMed Central's (the free full text), and the page it was found on (Hugging Face's,
    a preprint server's) when that is another; for a paper known by none of these (a text
    dump's), arXiv's search for its title."""
    links = []
    if paper.arxiv_id:
        links += [("arXiv", abs_url(paper.arxiv_id)), ("PDF", pdf_url(paper.arxiv_id))]
    if paper.doi:
        links.append(("DOI", doi_url(paper.doi)))
    if paper.pmid:
        links.append(("PubMed", pubmed_url(paper.pmid)))
    if paper.pmcid:
        links.append(("PMC", pmc_url(paper.pmcid)))
    if paper.url and paper.url not in {url for _, url in links}:
        links.append(("Hugging Face" if "huggingface.co" in paper.url else "Page", paper.url))
    return links or [("Find on arXiv", title_search_url(paper.title))]


@dataclass(frozen=True)
class _Card:
    """What a card shows of one match, before any format escapes it."""

    title: str
    facts: str  # day · authors · upvotes
    why: str
    snippet: str
    links: list[tuple[str, str]]
    light: Highlighter = field(repr=False)
    authors: tuple[str, ...] = ()  # those an author watchlist found: marked in `facts`
    numbers: str = ""  # a similarity match's score and threshold (why_numbers)


def _card(match: StoredMatch) -> _Card:
    paper = match.paper
    found = matched_authors(match)
    light = Highlighter([t for t, f in match.matched if t not in found and f != "cites"])
    facts = " · ".join(
        x
        for x in (
            paper.day or "",
            authors_line(paper.authors, found) if paper.authors else "",
            f"{paper.upvotes} upvotes" if paper.upvotes is not None else "",
        )
        if x
    )
    snippet = light.snippet(paper.abstract) if paper.abstract else ""
    why = why_line(match)
    links = paper_links(paper)
    return _Card(paper.title, facts, why, snippet, links, light, found, why_numbers(match))


def _html_mark(s: str) -> str:
    return f"<mark><b>{s}</b></mark>"


def _html_card(c: _Card) -> str:
    title = c.light.apply(c.title, html.escape, _html_mark)
    if c.links:
        title = f'<a href="{html.escape(c.links[0][1])}">{title}</a>'
    links = " · ".join(f'<a href="{html.escape(u)}">{html.escape(t)}</a>' for t, u in c.links)
    snippet = c.light.apply(c.snippet, html.escape, _html_mark)
    return (
        f"<h3>{title}</h3>"
        + _opt("<p>{}</p>", mark_names(c.facts, c.authors, html.escape, _html_mark))
        + f"<p><i>matched: {html.escape(c.why)}</i></p>"
        + _opt("<p>{}</p>", snippet)
        + _opt("<p>{}</p>", links)
    )


def _markdown_card(c: _Card) -> str:
    title = c.light.apply(c.title, md_escape, lambda s: f"**{s}**")
    if c.links:
        title = f"[{title}]({c.links[0][1]})"
    links = " · ".join(f"[{t}]({u})" for t, u in c.links)
    snippet = c.light.apply(c.snippet, md_escape, lambda s: f"**{s}**")
    return (
        f"\n### {title}\n"
        + _opt("{}\n", mark_names(c.facts, c.authors, md_escape, lambda s: f"**{s}**"))
        + f"_matched: {md_escape(c.why)}_\n"
        + _opt("\n{}\n", snippet)
        + _opt("\n{}\n", links)
    )


def _text_card(c: _Card) -> str:
    """Plain text has no markup: the "matched:" line says what matched; links in full."""
    return (
        f"\n* {c.title}"
        + _opt("\n  {}", c.facts)
        + f"\n  matched: {c.why}"
        + _opt("\n  {}", c.snippet)
        + "".join(f"\n  {t}: {u}" for t, u in c.links)
    )


def _email_card(c: _Card) -> dict[str, Any]:
    mark = '<mark style="background:#fff1a8;color:#1f2328;">{}</mark>'.format
    return {
        "title": Markup(c.light.apply(c.title, html.escape, mark)),
        "link": c.links[0][1] if c.links else None,
        "facts": Markup(mark_names(c.facts, c.authors, html.escape, mark)),
        "why": c.why,
        "numbers": c.numbers,
        "snippet": Markup(c.light.apply(c.snippet, html.escape, mark)),
        "links": c.links,
    }


def _opt(template: str, value: str) -> str:
    return template.format(value) if value else ""


def render(watchlist: str, query: str, matches: list[StoredMatch]) -> Message:
    """One digest of these matches of watchlist `watchlist` (`query`: what it watches, as
    written), in every body format."""
    n = len(matches)
    title = f"paperwatch: {n} new paper{'s' if n != 1 else ''} for {watchlist}"
    heads: dict[str, str] = {
        NotifyFormat.HTML: f"<h2>{html.escape(title)}</h2>"
        + _opt("<p>Watchlist: <code>{}</code></p>", html.escape(query)),
        NotifyFormat.MARKDOWN: f"**{md_escape(title)}**",
        NotifyFormat.TEXT: title,
    }
    cards = [_card(m) for m in matches]
    rendered: tuple[dict[str, str], ...] = tuple(
        {
            NotifyFormat.HTML: _html_card(c),
            NotifyFormat.MARKDOWN: _markdown_card(c),
            NotifyFormat.TEXT: _text_card(c),
        }
        for c in cards
    )
    intro = f"Watchlist {watchlist}" + (f": {query}" if query else "")
    email = _email().render(title=title, intro=intro, cards=[_email_card(c) for c in cards])
    return Message(title, heads, rendered, email)
