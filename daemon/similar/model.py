""" "More like these": watchlists learned from example papers (`similar_to = [...]`).

A paper is seen two ways. Its TF-IDF vector of title and abstract (words and word pairs,
English stop words left out, as scikit-learn's word analyzer cuts them), hashed into 2^18
columns (no vocabulary to hold in memory, so 100,000 papers fit in well under 1 GB) and
weighted by a smoothed IDF fitted on the stored papers, sublinear TF, unit length (as
scikit-learn's TfidfTransformer); and its dense embedding (daemon.similar.embed, 256
dimensions), which knows that different words can say the same thing. Both are computed
here with numpy and scipy alone: scikit-learn is imported by the training process only
(its import costs the daemon 72 MB it would keep for good); tests check both views
against scikit-learn's and WordLlama's own. Each
similar-watchlist is two logistic regressions, one per view, with its examples (and the
papers voted 👍) as positives and the papers it has seen of the last months as background,
classes balanced, papers voted 👎 weighing as much as an example. A paper's score is the
sum of the two views' scores, each in standard deviations of the background's: on the
real-corpus evaluation (`make eval`, a temporal split) this ranks papers of the examples'
category better than either view alone, one regression on both views concatenated, or
the examples' centroid. The threshold adapts to the topic: a share of what a positive
the model was not trained on scores (positives held out in turn), never below the top 1%
of recent papers, when such a positive ranks there (`calibrate`); a `sensitivity` set by
the user is a percentile of the background's scores instead (0.997 = the top 0.3%). A hit
is explained by its score, its percentile and the words that weighed most for it.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from daemon.core.errors import ConfigError
from daemon.core.models import arxiv_id, title_key

N_FEATURES = 1 << 18
BACKGROUND = 5_000  # papers of the last months the examples are told apart from
RETRAIN_GROWTH = 0.05  # the shared space is refitted when the store grew by 5 %
TOP_TERMS = 5
DATA = Path(__file__).parent.parent / "data"
STOP_WORDS = frozenset(
    line
    for line in (DATA / "english_stop_words.txt").read_text().split("\n")
    if line and not line.startswith("#")
)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's token_pattern


def terms(text: str) -> list[str]:
    """The words (two characters or more, lower case, stop words left out) and the pairs
    of words next to each other once they are out: what the words view counts."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def column(term: str) -> int:
    """A term's column: its CRC-32 (stable across processes and versions), 2^18 of them."""
    return zlib.crc32(term.encode()) % N_FEATURES


def counts(texts: Iterable[str]) -> sparse.csr_matrix:
    """How often each column's terms occur in each text, one row per text."""
    indices: list[int] = []
    indptr = [0]
    for text in texts:
        indices += map(column, terms(text))
        indptr.append(len(indices))
    found = sparse.csr_matrix(
        (np.ones(len(indices), np.float32), np.array(indices, np.int32), np.array(indptr)),
        shape=(len(indptr) - 1, N_FEATURES),
    )
    found.sum_duplicates()
    return found


