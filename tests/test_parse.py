from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.errors import ParseError
from daemon.core.models import Digest, Paper, clean_text, has_words, title_key
from daemon.parse import formats, parse_document
from daemon.parse.days import parse_yearless
from daemon.parse.formats import NAMED, Format, register_format
from tests.conftest import HF, TEXT, examples

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def parse(path, ref=NOW):
    return parse_document(path.read_bytes(), path.name, ref)


@pytest.mark.parametrize(
    ("name", "count", "day"),
    [
        ("000_a4df948192ebdd8e.txt", 40, date(2026, 7, 30)),
        ("001_e0059c4884d65862.txt", 119, None),
        ("002_dcd73f2e833c8373.txt", 62, date(2026, 4, 22)),
    ],
)
def test_text_dumps_counts_and_days(name, count, day):
    digest = parse(TEXT / name)
    assert digest.kind == "text"
    assert len(digest.papers) == count
    assert digest.page_day == day


def test_text_dump_titles_and_abstracts_equal_the_file():
    raw = (TEXT / "000_a4df948192ebdd8e.txt").read_text()
    lines = [clean_text(x) for x in raw.splitlines() if x.strip()]
    digest = parse(TEXT / "000_a4df948192ebdd8e.txt")
    assert [p.title for p in digest.papers] == lines[6::2]
    assert [p.abstract for p in digest.papers] == lines[7::2]
    first = digest.papers[0]
    assert first.title.startswith("How to Capture Higher-order Correlations?")
    assert first.abstract.startswith("In the classical transformer attention scheme")


def test_compact_dump_splits_title_glued_to_subscribe():
    digest = parse(TEXT / "001_e0059c4884d65862.txt")
    assert digest.papers[0].title == "Tensor Dropout for Robust Learning"
    assert digest.papers[-1].title == "Gradient Matching for Domain Generalization"
    assert not any("Get trending" in p.title for p in digest.papers)


def test_crlf_and_bom_are_tolerated():
    raw = (TEXT / "002_dcd73f2e833c8373.txt").read_bytes()
    crlf = b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")
    a = parse_document(raw, "a", NOW)
    b = parse_document(crlf, "b", NOW)
    assert a == b


def test_yearless_day_is_latest_not_after_file_time():
    assert parse_yearless("Jul 30", datetime(2026, 7, 29, tzinfo=UTC)) == date(2025, 7, 30)
    assert parse_yearless("Jul 30", datetime(2026, 7, 30, tzinfo=UTC)) == date(2026, 7, 30)
    assert parse_yearless("Feb 29", datetime(2027, 3, 1, tzinfo=UTC)) == date(2024, 2, 29)
    assert parse_yearless("Foo 3", NOW) is None
    digest = parse(TEXT / "000_a4df948192ebdd8e.txt", datetime(2027, 1, 5, tzinfo=UTC))
    assert digest.page_day == date(2026, 7, 30)


def test_api_json_fixture():
    digest = parse(HF / "api_daily_papers_2026-06-12.json")
    assert digest.kind == "hf_json"
    assert len(digest.papers) == 30
    assert all(p.arxiv_id and p.abstract and p.authors for p in digest.papers)
    assert digest.papers[0].arxiv_id == "2606.00467"
    assert digest.papers[0].authors[:2] == ("Etienne Casanova", "Rafal Kocielnik")
    assert digest.page_day == date(2026, 6, 12)
    assert all(p.hf_day == date(2026, 6, 12) for p in digest.papers)


def test_props_object_with_daily_papers():
    entries = json.loads((HF / "api_daily_papers_2026-08-03.json").read_text())
    data = json.dumps({"dailyPapers": entries, "dateString": "2026-08-03"}).encode()
    digest = parse_document(data, "props.json", NOW)
    assert [p.arxiv_id for p in digest.papers] == [e["paper"]["id"] for e in entries]
    assert digest.page_day == date(2026, 8, 3)


def test_2024_hard_wraps_are_normalised():
    entry = {
        "paper": {
            "id": "2401.00001v2",
            "title": "Scaling for\n  Contrastive Loss",
            "summary": "We study\n  things.",
            "authors": [],
        }
    }
    digest = parse_document(json.dumps([entry]).encode(), "old.json", NOW)
    paper = digest.papers[0]
    assert paper.title == "Scaling for Contrastive Loss"
    assert paper.arxiv_id == "2401.00001"
    assert paper.hf_day is None


def test_listing_page_uses_hydration_json():
    digest = parse(HF / "listing_2026-06-12.html")
    api = parse(HF / "api_daily_papers_2026-06-12.json")
    assert digest.kind == "hf_html"
    assert digest.page_day == date(2026, 6, 12)
    assert [p.arxiv_id for p in digest.papers] == [p.arxiv_id for p in api.papers]
    assert digest.papers == api.papers


def test_dom_only_page_falls_back_to_cards():
    digest = parse(HF / "listing_dom_only_2026-08-03.html")
    assert [p.arxiv_id for p in digest.papers] == ["2607.26654", "2607.28229", "2607.27851"]
    assert digest.papers[0].title == (
        "Constitutional Midtraining: Content Presence Drives Alignment Gains"
    )
    assert digest.papers[0].upvotes == 3
    assert all(p.abstract == "" for p in digest.papers)
    assert digest.page_day == date(2026, 8, 3)


def test_single_paper_page():
    digest = parse(HF / "paper_page_2509.24002.html")
    assert [p.arxiv_id for p in digest.papers] == ["2509.24002"]
    assert digest.papers[0].title == (
        "MCPMark: A Benchmark for Stress-Testing Realistic and Comprehensive MCP Use"
    )


def card(pid: str, title: str, abstract: str = "", upvotes: str = "-") -> str:
    return (
        f'<article><a href="/papers/{pid}"><img></a>'
        f'<a href="/login?next=%2Fpapers%2F{pid}"><div>{upvotes}</div></a>'
        f'<h3><a href="/papers/{pid}">{title}</a></h3>'
        f"{f'<p>{abstract}</p>' if abstract else ''}"
        f'<a href="/papers/{pid}#community">2</a></article>'
    )


def test_search_page_cards_carry_abstracts_and_no_day():
    abstract = "We present a method for tensor decomposition that scales. " * 3
    page = (
        "<!doctype html><html><body><time>Nov 22</time>"
        '<form action="/papers"><input name="q" value="tensor"></form>'
        '<a href="/papers/date/2026-11-21">prev</a><a href="/papers/trending">t</a>'
        + card("2101.00001", "Tensor &amp; Things", abstract)
        + card("1802.08979", "Old Style", abstract, "12")
        + "</body></html>"
    )
    digest = parse_document(page.encode(), "search.html", NOW)
    assert [p.arxiv_id for p in digest.papers] == ["2101.00001", "1802.08979"]
    assert digest.papers[0].title == "Tensor & Things"
    assert digest.papers[0].abstract == clean_text(abstract)
    assert digest.papers[0].upvotes == 0
    assert digest.papers[1].upvotes == 12
    assert digest.page_day is None


def test_navigation_links_are_never_papers():
    page = (
        '<!doctype html><html><body><article><h3><a href="/papers/date/2026-06-11">'
        'Previous</a></h3></article><article><h3><a href="/papers/trending">Trending</a>'
        "</h3></article></body></html>"
    )
    with pytest.raises(ParseError, match="no papers found"):
        parse_document(page.encode(), "nav.html", NOW)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"\xff\xfe\xfa", "not UTF-8"),
        (b'{"foo": 1}', "wrong shape"),
        (b'[{"paper": {"id": "1"}}]', "no title"),
        (b"[1, 2]", "not an object"),
        (b'[{"paper": {"title": "x"', "truncated JSON"),
        (
            b"<!doctype html><html><body><article><h3><a href='/papers/2101.00001'>T</a>",
            "truncated HTML",
        ),
        (b"<!doctype html><html><body><p>hello</p></body></html>", "no papers found"),
        (b"just one line of prose", "title without an abstract"),
        (b"Title\nshort", "expected the abstract"),
    ],
)
def test_bad_inputs_raise_parse_error_with_reason(data, reason):
    with pytest.raises(ParseError, match=reason) as info:
        parse_document(data, "bad.bin", NOW)
    assert str(info.value).startswith("bad.bin: ")


