""" "More like these": watchlists learned from example papers (`similar_to = [...]`).

Papers are TF-IDF vectors of title and abstract (words and word pairs, English stop words
left out), hashed into 2^18 columns (scikit-learn's HashingVectorizer: no vocabulary to
hold in memory, so 100,000 papers fit in well under 1 GB) and weighted by an IDF fitted on
the stored papers. Each similar-watchlist is a logistic regression with its examples as
positives and the stored papers of the last months as background, classes balanced: on
the real-corpus evaluation (`make eval`) it ranks papers of the examples' category better
than similarity to the examples' centroid. Its threshold is a percentile of the
background's scores (`sensitivity` 0.99 = the top 1% of recent papers would alert), so it
means the same for every watchlist. A hit is explained by its score, its percentile and
the words that weighed most for this paper.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.utils import murmurhash3_32

from daemon.errors import ConfigError
from daemon.models import arxiv_id, title_key

N_FEATURES = 1 << 18
BACKGROUND = 5_000  # papers of the last months the examples are told apart from
DEFAULT_SENSITIVITY = 0.99
RETRAIN_GROWTH = 0.05  # the shared space is refitted when the store grew by 5 %
TOP_TERMS = 5
HASHER = HashingVectorizer(
    n_features=N_FEATURES,
    ngram_range=(1, 2),
    stop_words="english",
    alternate_sign=False,
    norm=None,
    dtype=np.float32,
)
_ANALYZE = HASHER.build_analyzer()


def text_of(title: str, abstract: str) -> str:
    """Title twice: it says what the paper is about more densely than the abstract."""
    return f"{title}. {title}. {abstract}"


def resolve_examples(
    names: Sequence[str], where: str, find: Callable[[str | None, str], int | None]
) -> list[int]:
    """Stored paper ids of `similar_to` entries (arXiv ids or titles); an entry no stored
    paper has is a ConfigError naming it. `find(arxiv id, title key)` looks one up."""
    ids = []
    for i, name in enumerate(names):
        ident = arxiv_id(name)
        found = find(ident, "" if ident else title_key(name))
        if found is None:
            raise ConfigError(
                f"{where}[{i}]: no stored paper has the {'id' if ident else 'title'} {name!r} "
                "(ingest it first, or check the spelling)"
            )
        ids.append(found)
    return ids


@dataclass
class Space:
    """The TF-IDF space shared by every similar-watchlist, fitted on the stored papers."""

    idf: TfidfTransformer
    papers: int  # stored papers it was fitted on

    @classmethod
    def fit(cls, texts: Iterable[str], chunk: int = 5_000) -> Space:
        counts = sparse.vstack(list(_hashed_chunks(texts, chunk)), format="csr")
        idf = TfidfTransformer(sublinear_tf=True).fit(counts)
        return cls(idf, counts.shape[0])

    def vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self.idf.transform(HASHER.transform(texts)).astype(np.float32)


def _hashed_chunks(texts: Iterable[str], chunk: int) -> Iterable[sparse.csr_matrix]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == chunk:
            yield HASHER.transform(batch)
            batch = []
    if batch:
        yield HASHER.transform(batch)


@dataclass
class Model:
    """One similar-watchlist's classifier and where its threshold lies."""

    watchlist: str
    key: str  # what it was trained for: examples, sensitivity (a change retrains)
    weights: np.ndarray
    bias: float
    background: np.ndarray  # the background's scores, sorted
    threshold: float
    examples: list[int] = field(default_factory=list)

    def scores(self, vectors: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(vectors @ self.weights).ravel() + self.bias

    def percentile(self, score: float) -> float:
        """The share of recent papers scoring lower: 0.995 = the top half percent."""
        return int(np.searchsorted(self.background, score)) / max(1, len(self.background))

    def explain(self, vector: sparse.csr_matrix, text: str) -> list[str]:
        """The words (and word pairs) of this paper that weighed most for it."""
        row = vector.tocsr()
        weight = {
            int(j): float(v) * float(self.weights[j])
            for j, v in zip(row.indices, row.data, strict=True)
        }
        best: dict[str, float] = {}
        for term in dict.fromkeys(_ANALYZE(text)):
            w = weight.get(murmurhash3_32(term, positive=True) % N_FEATURES, 0.0)
            if w > 0 and _written(term, text):
                best[term] = w
        ranked = sorted(best, key=best.__getitem__, reverse=True)
        chosen: list[str] = []
        for term in ranked:  # a pair and its own words say the same: keep the pair
            if any(term in c.split() for c in chosen):
                continue
            chosen = [c for c in chosen if c not in term.split()] + [term]
            if len(chosen) == TOP_TERMS:
                break
        return chosen


def _written(term: str, text: str) -> bool:
    """A word pair the text really has side by side (not across a dropped stop word), so
    it can be shown and highlighted as a phrase."""
    words = term.split()
    if len(words) == 1:
        return True
    pattern = r"\b" + r"[\W_]+".join(map(re.escape, words)) + r"\b"
    return re.search(pattern, text, re.IGNORECASE) is not None


def model_key(examples: Sequence[int], sensitivity: float) -> str:
    return json.dumps([sorted(examples), sensitivity])


def train(
    watchlist: str,
    examples: list[int],
    example_vectors: sparse.csr_matrix,
    background: sparse.csr_matrix,
    sensitivity: float,
) -> Model:
    """Examples against background, balanced; the threshold at the sensitivity's
    percentile of the background's scores (never below the weakest example's score)."""
    x = sparse.vstack([example_vectors, background], format="csr")
    y = np.r_[np.ones(example_vectors.shape[0]), np.zeros(background.shape[0])]
    clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=300)
    clf.fit(x, y)
    weights = clf.coef_.ravel().astype(np.float32)
    bias = float(clf.intercept_[0])
    scores = np.sort(np.asarray(background @ weights).ravel() + bias)
    threshold = float(np.quantile(scores, sensitivity)) if len(scores) else 0.0
    return Model(
        watchlist,
        model_key(examples, sensitivity),
        weights,
        bias,
        scores,
        threshold,
        list(examples),
    )


def describe(model: Model, score: float) -> dict[str, Any]:
    """What a match records: score, percentile, threshold."""
    return {
        "score": round(score, 3),
        "percentile": round(model.percentile(score), 4),
        "threshold": round(model.threshold, 3),
    }


_WORD = re.compile(r"\S+")


def label(term: str) -> str:
    """A term as the highlighter and the message show it: a pair in quotes."""
    return f'"{term}"' if _WORD.findall(term)[1:] else term
