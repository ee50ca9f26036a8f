"""The two views of a paper "more like these" reads, computed without scikit-learn and
WordLlama in the daemon (issue 31: they cost it 90 MB for good), agree with what those
libraries compute: the same terms, the same TF-IDF weights, the same embeddings."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.similar.model import STOP_WORDS, Space, counts, terms, text_of
from tests.conftest import corpus_papers, examples

TEXTS = [text_of(p["title"], p["abstract"]) for p in itertools.islice(corpus_papers(), 300)]


@cache
def analyzer() -> Any:
    """scikit-learn's word analyzer (imported here: 2 s a worker would pay collecting)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(ngram_range=(1, 2), stop_words="english").build_analyzer()


def test_the_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert STOP_WORDS == ENGLISH_STOP_WORDS


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.text(), st.sampled_from(TEXTS)))
def test_a_text_has_the_terms_scikit_learn_cuts_from_it(text):
    assert terms(text) == analyzer()(text)


def test_the_words_view_weighs_as_scikit_learns_tfidf():
    from sklearn.feature_extraction.text import TfidfTransformer

    fitted, batch = TEXTS[:250], TEXTS[250:]
    space = Space.fit(counts(fitted[i : i + 100]) for i in range(0, 250, 100))  # streamed
    reference = TfidfTransformer(sublinear_tf=True).fit(counts(fitted))
    assert space.papers == 250
    assert np.allclose(space.idf, reference.idf_, rtol=1e-5)
    ours, theirs = space.words(batch), reference.transform(counts(batch))
    assert ours.dtype == np.float32
    assert np.allclose(ours.toarray(), theirs.toarray(), atol=1e-6)
    assert np.allclose(np.linalg.norm(ours.toarray(), axis=1), 1, atol=1e-5)
    empty = space.words(["", "a"])  # nothing counted: a zero row, not a division by zero
    assert empty.nnz == 0


def test_the_dense_view_is_wordllamas_embedding():
    import wordllama

    from daemon.similar.embed import DIMENSIONS, embed

    model = wordllama.WordLlama.load(
        dim=DIMENSIONS, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )
    texts = [*TEXTS[:40], "ε-greedy τ²-bench", "a"]
    assert np.allclose(embed(texts), model.embed(texts, norm=True), atol=1e-5)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.lists(st.integers(0, 39), max_size=12), max_size=8), st.data())
def test_the_columns_a_fit_reads_are_the_present_ones_in_order(rows, data):
    """A training fits on the columns some paper has (daemon.similar.model): what
    np.unique and scipy's own column indexing give, on matrices of any company (none,
    empty rows, one column, all of them)."""
    from scipy import sparse

    from daemon.similar.model import _present_columns

    dense = np.zeros((len(rows), 40), np.float32)
    for i, row in enumerate(rows):
        for j in row:
            dense[i, j] += data.draw(st.sampled_from([1.0, 2.5]))
    found = sparse.csr_matrix(dense)
    used, fitted = _present_columns(found)
    assert np.array_equal(used, np.unique(found.indices))
    assert np.array_equal(fitted.toarray(), found[:, used].toarray())
    assert fitted.has_canonical_format
