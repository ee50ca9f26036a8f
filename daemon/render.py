"""Alert messages: one per watchlist and channel, in the format each service takes:
escaped HTML (email), markdown (chat), plain text without markup (everything else)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apprise import NotifyFormat

from daemon.errors import QueryError
from daemon.query import DEFAULT_FIELDS, Field, make_term, term_spans
from daemon.store.rows import StoredMatch, StoredPaper
from daemon.text import tokenize

if TYPE_CHECKING:
    from daemon.config import Watchlist

SNIPPET_CHARS = 320
MAX_AUTHORS = 6
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#|<>~])")  # inline markup only


@dataclass(frozen=True)
class Message:
    title: str
    html: str
    markdown: str
    text: str

    @classmethod
    def plain(cls, title: str, body: str) -> Message:
        """A one-paragraph notice (tests, admin alerts) in every body format."""
        return cls(title, f"<p>{html.escape(body)}</p>", md_escape(body), body)

    def bodies(self) -> dict[NotifyFormat, str]:
        return {
            NotifyFormat.HTML: self.html,
            NotifyFormat.MARKDOWN: self.markdown,
            NotifyFormat.TEXT: self.text,
        }


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


class Highlighter:
    """Marks where a watchlist's matched terms matched: a phrase as the phrase, a
    compound or a word form as the word it matched."""

    def __init__(self, terms: list[str]) -> None:
        # labels of terms that matched, or the words of a search: one that is no term
        # ("&", a lone "*") marks nothing
        self.terms = []
        for label in terms:
            try:
                self.terms.append(make_term(label.strip('"'), DEFAULT_FIELDS))
            except QueryError:
                continue

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character ranges to mark, merged, in order."""
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
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "url": paper.url,
        "day": paper.day,
        "first_seen": paper.first_seen,
        "sightings": paper.sightings,
    }


def why_line(match: StoredMatch) -> str:
    """Why a paper matched: its terms and fields; for a match by similarity the score, how
    it ranks among recent papers, and the words that weighed most."""
    parts = [f"{t} in {f}" for t, f in match.matched if f != "similar"]
    if match.explain:
        facts = match.explain
        words = ", ".join(t for t, f in match.matched if f == "similar")
        split = (
            f": {facts['words']:.2f} from its words, {facts['meaning']:.2f} from its meaning"
            if "meaning" in facts
            else ""
        )
        rank = (
            "above every recent paper"
            if facts["percentile"] >= 1
            else f"top {100 * (1 - facts['percentile']):.2g}% of recent papers"
        )
        parts.append(
            f"similar to the examples: {rank} (score {facts['score']:.2f}{split}; alerting "
            f"from {facts['threshold']:.2f}); words that weighed most: {words}"
        )
    why = ", ".join(parts)
    if match.title_only:
        why += " (title only: decided without the abstract, which never came)"
    return why


def authors_line(names: Sequence[str]) -> str:
    """The first MAX_AUTHORS names, then "et al."."""
    shown = ", ".join(names[:MAX_AUTHORS])
    return shown + (f" et al. ({len(names)} authors)" if len(names) > MAX_AUTHORS else "")


@dataclass(frozen=True)
class _Format:
    """How one body format escapes, highlights, links and lays out a paper."""

    escape: Callable[[str], str]
    mark: Callable[[str], str]
    link: Callable[[str, str], str]  # (shown text, url)
    header: Callable[[str], str]
    card: Callable[[str, str, str, str], str]  # title, facts, why, snippet (all escaped)


def _opt(template: str, value: str) -> str:
    return template.format(value) if value else ""


def _html_card(title: str, facts: str, why: str, snippet: str) -> str:
    return (
        f"<h3>{title}</h3>"
        + _opt("<p>{}</p>", facts)
        + f"<p><i>matched: {why}</i></p>"
        + _opt("<p>{}</p>", snippet)
    )


def _markdown_card(title: str, facts: str, why: str, snippet: str) -> str:
    return (
        f"\n### {title}\n" + _opt("{}\n", facts) + f"_matched: {why}_\n" + _opt("\n{}\n", snippet)
    )


def _text_card(title: str, facts: str, why: str, snippet: str) -> str:
    return f"\n* {title}" + _opt("\n  {}", facts) + f"\n  matched: {why}" + _opt("\n  {}", snippet)


_FORMATS = {
    NotifyFormat.HTML: _Format(
        escape=html.escape,
        mark=lambda s: f"<mark><b>{s}</b></mark>",
        link=lambda text, url: f'<a href="{html.escape(url)}">{text}</a>',
        header=lambda title: f"<h2>{html.escape(title)}</h2>",
        card=_html_card,
    ),
    NotifyFormat.MARKDOWN: _Format(
        escape=md_escape,
        mark=lambda s: f"**{s}**",
        link=lambda text, url: f"[{text}]({url})",
        header=lambda title: f"**{md_escape(title)}**",
        card=_markdown_card,
    ),
    NotifyFormat.TEXT: _Format(
        escape=str,
        mark=str,  # plain text has no markup; the "matched:" line says what matched
        link=lambda text, url: f"{text}\n  {url}",
        header=str,
        card=_text_card,
    ),
}


def render(
    watchlist: str, config_watchlist: Watchlist | None, matches: list[StoredMatch]
) -> Message:
    """One message for these matches of one watchlist, in every body format."""
    n = len(matches)
    title = f"paperwatch: {n} new paper{'s' if n != 1 else ''} for {watchlist}"
    parts = {fmt: [f.header(title)] for fmt, f in _FORMATS.items()}
    if config_watchlist is not None:
        query = html.escape(config_watchlist.source)
        parts[NotifyFormat.HTML].append(f"<p>Watchlist: <code>{query}</code></p>")
    for match in matches:
        paper = match.paper
        light = Highlighter([t for t, _ in match.matched])
        facts = " · ".join(
            x
            for x in (
                authors_line(paper.authors) if paper.authors else "",
                paper.day or "",
                f"{paper.upvotes} upvotes" if paper.upvotes is not None else "",
            )
            if x
        )
        why = why_line(match)
        snippet = light.snippet(paper.abstract) if paper.abstract else ""
        for fmt, f in _FORMATS.items():
            shown = light.apply(paper.title, f.escape, f.mark)
            if link := paper.link:
                shown = f.link(shown, link)
            marked = light.apply(snippet, f.escape, f.mark) if snippet else ""
            parts[fmt].append(f.card(shown, f.escape(facts), f.escape(why), marked))
    return Message(
        title,
        "\n".join(parts[NotifyFormat.HTML]),
        "\n".join(parts[NotifyFormat.MARKDOWN]),
        "\n".join(parts[NotifyFormat.TEXT]),
    )
