"""Word folding shared by the query language, the matcher and highlighting.

Terms are case-insensitive, Unicode- and accent-folded whole words with plural folding:
`tensor` matches "Tensor", "tensors", "tensor-based", not "tensorial" or "TensorNet".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

WORD = re.compile(r"[^\W_]+")
# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSABLE = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "ı": "i",
        "Þ": "Th",
        "þ": "th",
    }
)


def fold(text: str) -> str:
    """Casefold and strip accents: "Schrödinger" -> "schrodinger"."""
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        decomposed = decomposed.translate(_UNDECOMPOSABLE)
    if decomposed.isascii():
        return decomposed.casefold()
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=200_000)
def singular(word: str) -> str:
    """Plural folding: "tensors" -> "tensor", "queries" -> "query", "classes" -> "class"."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Folded words of `text`, in order, not yet singularised."""
    return WORD.findall(fold(text))