def test_truncated_listing_page_is_an_error():
    raw = (HF / "listing_2026-06-12.html").read_bytes()
    for cut in (len(raw) // 3, len(raw) // 2, len(raw) - 20):
        with pytest.raises(ParseError):
            parse_document(raw[:cut], "cut.html", NOW)


def test_truncated_text_dump_is_an_error():
    raw = (TEXT / "000_a4df948192ebdd8e.txt").read_bytes()
    cut = raw.rindex(b"\n\n", 0, len(raw) - 10)
    with pytest.raises(ParseError, match="title without an abstract"):
        parse_document(raw[:cut], "cut.txt", NOW)


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_raise_parse_error(data):
    try:
        digest = parse_document(data, "random", NOW)
    except ParseError as exc:
        assert str(exc).startswith("random: ")
    else:
        assert all(p.title for p in digest.papers)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(max_size=300), max_size=12))
def test_arbitrary_text_lines_parse_or_raise_parse_error(lines):
    data = "\n".join(lines).encode()
    try:
        digest = parse_document(data, "text", NOW)
    except ParseError as exc:
        assert str(exc).startswith("text: ")
    else:
        assert all(p.title and p.abstract for p in digest.papers)


def test_text_dump_whose_first_title_starts_with_a_bracket():
    abstract = "We reproduce the results of a well known paper and report what we found. " * 2
    data = f"[Re] Reproducing Tensor Dropout\n{abstract}\n".encode()
    digest = parse_document(data, "re.txt", NOW)
    assert digest.kind == "text" and digest.papers[0].title == "[Re] Reproducing Tensor Dropout"


def test_title_key_folds_case_unicode_punctuation():
    assert title_key("Scaling  for\n  Contrastive-Loss!") == title_key(
        "scaling for contrastive loss"
    )
    assert title_key("Ｓｃａｌｉｎｇ") == "scaling"


@settings(max_examples=examples(1000), deadline=None)
@given(
    title=st.one_of(
        st.text(),
        st.text(st.characters(categories=["P", "S", "Z", "N", "M", "Lo"])),
        st.sampled_from(["$$", "{}", "\\textit{}", "²", "①", "Ⅻ", "_", "ﬁ", "—", "x"]),
    )
)
def test_has_words_answers_as_the_title_key_does(title: str) -> None:
    """The shortcut that says a title has a word (an ASCII letter or digit) agrees with
    the title key it spares, on any text: punctuation, symbols, digits and marks of
    every script, compatibility forms."""
    assert has_words(title) == bool(title_key(title))


# -- the format registry (issue 24) --------------------------------------------------------


def _lab_digest(data: bytes | bytearray, name: str, ref_time: datetime) -> Digest:
    doc = json.loads(data)
    if doc["papers"] == "boom":
        raise KeyError("papers")  # a parser's bug on a hostile document
    return Digest("lab_digest", tuple(Paper(title=t) for t in doc["papers"]))


LAB = register_format(
    Format("lab_digest", NAMED, lambda head: '"lab_digest_version"' in head, _lab_digest)
)


def test_a_format_defined_here_is_chosen_over_the_generic_json_by_its_specificity():
    """A JSON API of its own shape, registered as one module would, parses its documents;
    Hugging Face's JSON, also JSON, still parses as Hugging Face's."""
    doc = {"lab_digest_version": 1, "papers": ["Tensor Sketches", "Sparse Probes"]}
    digest = parse_document(json.dumps(doc).encode(), "lab.json", NOW)
    assert digest.kind == "lab_digest"
    assert [p.title for p in digest.papers] == ["Tensor Sketches", "Sparse Probes"]
    assert parse(HF / "api_daily_papers_2026-06-12.json").kind == "hf_json"
    assert [f.name for f in formats()][0] in ("arxiv", "lab_digest")  # most specific first
    assert formats()[-1].name == "text"
    bad = {"lab_digest_version": 1, "papers": "boom"}
    with pytest.raises(ParseError, match=r"lab\.json: cannot be read as lab_digest \(KeyError"):
        parse_document(json.dumps(bad).encode(), "lab.json", NOW)
