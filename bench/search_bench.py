"""The one-query search and single-query matchers on the real corpus (issue 20).

- `part_search`: the corpus stored in a real SQLite file, its search index built, then
  one-query searches as the web API answers them (`/api/papers?q=`: search + listing)
  from a read-only store, as the running daemon's handler reads it: p50 and p90 over
  queries drawn from the corpus's vocabulary; against the scan before issue 20 (a
  one-rule matcher over every stored paper), same queries, interleaved; and the search's
  papers against that scan's for every timed baseline query.
- `part_alone`: single-query matchers against direct evaluation on real papers (the
  check that would have seen the three-word blind spot), and the issue's four phrases
  alone against an independent regular expression over the whole corpus.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus_match import CORPUS_FILE, Vocabulary, batches, papers

ISSUE_PHRASES = {  # query alone -> what an independent reader's regex counts
    '"vision language model"': r"\bvision[\s-]+language[\s-]+models?\b",
    '"in-context learning"': r"\bin[\s-]+context[\s-]+learning\b",
    '"graph neural network"': r"\bgraph[\s-]+neural[\s-]+networks?\b",
    '"test-time scaling"': r"\btest[\s-]+time[\s-]+scaling\b",
}


def _stored(n: int, db: Path, skip: int = 0) -> int:
    """The first `n` corpus papers (after `skip`) in a store at `db`, 5,000 a document;
    returns how many papers it holds."""
    from daemon.core.models import Digest, Paper
    from daemon.ingest.document import ingest_digest
    from daemon.store import Store

    def ingest(chunk: list[Paper], name: str) -> None:
        digest = Digest("text", tuple(chunk))
        now = datetime(2026, 11, 22, tzinfo=UTC)
        ingest_digest(store, digest, source="b", location=name, content_hash=name, now=now)

    with Store(db) as store, gzip.open(CORPUS_FILE, "rt") as f:
        chunk: list[Paper] = []
        for i, line in enumerate(f):
            if i < skip:
                continue
            if i == skip + n:
                break
            p = json.loads(line)
            authors = tuple(p["authors"])
            chunk.append(Paper(p["title"], p["abstract"], authors, arxiv_id=p["id"]))
            if len(chunk) == 5000:
                ingest(chunk, str(i))
                chunk = []
        if chunk:
            ingest(chunk, f"last-{skip}")
        return store.papers.max_id()


def search_queries(n: int, seed: int = 5) -> list[str]:
    """One-query searches as a researcher types them: words, phrases of two and three
    words, prefixes, a few combined, and the issue's four phrases."""
    vocab = Vocabulary(papers(5000), seed=seed)
    found = list(ISSUE_PHRASES)
    while len(found) < n:
        r = vocab.rng.random()
        if r < 0.7:
            found.append(vocab.term())
        elif r < 0.85:
            found.append(f"{vocab.term()} {vocab.term()}")
        else:
            found.append(f"{vocab.term()} -{vocab.rng.choice(vocab.common)}")
    return found


AFTER, AFTER_QUERIES = 1000, 100  # papers of the ingest a search follows at once; its queries


