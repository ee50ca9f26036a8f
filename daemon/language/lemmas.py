"""Noun lemmas from lemminflect's dictionary, in a compact table shipped with the package.

lemminflect keeps every part of speech of 70,000 words in nested dicts: 33 MB in memory,
and 16 MB more to import it. Matching needs one answer per word: its noun lemmas, the
word itself (known, not as a noun), or nothing (unknown: the caller's rules apply). This
table holds just that, built from lemminflect's tables (`python -m daemon.language.lemmas`
rewrites it; a test checks it against the installed lemminflect, word for word).

It stays one sorted text in memory, a line per known word (`word` or `word<TAB>lemma...`),
searched by bisection over the lines' offsets: 1.6 MB, where 70,000 strings in a set and
a dict took 10 MB of the daemon's resting memory. `forms` caches the answers.
"""

from __future__ import annotations

import bisect
import gzip
import sys
from array import array
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).parent.parent / "data" / "noun_lemmas.txt.gz"


class _Lines:
    """The table's lines as a sequence of their words, for `bisect`: where each line and
    its word end are kept (two arrays, 560 KB), so a step of the search is one slice."""

    def __init__(self, text: str) -> None:
        import numpy as np  # the matcher's already: found at C speed, 3 ms, not 40

        self.text = text
        codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)  # a character each
        ends = np.flatnonzero(codes == ord("\n"))
        if not len(codes) or codes[-1] != ord("\n"):
            ends = np.append(ends, len(codes))  # the last line, unless it ends the text
        starts = np.r_[0, ends[:-1] + 1]
        tabs = np.flatnonzero(codes == ord("\t"))
        tab = np.append(tabs, len(codes))[np.searchsorted(tabs, starts)]  # a line's first
        words = np.where(tab < ends, tab, ends)
        keep = starts < len(codes)  # no empty line after the last newline
        self.starts = array("I", starts[keep].astype(np.uint32).tobytes())  # a line's start
        self.ends = array("I", words[keep].astype(np.uint32).tobytes())  # its word's end

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> str:
        end = self.text.find("\n", self.starts[i])
        return self.text[self.starts[i] : end if end >= 0 else None]

    def __getitem__(self, i: int) -> str:
        return self.text[self.starts[i] : self.ends[i]]


@lru_cache(maxsize=1)
def _table() -> _Lines:
    return _Lines(gzip.decompress(TABLE.read_bytes()).decode("utf-8"))


@lru_cache(maxsize=4096)  # the two-letter starts of the words looked up
def _block(start: str) -> tuple[int, int]:
    """The lines of the words beginning with `start` (two characters): a search among
    them is a third of the steps of one among all (a few thousand such blocks)."""
    lines = _table()
    first = bisect.bisect_left(lines, start)
    return first, bisect.bisect_left(lines, start + "\U0010ffff", first)


def noun_lemmas(word: str) -> tuple[str, ...] | None:
    """The noun lemmas of `word` (lower case); the word itself if the dictionary knows
    it but not as a noun; None if it does not know it."""
    lines = _table()
    first, end = _block(word[:2])
    i = bisect.bisect_left(lines, word, first, end)
    if i == end:
        return None
    found = lines.line(i).split("\t")
    if found[0] != word:
        return None
    return tuple(found[1:]) or (word,)


def build() -> str:
    """The table, from the installed lemminflect's own tables: the answer of
    `lemminflect.getAllLemmas` reduced to what matching reads, a sorted line per word."""
    from lemminflect.core.Lemmatizer import Lemmatizer

    lemmatizer = Lemmatizer()
    base, overrides = lemmatizer._getLemmaDict(), lemmatizer._getOverridesDict()
    lines = []
    for word in sorted(set(base) | set(overrides)):
        entry, override = base.get(word), overrides.get(word)
        if not entry and not override:
            continue
        assert "\t" not in word and "\n" not in word, word
        nouns = override["NOUN"] if override and "NOUN" in override else (entry or {}).get("NOUN")
        answer = tuple(x.lower() for x in nouns) if nouns else (word,)
        lines.append(word if answer == (word,) else "\t".join((word, *answer)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TABLE.parent.mkdir(exist_ok=True)
    TABLE.write_bytes(gzip.compress(build().encode("utf-8"), compresslevel=9, mtime=0))
    print(f"wrote {TABLE}", file=sys.stderr)
