from __future__ import annotations

from daemon.delivery.render import Highlighter, render
from daemon.store.rows import StoredMatch, StoredPaper


def row(**extra):
    paper = {
        "id": 1,
        "title": "Tensor <script>alert(1)</script> [nets]",
        "abstract": "Filler sentence here. " * 30 + "We build neural operators on tensors.",
        "authors": tuple(f"Author {i}" for i in range(9)),
        "url": "https://huggingface.co/papers/2101.00001",
        "hf_day": "2026-06-12",
        "upvotes": 0,
    }
    matched = (("tensor", "title"), ('"neural operator"', "abstract"))
    return StoredMatch(1, "w", StoredPaper(**{**paper, **extra}), matched, False, "2026-06-12")


def test_html_is_escaped_and_highlighted():
    msg = render("w", "", [row()])
    assert "<script>" not in msg.html
    assert "&lt;script&gt;" in msg.html
    assert (
        '<a href="https://huggingface.co/papers/2101.00001"><mark><b>Tensor</b></mark>' in msg.html
    )
    assert "<mark><b>neural operators</b></mark>" in msg.html
    assert "et al. (9 authors)" in msg.html and "0 upvotes" in msg.html


def test_markdown_escapes_markup_and_links_title():
    msg = render("w", "", [row()])
    assert "[**Tensor** \\<script\\>alert\\(1\\)\\</script\\> \\[nets\\]]" in msg.markdown
    assert "(https://huggingface.co/papers/2101.00001)" in msg.markdown
    assert '_matched: tensor in title, "neural operator" in abstract_' in msg.markdown


def test_snippet_starts_near_the_first_match():
    light = Highlighter(['"neural operator"'])
    text = "Filler sentence here. " * 30 + "We build neural operators on tensors."
    snippet = light.snippet(text)
    assert "neural operators" in snippet and snippet.startswith("… ")
    assert len(snippet) < 400


def test_subject_counts_papers():
    assert render("w", "", [row(), row(title="Other")]).title == ("paperwatch: 2 new papers for w")
    assert render("w", "", [row()]).title == "paperwatch: 1 new paper for w"


def test_highlights_follow_the_match():
    def marked(terms: list[str], text: str) -> str:
        return Highlighter(terms).apply(text, str, lambda s: f"[{s}]")

    # a phrase is marked as the phrase: a lone "few" is not
    assert marked(['"few-shot"'], "Few-shot learning with few examples") == (
        "[Few-shot] learning with few examples"
    )
    assert marked(["few shot"], "few examples, one shot") == "few examples, one shot"
    # word forms and compounds as matched
    assert marked(["matrix"], "Two matrices and a matrix") == "Two [matrices] and a [matrix]"
    assert marked(["pretraining"], "Pre-training, pre training") == (
        "[Pre-training], [pre training]"
    )
    assert marked(["GPT-4"], "GPT-4o beats GPT-4 and GPT4") == "GPT-4o beats [GPT-4] and [GPT4]"
    assert marked(["C++"], "C++ in Appendix C") == "[C++] in Appendix C"
    assert marked(["tensor*"], "TensorNet and tensors") == "[TensorNet] and [tensors]"


def test_a_paper_known_by_its_title_alone_links_to_arxivs_search_for_it():
    """Issue 25: papers from text dumps had no link."""
    msg = render("w", "", [row(url=None, title="Tensor Nets & Friends")])
    search = "https://arxiv.org/search/?query=Tensor+Nets+%26+Friends&searchtype=title"
    assert f"Find on arXiv: {search}" in msg.text
    assert f"[Find on arXiv]({search})" in msg.markdown
    assert search.replace("&", "&amp;") in msg.email
