"""Real papers and watchlists drawn from their vocabulary, for the matching benchmark.

Papers are the 100,000 arXiv abstracts of ../shared/corpus. Watchlists are built from
words and word runs of those papers whose document frequency (counted on a sample) lies
between 0.01% and 2%: single words, 2-3 word phrases, prefixes, exclusions, field scopes
and boolean combinations, as researchers write them.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL = ROOT.parent / "shared" / "corpus" / "arxiv_cs_100k.jsonl.gz"
SAMPLE = ROOT / "tests" / "fixtures" / "corpus" / "arxiv_cs_5k.jsonl.gz"


def corpus_file() -> Path:
    """The corpus the benchmarks read: $PAPERWATCH_CORPUS, else the 100,000 papers where
    the project's shared data sits beside the clone, else the 5,000-paper sample bundled
    with the tests (figures on it are indicative only)."""
    given = os.environ.get("PAPERWATCH_CORPUS")
    if given:
        return Path(given)
    return FULL if FULL.exists() else SAMPLE


CORPUS_FILE = corpus_file()


def which() -> str:
    """A line saying which corpus the figures are on."""
    kind = "the bundled 5,000-paper sample" if CORPUS_FILE == SAMPLE else "the full corpus"
    return f"corpus: {CORPUS_FILE} ({kind}; set PAPERWATCH_CORPUS to choose)"


_WORD = re.compile(r"[A-Za-z][a-z]{3,}")


def papers(n: int = 100_000) -> list[tuple[str, str]]:
    return [paper for batch in batches(n, n) for paper in batch]


def batches(n: int, size: int) -> Iterator[list[tuple[str, str]]]:
    """The first `n` papers' titles and abstracts, `size` at a time, read as they go (so
    the papers are never all in memory)."""
    batch: list[tuple[str, str]] = []
    with gzip.open(CORPUS_FILE, "rt") as f:
        for i, line in enumerate(f):
            if i == n:
                break
            p = json.loads(line)
            batch.append((p["title"], p["abstract"]))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


class Vocabulary:
    """Words, phrases and prefixes with their document frequency on a sample."""

    def __init__(self, sample: list[tuple[str, str]], seed: int = 7) -> None:
        self.rng = random.Random(seed)
        n = len(sample)
        words: Counter[str] = Counter()
        pairs: Counter[str] = Counter()
        triples: Counter[str] = Counter()
        prefixes: Counter[str] = Counter()
        for title, abstract in sample:
            seq = [w.lower() for w in _WORD.findall(f"{title} {abstract}")]
            words.update(set(seq))
            pairs.update({f"{a} {b}" for a, b in zip(seq, seq[1:], strict=False)})
            triples.update({" ".join(seq[i : i + 3]) for i in range(len(seq) - 2)})
            prefixes.update({w[:6] for w in seq if len(w) > 7})
        low, high = max(2, n // 10_000), n // 50  # 0.01% .. 2% of the papers

        def band(counts: Counter[str]) -> list[str]:
            return sorted(w for w, c in counts.items() if low <= c <= high)

        self.words = band(words)
        self.pairs = band(pairs)
        self.triples = band(triples)
        self.prefixes = band(prefixes)
        self.common = sorted(w for w, c in words.items() if c > high)[:400]

    def term(self) -> str:
        r = self.rng.random()
        if r < 0.45:
            return self.rng.choice(self.words)
        if r < 0.7:
            return f'"{self.rng.choice(self.pairs)}"'
        if r < 0.8:
            return f'"{self.rng.choice(self.triples)}"'
        return self.rng.choice(self.prefixes) + "*"

    def query(self) -> str:
        r = self.rng.random()
        if r < 0.35:  # keywords: any of a few terms
            return " OR ".join(self.term() for _ in range(self.rng.randint(1, 4)))
        if r < 0.55:  # with an exclusion
            return f"({self.term()} OR {self.term()}) NOT {self.rng.choice(self.common)}"
        if r < 0.7:  # a field scope
            return f"title:{self.term()} OR abstract:({self.term()} {self.term()})"
        if r < 0.85:  # boolean
            return f"({self.term()} OR {self.term()}) AND ({self.term()} OR {self.term()})"
        return f"{self.term()} NOT {self.term()}"


def watchlists(vocab: Vocabulary, n: int) -> list[str]:
    return [vocab.query() for _ in range(n)]


def fuzzed(vocab: Vocabulary, n: int, seed: int = 13) -> list[str]:
    """Random combinations of terms with every operator, for the identity check."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        terms = [vocab.term() for _ in range(rng.randint(1, 4))]
        ops = [rng.choice([" OR ", " AND ", " ", " NOT ", " -", " OR title:"]) for _ in terms]
        out.append(terms[0] + "".join(op + t for op, t in zip(ops, terms[1:], strict=False)))
    return out
