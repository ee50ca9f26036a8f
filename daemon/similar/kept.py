"""The background's vectors, kept from one training to the next in
`state_dir/similar-vectors.npz`.

Every training vectorizes the newest papers (up to 5,000) as its background, and
tokenizing them for the embedding is most of what a training costs; a vote, an edit or
a new example retrains on nearly the same papers. A training leaves their vectors here,
each with its paper's id and a checksum of its text, and the next one reads those whose
text is unchanged instead of computing them again (`preview` reads them too). The words
view is kept as raw counts, not TF-IDF: a refitted space weighs them anew. A file that
cannot be read is ignored, and replaced by the next training.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from daemon.core.log import event
from daemon.similar.embed import DIMENSIONS, embed
from daemon.similar.model import N_FEATURES, Features, Row, Space, counts, text_of

FILE = "similar-vectors.npz"


def kept_path(db_path: Path) -> Path:
    return db_path.with_name(FILE)


def _key(text: str) -> int:
    """A text's checksum: 64 bits, so that a changed text is never taken for its old one."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Kept:
    """The vectors a training left: raw counts and embeddings by paper id and text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[int, int] = {}  # paper id -> row
        self.keys = np.zeros(0, np.uint64)
        self.raw = sparse.csr_matrix((0, 0), dtype=np.float32)  # raw counts
        self.dense = np.zeros((0, 0), np.float32)
        try:
            with np.load(path, allow_pickle=False) as f:
                ids, keys, dense = f["ids"], f["keys"], f["dense"]
                found = sparse.csr_matrix(
                    (f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"])
                )
            if not len(ids) == len(keys) == len(dense) == found.shape[0]:
                raise ValueError("its arrays disagree in length")
            if keys.dtype != np.uint64:
                raise ValueError("checksums of another kind")
            if found.shape[1] != N_FEATURES or dense.shape[1:] != (DIMENSIONS,):
                raise ValueError("vectors of another shape")
        except FileNotFoundError:
            return
        except Exception as exc:  # a torn or foreign file: computed afresh, replaced
            event("similar_vectors_unread", logging.WARNING, path=str(path), error=repr(exc))
            return
        self.rows = {int(pid): i for i, pid in enumerate(ids)}
        self.keys, self.raw, self.dense = keys, found, dense

    def counts(self, rows: Sequence[Row]) -> sparse.csr_matrix:
        """The rows' raw counts, read where kept for the same text, counted for the others
        (what fitting the space reads)."""
        texts, at, hit = self._look_up(rows)
        return self._counts(texts, at, hit)

    def vectors(self, space: Space, rows: Sequence[Row]) -> tuple[sparse.csr_matrix, Features]:
        """The rows' raw counts and their features, read where kept for the same text,
        computed for the others."""
        texts, at, hit = self._look_up(rows)
        found = self._counts(texts, at, hit)
        fresh = embed([texts[i] for i in (~hit).nonzero()[0]])
        dense = _in_order(hit, self.dense[at[hit]], fresh, np.vstack) if hit.any() else fresh
        return found, Features(space.weigh(found), dense)

    def _look_up(self, rows: Sequence[Row]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The rows' texts, their rows here (-1: none), and whether each is kept for its
        text as it is now."""
        texts = [text_of(t, a) for _, t, a in rows]
        keys = np.array([_key(t) for t in texts], np.uint64)
        at = np.array([self.rows.get(pid, -1) for pid, _, _ in rows], np.int64)
        hit = at >= 0
        hit[hit] = self.keys[at[hit]] == keys[hit]
        return texts, at, hit

    def _counts(self, texts: list[str], at: np.ndarray, hit: np.ndarray) -> sparse.csr_matrix:
        fresh = counts([texts[i] for i in (~hit).nonzero()[0]])
        if not hit.any():
            return fresh
        return _in_order(hit, self.raw[at[hit]], fresh, _stack_rows)


def _stack_rows(parts: Sequence[sparse.csr_matrix]) -> sparse.csr_matrix:
    return sparse.vstack(parts, format="csr")


def _in_order(hit: np.ndarray, kept: Any, fresh: Any, stack: Callable[[Any], Any]) -> Any:
    """Kept rows (where `hit`) and fresh ones (the others), in the order of `hit`."""
    hits, missing = hit.nonzero()[0], (~hit).nonzero()[0]
    order = np.empty(len(hit), np.int64)
    order[hits] = np.arange(len(hits))
    order[missing] = len(hits) + np.arange(len(missing))
    return stack([kept, fresh])[order]


def keep(path: Path, rows: Sequence[Row], found: sparse.csr_matrix, dense: np.ndarray) -> None:
    """Leave these rows' vectors for the next training (the file holds these alone)."""
    keys = np.array([_key(text_of(t, a)) for _, t, a in rows], np.uint64)
    part = path.with_name(f".{path.name}.{os.getpid()}.npz")
    try:
        np.savez(
            part,
            ids=np.array([pid for pid, _, _ in rows], np.int64),
            keys=keys,
            dense=dense,
            data=found.data,
            indices=found.indices,
            indptr=found.indptr,
            shape=np.array(found.shape, np.int64),
        )
        os.replace(part, path)
    except OSError as exc:  # a full disk costs the next training time, nothing else
        event("similar_vectors_unkept", logging.WARNING, path=str(path), error=repr(exc))
        part.unlink(missing_ok=True)