def part_search(n_papers: int, n_queries: int, n_baseline: int) -> dict[str, Any]:
    from daemon.language.query import parse_query
    from daemon.matching.match import Matcher, Rule
    from daemon.matching.search import catch_up, search
    from daemon.store import Store
    from daemon.web.pages import find_papers

    queries = search_queries(n_queries)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "paperwatch.db"
        t0 = time.perf_counter()
        stored = _stored(n_papers - AFTER, db)
        store_s = time.perf_counter() - t0
        size_before = db.stat().st_size  # (the store is closed: its WAL is checkpointed)
        with Store(db) as writer:
            t0 = time.perf_counter()
            catch_up(writer)
            index_s = time.perf_counter() - t0
            writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_after = db.stat().st_size
        # `paperwatch ingest` of the last papers: stored, then indexed in the same command
        t0 = time.perf_counter()
        stored = _stored(AFTER, db, skip=n_papers - AFTER)
        with Store(db) as writer:
            catch_up(writer)
        ingest_s = time.perf_counter() - t0
        reader = Store(db, readonly=True)
        after = []  # right after the ingest: as fast as later?
        for q in queries[:AFTER_QUERIES]:
            t0 = time.perf_counter()
            find_papers(reader, {"q": q, "limit": "100"})
            after.append(time.perf_counter() - t0)
        after.sort()

        def scan(query: str) -> list[int]:
            """Before issue 20: a one-rule matcher over every stored paper."""
            ids = []
            matcher = Matcher([Rule("q", parse_query(query))])
            for row, hits in matcher.match_rows(reader.papers.iterate()):
                if any(not h.undecided for h in hits):
                    ids.append(row.id)
            return sorted(ids, reverse=True)

        times, counts = [], []
        for q in queries:
            t0 = time.perf_counter()
            rows, _ = find_papers(reader, {"q": q, "limit": "100"})
            times.append(time.perf_counter() - t0)
            counts.append(len(rows))
        base, mine, same = [], [], 0
        for i, q in enumerate(queries[:n_baseline]):
            order = [("scan", scan), ("search", lambda q: search(reader, parse_query(q))[0])]
            timed = {}
            for name, fn in order[:: 1 if i % 2 else -1]:
                t0 = time.perf_counter()
                timed[name] = (fn(q), time.perf_counter() - t0)
            base.append(timed["scan"][1])
            mine.append(timed["search"][1])
            same += timed["scan"][0] == timed["search"][0]
        times.sort()
        return {
            "stored": stored,
            "store_s": store_s,
            "index_s": index_s,
            "index_mb": (size_after - size_before) / 1e6,
            "db_mb": size_after / 1e6,
            "queries": len(queries),
            "p50_ms": 1000 * statistics.median(times),
            "p90_ms": 1000 * times[int(0.9 * len(times))],
            "p99_ms": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))],
            "max_ms": 1000 * times[-1],
            "after_ingested": AFTER,
            "after_ingest_s": ingest_s,
            "after_p50_ms": 1000 * statistics.median(after),
            "after_p99_ms": 1000 * after[min(len(after) - 1, int(0.99 * len(after)))],
            "after_queries": len(after),
            "baseline_queries": n_baseline,
            "baseline_p50_ms": 1000 * statistics.median(base),
            "search_p50_ms_same_queries": 1000 * statistics.median(mine),
            "same_as_scan": same,
        }


def part_alone(n_papers: int, n_queries: int, n_sample: int) -> dict[str, Any]:
    """Each query alone in its matcher: the issue's four phrases over the corpus against a
    regex, and `n_queries` drawn from the vocabulary against direct evaluation."""
    from bench.corpus_match import fuzzed
    from daemon.language.query import Doc, evaluate, parse_query
    from daemon.matching.match import BATCH, Matcher, Rule

    alone = {q: Matcher([Rule(q, parse_query(q))]) for q in ISSUE_PHRASES}
    regexes = {q: re.compile(r, re.IGNORECASE) for q, r in ISSUE_PHRASES.items()}
    found = {q: [0, 0, 0] for q in ISSUE_PHRASES}  # matcher, regex, both
    sample: list[tuple[str, str]] = []
    for chunk in batches(n_papers, BATCH):
        for q, matcher in alone.items():
            batch = matcher.match_batch([(t, a, ()) for t, a in chunk])
            for p, (t, a) in enumerate(chunk):
                hit = bool(batch.hits(p))
                said = bool(regexes[q].search(f"{t} {a}"))
                found[q][0] += hit
                found[q][1] += said
                found[q][2] += hit and said
        sample = (sample + chunk)[-n_sample:]
    vocab = Vocabulary(papers(5000), seed=21)
    queries = [*ISSUE_PHRASES, *search_queries(n_queries // 2, seed=9), *fuzzed(vocab, n_queries)]
    docs = [Doc(t, a, []) for t, a in sample]
    differ = []
    for q in queries:
        rule = Rule(q, parse_query(q))
        batch = Matcher([rule]).match_batch([(t, a, ()) for t, a in sample])
        indexed = [bool(batch.hits(p)) for p in range(len(sample))]
        direct = [evaluate(rule.query, d) for d in docs]
        if indexed != direct:
            differ.append(q)
    return {
        "phrases": {
            q: dict(zip(("matcher", "regex", "both"), v, strict=True)) for q, v in found.items()
        },
        "alone_queries": len(queries),
        "alone_sample": len(sample),
        "alone_differ": differ,
    }
