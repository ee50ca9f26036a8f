"""Hugging Face HTML pages: hydration JSON first, visible <article> cards as fallback.

Selection is by data-target, tags and href patterns only: Tailwind classes change yearly.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from selectolax.lexbor import LexborHTMLParser, LexborNode

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, arxiv_id, clean_text, paper_url
from daemon.parse import json_text
from daemon.parse.days import parse_iso_day, parse_yearless
from daemon.parse.formats import SHAPE, Format, read_records, register_format, whole
from daemon.parse.hf_json import entries_to_papers, entry_to_paper

PAPER_HREF = re.compile(r"^/papers/(\d{4}\.\d{4,5})(?:v\d+)?/?$")
ABSTRACT_MIN_CHARS = 80
MAX_DEPTH = 5000  # elements nested deeper are refused: lexbor takes time quadratic in
# depth (100,000 nested <div>s, 1.1 MB, took 21 s; 5,000 take 0.03 s); real pages nest a
# few dozen deep
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
# elements that never hold others, or whose end tag may be left out (closed implicitly):
# they do not count towards the depth
_FLAT_TAGS = (
    "area base br col embed hr img input link meta source track wbr p li dt dd tr td th "
    "option optgroup thead tbody tfoot colgroup rb rt rp caption"
)
_FLAT = frozenset(_FLAT_TAGS.split())


def _depth(text: str) -> int:
    """The deepest nesting of elements, counted on the tags (a cheap scan before the
    parser): an upper bound on what the parser will build."""
    depth = deepest = 0
    for m in _TAG.finditer(text):
        closing, tag, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if tag in _FLAT or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def parse_html(text: str, name: str, ref_time: datetime) -> Digest:
    head, tail = text[:256].lstrip().lower(), text[-256:].rstrip().lower()
    if head.startswith(("<!doctype", "<html")) and not tail.endswith("</html>"):
        raise ParseError(f"{name}: truncated HTML (no closing </html>)")
    # nesting needs an opening tag per level: most pages open far fewer than MAX_DEPTH
    # tags in all, and skip the scan (it costs more than lexbor's own parse)
    if text.count("<") - text.count("</") > MAX_DEPTH:
        depth = _depth(text)
        if depth > MAX_DEPTH:
            raise ParseError(f"{name}: elements nested {depth:,} deep (not a digest page)")
    tree = LexborHTMLParser(text)
    digest = _from_hydration(tree, name)
    if digest is None:
        digest = _from_cards(tree, name, ref_time)
    if not digest.papers:
        raise ParseError(f"{name}: no papers found in HTML page")
    return digest


def _props(tree: LexborHTMLParser, target: str, name: str) -> dict[str, object] | None:
    node = tree.css_first(f'[data-target="{target}"]')
    if node is None:
        return None
    raw = node.attributes.get("data-props")
    if not raw:
        raise ParseError(f"{name}: {target} hydration element has no data-props")
    try:
        props = json_text.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{name}: {target} hydration JSON is invalid ({exc.msg})") from None
    except (RecursionError, ValueError):  # nested too deeply, a number too long
        raise ParseError(f"{name}: {target} hydration JSON is unreadable") from None
    if not isinstance(props, dict):
        raise ParseError(f"{name}: {target} hydration JSON is not an object")
    return props


def _from_hydration(tree: LexborHTMLParser, name: str) -> Digest | None:
    props = _props(tree, "DailyPapers", name)
    if props is not None:
        read = entries_to_papers(props.get("dailyPapers"), name, "DailyPapers.dailyPapers")
        day = (
            parse_iso_day(props.get("dateString"))
            if props.get("periodType", "day") == "day"
            else None
        )
        if props.get("query"):
            day = None  # search results: the page's date pill is not the papers' day
        return whole("hf_html", read, page_day=day)
    props = _props(tree, "PaperContent", name)
    if props is not None and isinstance(props.get("paper"), dict):
        paper = entry_to_paper({"paper": props["paper"]}, name, "PaperContent.paper")
        return Digest("hf_html", (paper,), paper.hf_day)
    return None


def _from_cards(tree: LexborHTMLParser, name: str, ref_time: datetime) -> Digest:
    read, skipped = read_records(tree.css("article"), _card_paper, name)
    seen: set[str] = set()
    papers = []
    for paper in read:
        if paper.arxiv_id not in seen:
            seen.add(paper.arxiv_id or "")
            papers.append(paper)
    is_search = any(n.attributes.get("value") for n in tree.css('input[name="q"]'))
    day = None if is_search else _page_day(tree, ref_time)
    return whole("hf_html", (tuple(papers), skipped), page_day=day)


def _card_paper(card: LexborNode) -> Paper | None:
    link = None
    for a in card.css("h3 a[href], h2 a[href]"):
        if PAPER_HREF.match(a.attributes.get("href") or ""):
            link = a
            break
    if link is None:
        return None
    m = PAPER_HREF.match(link.attributes.get("href") or "")
    ident = arxiv_id(m.group(1)) if m else None
    title = clean_text(link.text())
    if not title or not ident:
        return None
    upvotes = None
    for a in card.css('a[href^="/login?next="]'):
        text = clean_text(a.text())
        upvotes = 0 if text == "-" else int(text) if text.isdigit() and len(text) < 12 else None
        break
    abstract = ""
    for p in card.css("p"):
        text = clean_text(p.text())
        if len(text) >= ABSTRACT_MIN_CHARS and len(text) > len(abstract):
            abstract = text
    return Paper(
        title=title, abstract=abstract, arxiv_id=ident, upvotes=upvotes, url=paper_url(ident)
    )


def _page_day(tree: LexborHTMLParser, ref_time: datetime) -> date | None:
    for node in tree.css("time"):
        day = parse_iso_day(node.attributes.get("datetime"))
        if day is None:
            day = parse_yearless(clean_text(node.text(separator=" ")), ref_time)
        if day is not None:
            return day
    return None


def looks_like_html(head: str) -> bool:
    head = head.lstrip()[:512].lower()
    return head.startswith("<") and any(
        tag in head for tag in ("<html", "<!doctype", "<div", "<article", "<body", "<head")
    )


FORMAT = register_format(
    Format(
        "hf_html",
        SHAPE,
        looks_like_html,
        lambda data, name, ref_time: parse_html(data.decode("utf-8-sig"), name, ref_time),
    )
)
