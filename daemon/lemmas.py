"""Noun lemmas from lemminflect's dictionary, in a compact table shipped with the package.

lemminflect keeps every part of speech of 70,000 words in nested dicts: 33 MB in memory,
and 16 MB more to import it. Matching needs one answer per word: its noun lemmas, the
word itself (known, not as a noun), or nothing (unknown: the caller's rules apply). This
table holds just that, built from lemminflect's tables (`python -m daemon.lemmas`
rewrites it; a test checks it against the installed lemminflect, word for word).
"""

from __future__ import annotations

import gzip
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("data") / "noun_lemmas.json.gz"


@lru_cache(maxsize=1)
def _table() -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    with gzip.open(TABLE, "rt", encoding="utf-8") as f:
        data = json.load(f)
    return frozenset(data["known"]), {k: tuple(v) for k, v in data["special"].items()}


def noun_lemmas(word: str) -> tuple[str, ...] | None:
    """The noun lemmas of `word` (lower case); the word itself if the dictionary knows
    it but not as a noun; None if it does not know it."""
    known, special = _table()
    found = special.get(word)
    if found is not None:
        return found
    return (word,) if word in known else None


def build() -> dict[str, Any]:
    """The table, from the installed lemminflect's own tables: the answer of
    `lemminflect.getAllLemmas` reduced to what matching reads."""
    from lemminflect.core.Lemmatizer import Lemmatizer

    lemmatizer = Lemmatizer()
    base, overrides = lemmatizer._getLemmaDict(), lemmatizer._getOverridesDict()
    known, special = [], {}
    for word in sorted(set(base) | set(overrides)):
        entry, override = base.get(word), overrides.get(word)
        if not entry and not override:
            continue
        known.append(word)
        nouns = override["NOUN"] if override and "NOUN" in override else (entry or {}).get("NOUN")
        answer = tuple(x.lower() for x in nouns) if nouns else (word,)
        if answer != (word,):
            special[word] = list(answer)
    return {"known": known, "special": special}


if __name__ == "__main__":
    TABLE.parent.mkdir(exist_ok=True)
    with gzip.open(TABLE, "wt", encoding="utf-8", compresslevel=9) as out:
        json.dump(build(), out, separators=(",", ":"))
    print(f"wrote {TABLE}", file=sys.stderr)
