"""LaTeX to Unicode: what arXiv writes turns into what a reader expects, and no text,
however malformed, makes the conversion fail (it runs on every paper stored)."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.language.latex import dashes, to_unicode
from tests.conftest import CORPUS_SAMPLE, examples


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"J. P\'erez", "J. Pérez"),
        (r"M{\"u}ller and G\"odel", "Müller and Gödel"),
        (r"Fran{\c c}ois", "François"),
        (r"\textit{Attention} is \emph{all}", "Attention is all"),
        (r"energies above $10^{19}$ eV", "energies above 10^19 eV"),
        (r"$\mathcal{O}(n \log n)$ time", "𝒪(n log n) time"),
        (r"5% and 100\% of it", "5% and 100% of it"),  # a bare % is no comment
        (r"files in C:\temp", r"files in C:\temp"),  # an unknown macro stays
        (r"see \href{https://x.y/z}{our", r"see \href{https://x.y/z}{our"),  # cut short
        ("plain {BERT} text", "plain {BERT} text"),  # no LaTeX: untouched
        # issue 35, item 9: what arXiv's abstracts hold, converted whole
        (r"V${\scriptstyle 2}$V", "V2V"),
        (r"$\operatorname{tr}(\mathbf{H})$", "tr(𝐇)"),
        (r"$x_{\rm in}$", "x_in"),
        (r"{\bf Bold} words", "Bold words"),
        (r"$\left( x \right)$", "( x )"),
        # unknown markup with arguments: kept exactly as written, never half-converted
        (r"see \unknownmacro{its argument} here", r"see \unknownmacro{its argument} here"),
        (r"$\foo{bar} + \alpha$", r"$\foo{bar} + \alpha$"),
    ],
)
def test_latex_reads_as_unicode(latex, text):
    assert to_unicode(latex) == text


LATEXISH = st.text(
    alphabet=st.sampled_from(list("\\${}[]^_%&#~'\"` aeiouAZ019.,-\n")) | st.characters(),
    max_size=200,
)


@settings(max_examples=examples(400), deadline=None)
@given(LATEXISH)
def test_no_text_makes_the_conversion_fail_and_plain_text_is_untouched(text):
    out = to_unicode(text)
    if "\\" not in text and "$" not in text:
        assert out == text
    else:  # markup goes, never the numbers it was written around
        digits = "0123456789"
        assert sorted(c for c in out if c in digits) == sorted(c for c in text if c in digits)


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12)
_ARGUMENT = st.lists(  # words, one space apart (stored text has its whitespace collapsed)
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8),
    min_size=1,
    max_size=3,
).map(" ".join)


@settings(max_examples=examples(300), deadline=None)
@given(_NAME, _ARGUMENT, st.booleans(), st.sampled_from(["", "x ", r"$\alpha$ and "]))
def test_a_command_keeps_its_braces_unless_it_is_converted(name, argument, in_math, before):
    """Issue 35, item 9: `\\name{arg}` comes out converted (no `\\name` left) or exactly
    as written; never `\\namearg`, the braces lost and the command kept."""
    command = f"\\{name}{{{argument}}}"
    text = before + (f"${command}$" if in_math else command) + " end"
    out = to_unicode(text)
    if f"\\{name}" in out:
        assert command in out, (text, out)
    assert out.endswith("end")  # what follows is kept (a command may convert to nothing)


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("Vision--language models", "Vision–language models"),
        ("pages 10--20 and 1990 -- 2000", "pages 10–20 and 1990 – 2000"),
        ("a result---and a dash --- here", "a result—and a dash — here"),
        ("run it with --help or ---x", "run it with --help or ---x"),  # options stay
    ],
)
def test_tex_dashes_print_as_dashes(written, printed):
    assert dashes(written) == printed


def test_every_real_abstract_converts_without_loss_of_words():
    """The corpus sample's titles and abstracts: converted, every plain word kept."""
    with gzip.open(CORPUS_SAMPLE, "rt") as f:
        papers = [json.loads(line) for _, line in zip(range(2000), f, strict=False)]
    for p in papers:
        for field in (p["title"], p["abstract"]):
            out = to_unicode(field)
            plain = [w for w in field.split() if w.isalpha() and w.isascii()]
            assert all(w in out for w in plain), field


def test_a_macro_it_cannot_fill_is_not_a_log_line(caplog):
    caplog.set_level("DEBUG")
    to_unicode(r"a bare \frac and \widehat here")  # no arguments to fill them with
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_the_conversion_cache_keeps_short_pieces_only():
    """Issue 31, item 8: 10 MB of `\\textit{...}` abstracts took the daemon from 77 MB to
    2.4 GB: every piece, however long, was kept. Long pieces are converted each time."""
    from daemon.language.latex import CACHED_PIECE, _short_piece

    long_piece = "\\textit{$x$ " + "word " * CACHED_PIECE + "}"
    _short_piece.cache_clear()  # other tests of the worker may have filled it to its bound
    before = _short_piece.cache_info().currsize
    for n in range(50):
        assert to_unicode(long_piece + f" {n}").startswith("x word")
    assert _short_piece.cache_info().currsize == before
    assert to_unicode("\\textit{$y_{17}$}") == "y_17"
    assert _short_piece.cache_info().currsize == before + 1


def test_a_document_is_converted_before_the_write_lock_and_beats_per_paper(tmp_path):
    """Issue 31, item 8: conversion ran inside the write transaction (26 "database is
    locked" errors of other jobs meanwhile) and a long file tripped the watchdog. Papers
    are converted first, another writer is free meanwhile, and each paper is a beat."""
    import sqlite3
    from datetime import UTC, datetime

    from daemon.ingest.document import ingest_bytes
    from daemon.store import Store

    now = datetime(2026, 8, 20, tzinfo=UTC)
    papers = [
        {"paper": {"id": f"2608.{i:05d}", "title": f"T {i}", "summary": f"\\textit{{$a_{i}$}}"}}
        for i in range(30)
    ]
    beats: list[bool] = []
    with Store(tmp_path / "p.db") as store:
        other = sqlite3.connect(tmp_path / "p.db", timeout=0, isolation_level=None)

        def beat() -> None:  # another job writes while this document is converted
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO source_state (name) VALUES (?)", (f"s{len(beats)}",))
            other.execute("COMMIT")
            beats.append(True)

        result = ingest_bytes(
            store,
            json.dumps(papers).encode(),
            name="d.json",
            source="t",
            location="d.json",
            ref_time=now,
            now=now,
            beat=beat,
        )
        other.close()
        assert len(result.new) == 30 and len(beats) == 30
        assert store.papers.listing(limit=1)[0].abstract.startswith("a_")
