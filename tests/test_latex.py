"""LaTeX to Unicode: what arXiv writes turns into what a reader expects, and no text,
however malformed, makes the conversion fail (it runs on every paper stored)."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.latex import to_unicode
from tests.conftest import CORPUS_SAMPLE


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
    ],
)
def test_latex_reads_as_unicode(latex, text):
    assert to_unicode(latex) == text


LATEXISH = st.text(
    alphabet=st.sampled_from(list("\\${}[]^_%&#~'\"` aeiouAZ019.,-\n")) | st.characters(),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(LATEXISH)
def test_no_text_makes_the_conversion_fail(text):
    out = to_unicode(text)
    assert isinstance(out, str)
    if "\\" not in text and "$" not in text:
        assert out == text


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
