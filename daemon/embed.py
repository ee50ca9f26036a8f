"""Dense text embeddings: WordLlama's 256-dimension token embeddings, average-pooled.

The weights ship inside the `wordllama` wheel (16 MB), so nothing is downloaded at run
time: its package directory is the cache it loads from, with downloads turned off. Loaded
once per process, when a similar-watchlist first needs it.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 256
BATCH = 64


@cache
def _model() -> Any:
    root = logging.getLogger()
    had_handlers = bool(root.handlers)
    import wordllama  # its import calls logging.basicConfig: undone below

    if not had_handlers:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.setLevel(logging.WARNING)
    return wordllama.WordLlama.load(
        dim=DIMENSIONS, cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (float32, one row per text); an empty text is the zero vector."""
    if not texts:
        return np.zeros((0, DIMENSIONS), np.float32)
    vectors: np.ndarray = np.asarray(_model().embed(texts, batch_size=BATCH), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit
