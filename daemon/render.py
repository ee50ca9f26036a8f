"""Alert messages: one per watchlist and channel, as escaped HTML (email) and markdown (chat)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apprise import NotifyFormat

from daemon.errors import QueryError
from daemon.query import DEFAULT_FIELDS, make_term
from daemon.text import WORD, fold, singular

if TYPE_CHECKING:
    from daemon.config import Watchlist

SNIPPET_CHARS = 320
MAX_AUTHORS = 6
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


@dataclass(frozen=True)
class Message:
    title: str
    html: str
    markdown: str
    text: str

    def bodies(self) -> dict[NotifyFormat, str]:
        return {
            NotifyFormat.HTML: self.html,
            NotifyFormat.MARKDOWN: self.markdown,
            NotifyFormat.TEXT: self.text,
        }


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


class Highlighter:
    """Marks the words of `text` that a watchlist's matched terms matched."""

    def __init__(self, terms: list[str]) -> None:
        self.exact: set[str] = set()
        self.prefixes: list[str] = []
        for label in terms:
            try:
                term = make_term(label.strip('"'), DEFAULT_FIELDS)
            except QueryError:
                continue
            if term.prefix:
                self.prefixes.append(term.words[-1])
                self.exact.update(term.words[:-1])
            else:
                self.exact.update(term.words)

    def hit(self, word: str) -> bool:
        folded = fold(word)
        return singular(folded) in self.exact or folded.startswith(tuple(self.prefixes))

    def apply(self, text: str, escape: Callable[[str], str], mark: Callable[[str], str]) -> str:
        out, last = [], 0
        for m in WORD.finditer(text):
            if self.hit(m.group()):
                out.append(escape(text[last : m.start()]))
                out.append(mark(escape(m.group())))
                last = m.end()
        out.append(escape(text[last:]))
        return "".join(out)

    def snippet(self, text: str) -> str:
        """About SNIPPET_CHARS of `text`, starting near the first highlighted word."""
        if len(text) <= SNIPPET_CHARS:
            return text
        first = next((m.start() for m in WORD.finditer(text) if self.hit(m.group())), 0)
        start = max(0, text.rfind(". ", 0, first) + 2) if first > SNIPPET_CHARS // 2 else 0
        if first - start > SNIPPET_CHARS // 2:
            start = max(0, first - SNIPPET_CHARS // 3)
        end = start + SNIPPET_CHARS
        cut = text.rfind(" ", start, end)
        body = text[start : cut if cut > start else end]
        return ("… " if start else "") + body + " …"


def _authors(raw: str) -> str:
    names: list[str] = json.loads(raw)
    shown = ", ".join(names[:MAX_AUTHORS])
    return shown + (f" et al. ({len(names)} authors)" if len(names) > MAX_AUTHORS else "")


def render(
    watchlist: str, config_watchlist: Watchlist | None, rows: list[dict[str, Any]]
) -> Message:
    n = len(rows)
    title = f"paperwatch: {n} new paper{'s' if n != 1 else ''} for {watchlist}"
    html_parts = [f"<h2>{html.escape(title)}</h2>"]
    md_parts = [f"**{md_escape(title)}**"]
    text_parts = [title]
    if config_watchlist is not None:
        html_parts.append(f"<p>Watchlist: <code>{html.escape(config_watchlist.source)}</code></p>")
    for row in rows:
        matched = [tuple(x) for x in json.loads(row["matched"])]
        light = Highlighter([t for t, _ in matched])
        facts = [
            x
            for x in (
                _authors(row["authors"]) if row["authors"] != "[]" else "",
                f"day {row['hf_day']}" if row.get("hf_day") else "",
                f"{row['upvotes']} upvotes" if row.get("upvotes") is not None else "",
            )
            if x
        ]
        why = ", ".join(f"{t} in {f}" for t, f in matched)
        snippet = light.snippet(row["abstract"]) if row["abstract"] else ""

        def h_mark(s: str) -> str:
            return f"<mark><b>{s}</b></mark>"

        def m_mark(s: str) -> str:
            return f"**{s}**"

        h_title = light.apply(row["title"], html.escape, h_mark)
        if row.get("url"):
            h_title = f'<a href="{html.escape(row["url"])}">{h_title}</a>'
        html_parts.append(
            f"<h3>{h_title}</h3>"
            + (f"<p>{html.escape(' · '.join(facts))}</p>" if facts else "")
            + f"<p><i>matched: {html.escape(why)}</i></p>"
            + (f"<p>{light.apply(snippet, html.escape, h_mark)}</p>" if snippet else "")
        )
        m_title = light.apply(row["title"], md_escape, m_mark)
        if row.get("url"):
            m_title = f"[{m_title}]({row['url']})"
        md_parts.append(
            f"\n### {m_title}\n"
            + (f"{md_escape(' · '.join(facts))}\n" if facts else "")
            + f"_matched: {md_escape(why)}_\n"
            + (f"\n{light.apply(snippet, md_escape, m_mark)}\n" if snippet else "")
        )
        text_parts.append(
            f"\n* {light.apply(row['title'], str, m_mark)}"
            + (f"\n  {row['url']}" if row.get("url") else "")
            + (f"\n  {' · '.join(facts)}" if facts else "")
            + f"\n  matched: {why}"
            + (f"\n  {light.apply(snippet, str, m_mark)}" if snippet else "")
        )
    return Message(title, "\n".join(html_parts), "\n".join(md_parts), "\n".join(text_parts))