Row = tuple[int, str, str]  # a stored paper as vectorized: (id, title, abstract)


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

    idf: np.ndarray  # per column, float32: ln((1 + papers) / (1 + papers with it)) + 1
    papers: int  # stored papers it was fitted on

    @classmethod
    def fit(cls, found: Iterable[sparse.csr_matrix]) -> Space:
        """The space of the papers whose raw counts (`counts`) come in these chunks: the
        store streamed, a chunk at a time."""
        having = np.zeros(N_FEATURES, np.int64)
        papers = 0
        for chunk in found:
            having += np.bincount(chunk.indices, minlength=N_FEATURES)  # one per row
            papers += chunk.shape[0]
        idf = np.log((1 + papers) / (1 + having)) + 1
        return cls(idf.astype(np.float32), papers)

    def vectors(self, texts: Sequence[str]) -> Features:
        from daemon.similar.embed import embed

        return Features(self.words(texts), embed(list(texts)))

    def words(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF view alone (what `Model.explain` reads)."""
        return self.weigh(counts(texts), in_place=True)

    def weigh(self, found: sparse.csr_matrix, in_place: bool = False) -> sparse.csr_matrix:
        """Raw counts as the TF-IDF view: sublinear TF times IDF, each row of unit length
        (a new matrix, unless the counts are not needed after)."""
        found = found if in_place else found.copy()
        found.data = (1 + np.log(found.data)) * self.idf[found.indices]
        norms = np.sqrt(np.asarray(found.multiply(found).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        found.data /= np.repeat(norms, np.diff(found.indptr)).astype(np.float32)
        return found


@dataclass
class Features:
    """Papers in both views, one row each: TF-IDF (sparse) and dense embedding."""

    words: sparse.csr_matrix
    dense: np.ndarray

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def __getitem__(self, rows: Any) -> Features:
        if isinstance(rows, int | np.integer):
            rows = [int(rows)]
        return Features(self.words[rows], self.dense[rows])

    @staticmethod
    def stack(parts: Sequence[Features]) -> Features:
        return Features(
            sparse.vstack([p.words for p in parts], format="csr"),
            np.vstack([p.dense for p in parts]),
        )


@dataclass
class View:
    """One view's regression, its scores in standard deviations of the background's."""

    weights: np.ndarray
    bias: float
    mean: float = 0.0
    std: float = 1.0

    def raw(self, x: Any) -> np.ndarray:
        return np.asarray(x @ self.weights).ravel() + self.bias

    def scores(self, x: Any) -> np.ndarray:
        return (self.raw(x) - self.mean) / self.std


@dataclass
class Model:
    """One similar-watchlist's classifiers and where its threshold lies."""

    watchlist: str
    key: str  # what it was trained for: examples, votes, sensitivity (a change retrains)
    words: View
    dense: View
    background: np.ndarray  # the background's scores, sorted
    threshold: float
    examples: list[int] = field(default_factory=list)
    held_out: float | None = None  # what a positive not trained on scores (adaptive)

    def scores(self, vectors: Features) -> np.ndarray:
        fused: np.ndarray = self.words.scores(vectors.words) + self.dense.scores(vectors.dense)
        return fused

    def percentile(self, score: float) -> float:
        """The share of recent papers scoring lower: 0.995 = the top half percent."""
        return int(np.searchsorted(self.background, score)) / max(1, len(self.background))

    def explain(self, words: sparse.csr_matrix, text: str) -> list[str]:
        """The words (and word pairs) of this paper (its TF-IDF row) that weighed most."""
        row = words.tocsr()
        weight = {
            int(j): float(v) * float(self.words.weights[j])
            for j, v in zip(row.indices, row.data, strict=True)
        }
        best: dict[str, float] = {}
        for term in dict.fromkeys(terms(text)):
            w = weight.get(column(term), 0.0)
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


def model_key(examples: Sequence[int], negatives: Sequence[int], sensitivity: float | None) -> str:
    return json.dumps([sorted(examples), sorted(negatives), sensitivity])


WORDS_C, DENSE_C = 10.0, 1.0  # regularization of each view's regression (`make eval`)


FIXED_SENSITIVITY = 0.997  # the top 0.3%: a threshold with nothing to calibrate it on
FLOOR = 0.99  # an adaptive threshold is never below the top 1% of recent papers
HELD_OUT_SHARE = 0.6  # ... and lies at 60% of what a held-out positive scores (median)
FOLDS = 5  # positives held out in turn to calibrate it


def train(
    watchlist: str,
    examples: list[int],
    positives: Features,
    background: Features,
    sensitivity: float | None,
    negatives: list[int] | None = None,
    negative_vectors: Features | None = None,
) -> Model:
    """Positives (examples, 👍) against background, balanced, each 👎 weighing as much as
    a positive. The threshold: at the sensitivity's percentile of the background's scores
    if one is given; else adapted to the topic (`calibrate`)."""
    words, dense = _fit(positives, background, negative_vectors)
    scores = np.sort(words.scores(background.words) + dense.scores(background.dense))
    held_out = None
    if sensitivity is not None:
        threshold = float(np.quantile(scores, sensitivity)) if len(scores) else 0.0
    else:
        held_out = _held_out(positives, background, negative_vectors)
        threshold = calibrate(scores, held_out)
    return Model(
        watchlist,
        model_key(examples, negatives or [], sensitivity),
        words,
        dense,
        scores,
        threshold,
        list(examples),
        held_out,
    )


def calibrate(background: np.ndarray, held_out: float | None) -> float:
    """A threshold for this topic. A fixed share of recent papers (0.3%) is too few for a
    broad topic (federated learning: a third of the new papers naming it in their title
    were found) and lets the bulk in for a narrow one (spiking networks: half the alerts
    did not name it). A positive the model was not trained on scores about what a new
    paper of the topic scores: when it ranks in the top 1% of recent papers (the median
    over the positives held out in turn), the examples make a topic the model recognises,
    and the threshold is a share of that score, never below the top 1%. Examples too
    unlike each other for that (five random papers of a broad category), or a single
    one (nothing to hold out), keep the top 0.3%. `make eval` measures both."""
    if not len(background):
        return 0.0
    floor = float(np.quantile(background, FLOOR))
    if held_out is None or held_out <= floor:
        return float(np.quantile(background, FIXED_SENSITIVITY))
    return max(floor, HELD_OUT_SHARE * held_out)


def threshold_said(model: Model, sensitivity: float | None) -> str:
    """How a model's threshold was set, as `preview` says it."""
    if sensitivity is not None:
        return f"sensitivity {sensitivity}: the top {100 * (1 - sensitivity):g}% of recent papers"
    fixed = f"the top {100 * (1 - FIXED_SENSITIVITY):g}% of recent papers"
    if model.held_out is None:
        return f"one example, nothing to calibrate on: {fixed}"
    floor = float(np.quantile(model.background, FLOOR)) if len(model.background) else 0.0
    if model.held_out <= floor:
        return (
            f"{fixed}: the examples differ too much for one left out to rank in the top "
            f"{100 * (1 - FLOOR):g}% ({model.held_out:.2f}); add examples closer to the topic"
        )
    return (
        f"adapted to the topic: {HELD_OUT_SHARE:.0%} of what an example scores when the "
        f"model has not seen it ({model.held_out:.2f}), and at least the top "
        f"{100 * (1 - FLOOR):g}% of recent papers"
    )


def _held_out(
    positives: Features, background: Features, negatives: Features | None
) -> float | None:
    """The median score of each positive by a model trained without it (up to FOLDS
    folds); None with fewer than two positives."""
    n = len(positives)
    if n < 2:
        return None
    found: list[float] = []
    for fold in np.array_split(np.arange(n), min(FOLDS, n)):
        rest = np.setdiff1d(np.arange(n), fold)
        words, dense = _fit(positives[rest], background, negatives)
        held = positives[fold]
        found += list(words.scores(held.words) + dense.scores(held.dense))
    return float(np.median(found))


def _fit(
    positives: Features, background: Features, negatives: Features | None
) -> tuple[View, View]:
    """One logistic regression per view; each view's scores in standard deviations of
    the background's."""
    from sklearn.linear_model import LogisticRegression  # the training process's alone

    parts = [positives, background] + ([negatives] if negatives else [])
    x = Features.stack(parts)
    n_pos, n_bg = len(positives), len(background)
    n_neg = len(x) - n_pos - n_bg
    y = np.r_[np.ones(n_pos), np.zeros(n_bg + n_neg)]
    per_positive = (n_pos + n_bg) / (2 * n_pos)
    weight = np.r_[
        np.full(n_pos, per_positive),
        np.full(n_bg, (n_pos + n_bg) / (2 * n_bg)),
        np.full(n_neg, per_positive),
    ]
    views = []
    for features, c in ((x.words, WORDS_C), (x.dense, DENSE_C)):
        used, fitted = None, features
        if isinstance(features, sparse.csr_matrix):  # a column no paper here has keeps
            used, fitted = _present_columns(features)  # weight 0 (L2): fitted without it
        clf = LogisticRegression(C=c, max_iter=1000).fit(fitted, y, sample_weight=weight)
        weights = clf.coef_.ravel().astype(np.float32)
        if used is not None:
            weights = np.zeros(N_FEATURES, np.float32)
            weights[used] = clf.coef_.ravel()
        view = View(weights, float(clf.intercept_[0]))
        raw = view.raw(features[n_pos : n_pos + n_bg])
        view.mean, view.std = float(raw.mean()), float(raw.std()) or 1.0
        views.append(view)
    return views[0], views[1]


def _present_columns(found: sparse.csr_matrix) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The columns some row has, and the matrix of those alone: the same fit, in a
    fraction of the time. Renumbered in place (the order kept, the rows' indices stay
    sorted): a tenth of the time `np.unique` and scipy's column indexing take."""
    present = np.zeros(found.shape[1], bool)
    present[found.indices] = True
    renumbered = (np.cumsum(present, dtype=np.int32) - 1)[found.indices]
    fitted = sparse.csr_matrix(
        (found.data, renumbered, found.indptr), shape=(found.shape[0], int(present.sum()))
    )
    return np.flatnonzero(present), fitted


def describe(model: Model, score: float, vector: Features | None = None) -> dict[str, Any]:
    """What a match records: score, percentile, threshold; given the paper's vector, how
    much of the score came from its words and how much from its meaning (the dense view:
    a paper can be like the examples in other words)."""
    facts = {
        "score": round(score, 3),
        "percentile": round(model.percentile(score), 4),
        "threshold": round(model.threshold, 3),
    }
    if vector is not None:
        facts["words"] = round(float(model.words.scores(vector.words)[0]), 3)
        facts["meaning"] = round(float(model.dense.scores(vector.dense)[0]), 3)
    return facts


def closest(examples: tuple[list[str], np.ndarray], dense: np.ndarray, n: int = 2) -> list[str]:
    """The titles of the `n` examples whose meaning (the dense view) is nearest the
    paper's: what a reader recognises the match by."""
    titles, vectors = examples
    order = np.argsort(-(vectors @ dense))[:n]
    return [titles[int(i)][:120] for i in order]


_WORD = re.compile(r"\S+")


def label(term: str) -> str:
    """A term as the highlighter and the message show it: a pair in quotes."""
    return f'"{term}"' if _WORD.findall(term)[1:] else term
