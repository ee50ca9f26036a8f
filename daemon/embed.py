"""Dense text embeddings: WordLlama's 256-dimension token embeddings, averaged.

The weights ship inside the `wordllama` wheel (16 MB), so nothing is downloaded at run
time: its package directory is the cache it loads from, with downloads turned off. Loaded
once per process, when a similar-watchlist first needs it. The mean is WordLlama's own
(its tokenizer, no special tokens, every token counted), computed as a token-count matrix
times the embedding: its `embed` pads each batch to the longest text and gathers a vector
per token, 2.6 times slower on abstracts.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

DIMENSIONS = 256


@cache
def _model() -> tuple[Any, np.ndarray]:
    """(tokenizer, embedding matrix)."""
    root = logging.getLogger()
    had_handlers = bool(root.handlers)
    import wordllama  # its import calls logging.basicConfig: undone below

    if not had_handlers:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.setLevel(logging.WARNING)
    model = wordllama.WordLlama.load(
        dim=DIMENSIONS, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )
    model.tokenizer.no_padding()  # this process's own instance: texts are not padded here
    return model.tokenizer, model.embedding


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (float32, one row per text); a text with no token is the zero vector."""
    tokenizer, embedding = _model()
    encoded = tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
    lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
    ids = np.fromiter((i for e in encoded for i in e.ids), np.int64, int(lengths.sum()))
    counts = sparse.csr_matrix(
        (np.ones(len(ids), np.float32), ids, np.r_[0, np.cumsum(lengths)]),
        shape=(len(texts), embedding.shape[0]),
    )
    vectors: np.ndarray = np.asarray(counts @ embedding, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # the mean's direction: the sum's
    unit: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit
