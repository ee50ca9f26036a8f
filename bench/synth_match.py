"""Synthetic corpus and watchlists for the matching benchmark.

Words come from a Zipf-distributed vocabulary of pseudo-words (like real abstracts: a few
words everywhere, most words rare); watchlists use keywords, phrases, prefixes and
exclusions drawn from the mid and rare range, as real researchers' watchlists do.
"""

from __future__ import annotations

import random
import re
from itertools import accumulate

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "pe",
    "di",
    "gu",
    "ban",
    "tor",
    "lem",
    "quin",
    "zar",
    "fen",
    "dol",
    "mar",
    "tik",
    "ren",
    "sol",
    "vad",
    "nim",
    "hep",
    "cor",
    "gal",
]


def vocabulary(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if not w.endswith(("s", "x", "z", "y", "ch", "sh", "u", "i")):
            words.add(w)
    return sorted(words)


class Corpus:
    def __init__(self, vocab_size: int = 30000, seed: int = 5) -> None:
        self.vocab = vocabulary(vocab_size)
        self.rng = random.Random(seed)
        self.weights = list(accumulate(1 / (i + 1) ** 1.05 for i in range(vocab_size)))

    def words(self, n: int) -> list[str]:
        picked = self.rng.choices(self.vocab, cum_weights=self.weights, k=n)
        return [w + "s" if self.rng.random() < 0.1 else w for w in picked]

    def paper(self) -> tuple[str, str]:
        title = " ".join(self.words(self.rng.randint(6, 12))).title()
        abstract = (
            ". ".join(
                " ".join(self.words(self.rng.randint(12, 25)))
                for _ in range(self.rng.randint(6, 10))
            )
            + "."
        )
        return title, abstract

    def watchlist(self) -> tuple[list[str], list[str]]:
        rng = self.rng
        mid = self.vocab[3000:]
        keywords = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            if r < 0.2:
                keywords.append(
                    f"{rng.choice(self.vocab[50:800])} {rng.choice(self.vocab[50:800])}"
                )
            elif r < 0.3:
                keywords.append(rng.choice(mid)[:7] + "*")
            else:
                keywords.append(rng.choice(mid))
        exclude = [rng.choice(self.vocab[:300])] if rng.random() < 0.3 else []
        return keywords, exclude


def _word(w: str) -> str:
    if w.endswith("*"):
        return re.escape(w[:-1]) + r"\w*"
    return re.escape(w) + "s?"


def baseline_regex(
    keywords: list[str], exclude: list[str]
) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """The feed-reader approach: one compiled regex per watchlist (and one for exclusions)."""

    def alt(terms: list[str]) -> str:
        return "|".join(r"\W+".join(_word(w) for w in t.split()) for t in terms)

    inc = re.compile(rf"(?<!\w)(?:{alt(keywords)})(?!\w)", re.IGNORECASE)
    exc = re.compile(rf"(?<!\w)(?:{alt(exclude)})(?!\w)", re.IGNORECASE) if exclude else None
    return inc, exc
