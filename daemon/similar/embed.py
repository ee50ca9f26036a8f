"""Dense text embeddings: WordLlama's 256-dimension token embeddings, averaged.

The weights and the tokenizer ship inside the `wordllama` wheel (16 MB), so nothing is
downloaded at run time. They are read from its package directory with the libraries
WordLlama itself reads them with (safetensors, tokenizers), without importing WordLlama
(17 MB the daemon would keep for good). Loaded once per process, when a similar-watchlist
first needs it. The mean is WordLlama's own (its tokenizer, no special tokens, every token
counted, no truncation), computed as a token-count matrix times the embedding: its
`embed` pads each batch to the longest text and gathers a vector per token, 2.6 times
slower on abstracts. A test checks the vectors against WordLlama's `embed`.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

DIMENSIONS = 256
MODEL = "l2_supercat"  # WordLlama's default model, as its wheel names its files


@cache
def _model() -> tuple[Any, np.ndarray]:
    """(tokenizer, embedding matrix)."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("wordllama")
    assert spec is not None and spec.submodule_search_locations, "wordllama is installed"
    package = Path(list(spec.submodule_search_locations)[0])
    tokenizer = Tokenizer.from_file(str(package / "tokenizers" / f"{MODEL}_tokenizer_config.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    weights = package / "weights" / f"{MODEL}_{DIMENSIONS}.safetensors"
    with safe_open(str(weights), framework="np") as f:
        embedding = f.get_tensor("embedding.weight")
    return tokenizer, embedding


BATCH = 256  # texts tokenized at once: the tokenizer's encodings of 5,000 abstracts held
# 170 MB at once, memory the process then kept


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (float32, one row per text); a text with no token is the zero vector."""
    if len(texts) <= BATCH:
        return _embed(texts)
    return np.vstack([_embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])


def _embed(texts: list[str]) -> np.ndarray:
    tokenizer, embedding = _model()
    encoded = tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
    lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
    ids = np.fromiter((i for e in encoded for i in e.ids), np.int64, int(lengths.sum()))
    # the weights are kept as shipped (float16, half the memory); the rows of the tokens
    # these texts use are widened to float32, as WordLlama widens them all
    present = np.zeros(len(embedding), bool)  # the tokens used, renumbered in order
    present[ids] = True
    used, columns = np.flatnonzero(present), (np.cumsum(present) - 1)[ids]
    counts = sparse.csr_matrix(
        (np.ones(len(ids), np.float32), columns, np.r_[0, np.cumsum(lengths)]),
        shape=(len(texts), len(used)),
    )
    rows = embedding[used].astype(np.float32)
    vectors: np.ndarray = np.asarray(counts @ rows, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # the mean's direction: the sum's
    unit: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit
