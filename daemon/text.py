"""Words as the query language sees them, shared by queries, the matcher and highlighting.

A text is cut into chunks: runs of letters and digits joined by hyphens ("pre-training",
"GPT-4o"), or a letter followed by `++` or `#` (C++, C#, F#: names, not the letter C).
A chunk is split into parts at hyphens and where letters meet digits ("GPT4" -> gpt, 4);
a part that follows its neighbour without a hyphen is `soft` (a phrase may not end or
start there, so `GPT-4` never matches "GPT-4o"). A chunk of several parts is also one
joined word ("pretraining", "gpt4"), as Lucene's word-delimiter filter indexes catenated
forms, so `pre-training`, `pretraining` and `"pre training"` find each other.

Each part has its word forms: case and accents folded, British spelling made American
(breame's list), and nouns reduced to their dictionary lemmas (lemminflect: matrices ->
matrix, analyses -> analysis, caches -> cache; `news` stays news, `dynamics` stays
dynamics, as the dictionary has them). Words the dictionary does not know fall back to
rules: acronym plurals (LLMs -> llm), -ies/-es/-s plurals, -isation -> -ization. Author
names are only case- and accent-folded: `williams` is never "William".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import lemminflect
from breame.spelling import get_american_spelling

_CHUNK = re.compile(r"(?<![^\W_])[A-Za-z](?:\+\+|#)(?![\w#+])|[^\W_]+(?:[-\u2010\u2011][^\W_]+)*")
_HYPHEN = re.compile(r"[-\u2010\u2011]")
_RUN = re.compile(r"\d+|[^\W\d_]+")
_ACRONYM_PLURAL = re.compile(r"^[A-Z][A-Z0-9]+s$")
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
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text).translate(_UNDECOMPOSABLE)
    if decomposed.isascii():
        return decomposed.casefold()
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _fallback(raw: str, word: str) -> str:
    """Plural and spelling rules for words the dictionary does not know."""
    if _ACRONYM_PLURAL.match(raw):
        return word[:-1]
    if word.endswith(("isation", "isations")):
        word = word.replace("isation", "ization")
    if len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("ss"):
        return word  # unknown -us/-is words are stripped alike in queries and text: no harm
    return word[:-1]


def _lemmas(word: str) -> tuple[str, ...] | None:
    """Noun lemmas from the dictionary; the word itself if known but not as a noun; None
    if the dictionary does not know it."""
    found = lemminflect.getAllLemmas(word)
    if not found:
        return None
    return found.get("NOUN") or (word,)


@lru_cache(maxsize=500_000)
def forms(raw: str) -> tuple[str, ...]:
    """Every form one part stands for, the preferred first: "Matrices" -> ("matrix",)."""
    word = fold(raw)
    if word.isdigit() or not word.isalnum():
        return (word,)
    american = get_american_spelling(word)
    lemmas = _lemmas(word) or (_lemmas(american) if american != word else None)
    if lemmas is None:
        return (get_american_spelling(_fallback(raw, american)),)
    return tuple(dict.fromkeys(get_american_spelling(lemma) for lemma in lemmas))


@lru_cache(maxsize=200_000)
def plain(raw: str) -> tuple[str, ...]:
    """An author name's part: folded, nothing more."""
    return (fold(raw),)


@dataclass
class Tokens:
    """One text cut into parts: their forms, surfaces (folded as written), offsets, and
    the joined words of multi-part chunks. Phrases match on consecutive parts."""

    forms: list[tuple[str, ...]] = field(default_factory=list)
    surface: list[str] = field(default_factory=list)
    soft: list[bool] = field(default_factory=list)  # glued to the previous part
    spans: list[tuple[int, int]] = field(default_factory=list)
    joined: list[tuple[tuple[str, ...], str, int, int]] = field(default_factory=list)
    # (forms, surface, first part, last part) of each multi-part chunk

    def gap(self) -> None:
        """A wall no phrase crosses (between two authors)."""
        self.forms.append(())
        self.surface.append("")
        self.soft.append(False)
        self.spans.append((0, 0))


def tokenize(text: str, author: bool = False, into: Tokens | None = None) -> Tokens:
    out = into if into is not None else Tokens()
    form_of = plain if author else forms
    for m in _CHUNK.finditer(text):
        chunk = m.group()
        start = m.start()
        if chunk.isalpha() or chunk.isdigit() or chunk[-1] in "+#":
            out.forms.append(form_of(chunk))
            out.surface.append(fold(chunk))
            out.soft.append(False)
            out.spans.append((start, m.end()))
            continue
        first = len(out.forms)
        pieces = []
        offset = 0
        for part in _HYPHEN.split(chunk):
            for i, run in enumerate(_RUN.finditer(part)):
                piece = run.group()
                pieces.append(piece)
                out.forms.append(form_of(piece))
                out.surface.append(fold(piece))
                out.soft.append(i > 0)
                out.spans.append((start + offset + run.start(), start + offset + run.end()))
            offset += len(part) + 1
        if len(pieces) > 1:
            whole = "".join(pieces)
            out.joined.append((form_of(whole), fold(whole), first, len(out.forms) - 1))
    return out


def words(text: str) -> list[str]:
    """The preferred form of each part of `text`, in order."""
    return [f[0] for f in tokenize(text).forms]
