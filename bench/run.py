"""`make bench`: each figure is a ratio against a baseline measured in the same run.

Every part runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures"

from bench.corpus_match import CORPUS_FILE as CORPUS  # noqa: E402
from bench.synth import papers as synth_papers  # noqa: E402
from daemon.core.models import Digest  # noqa: E402

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def part_html() -> dict[str, float]:
    from selectolax.lexbor import LexborHTMLParser

    from daemon.parse import parse_document

    pages = [
        (FIXTURES / "hf" / n).read_bytes()
        for n in (
            "listing_2026-06-12.html",
            "listing_dom_only_2026-08-03.html",
            "paper_page_2509.24002.html",
        )
    ]
    total_mb = sum(len(p) for p in pages) / 1e6
    rounds = 20

    def baseline() -> None:
        for _ in range(rounds):
            for page in pages:
                tree = LexborHTMLParser(page.decode())
                node = tree.css_first('[data-target="DailyPapers"]')
                if node is not None:
                    json.loads(node.attributes.get("data-props") or "null")

    def ours() -> None:
        for _ in range(rounds):
            for page in pages:
                parse_document(page, "bench", NOW)

    base = best_of(baseline, 5)
    mine = best_of(ours, 5)
    return {
        "html_mb_s": total_mb * rounds / mine,
        "baseline_mb_s": total_mb * rounds / base,
        "ratio": base / mine,
    }


def part_ingest(n: int) -> dict[str, float]:
    """Synthetic papers in documents of 1,000: ingest (parse result to the store, every
    index) against a bare `executemany` of the same rows, document by document in
    alternating order; the median of the per-document ratios."""
    from daemon.ingest.document import ingest_digest
    from daemon.store import Store

    chunk = 1000  # one document = one day page of 1000 papers; generated as needed
    with tempfile.TemporaryDirectory() as tmp:
        raw = sqlite3.connect(Path(tmp) / "raw.db")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute(
            "CREATE TABLE papers (arxiv_id, title, abstract, authors, url, hf_day, upvotes)"
        )
        store = Store(Path(tmp) / "paperwatch.db")

        def run_raw(papers: list[Any]) -> None:
            rows = [
                (
                    p.arxiv_id,
                    p.title,
                    p.abstract,
                    json.dumps(list(p.authors)),
                    p.url,
                    p.hf_day.isoformat() if p.hf_day else None,
                    p.upvotes,
                )
                for p in papers
            ]
            with raw:
                raw.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

        def run_mine(papers: list[Any], i: int) -> None:
            digest = Digest("hf_json", tuple(papers), papers[0].hf_day)
            ingest_digest(
                store, digest, source="bench", location=f"doc{i}", content_hash=f"h{i}", now=NOW
            )

        base, mine, ratios = 0.0, 0.0, []
        for round_, i in enumerate(range(0, n, chunk)):
            papers = synth_papers(chunk, seed=i, start=i)
            timed = {}
            order = [("base", run_raw, (papers,)), ("mine", run_mine, (papers, i))]
            for name, fn, args in order[:: 1 if round_ % 2 else -1]:
                t0 = time.perf_counter()
                fn(*args)  # type: ignore[operator]
                timed[name] = time.perf_counter() - t0
            base += timed["base"]
            mine += timed["mine"]
            ratios.append(timed["base"] / timed["mine"])
        assert store.papers.counts()["papers"] == n
    return {
        "papers_s": n / mine,
        "baseline_papers_s": n / base,
        "ratio": statistics.median(ratios),
    }


def interleaved(fns: dict[str, object], rounds: int) -> dict[str, float]:
    """Median seconds of each function, run in alternation so drift hits all alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def part_arxiv_parse() -> dict[str, float]:
    """The two cs.CL feeds: our parser against a bare `xml.etree` parse of the same bytes."""
    import xml.etree.ElementTree as ET

    from daemon.parse import parse_document

    feeds = [
        (FIXTURES / "arxiv" / n).read_bytes()
        for n in ("rss_cs.CL_2026-08-20.xml", "rss_cs.CL_2026-08-21.xml")
    ]
    total_mb = sum(len(f) for f in feeds) / 1e6
    reps = 10

    def raw() -> None:
        for _ in range(reps):
            for feed in feeds:
                ET.fromstring(feed)

    def ours() -> None:
        for _ in range(reps):
            for feed in feeds:
                assert parse_document(feed, "bench", NOW).papers

    t = interleaved({"raw": raw, "ours": ours}, 15)
    return {
        "mb_s": total_mb * reps / t["ours"],
        "raw_mb_s": total_mb * reps / t["raw"],
        "ratio": t["raw"] / t["ours"],
    }


def corpus_feeds() -> Iterator[tuple[str, list[dict[str, object]], bytes]]:
    """The 100k corpus as the daily RSS feeds arXiv announced it in, one per day."""
    import gzip
    from email.utils import format_datetime
    from itertools import groupby
    from xml.sax.saxutils import escape

    with gzip.open(CORPUS, "rt") as f:
        papers = (json.loads(line) for line in f)
        for day, group in groupby(papers, key=lambda p: p["announced"]):
            batch = list(group)
            stamp = format_datetime(datetime.fromisoformat(day).replace(tzinfo=UTC))
            items = "".join(
                f"<item><title>{escape(p['title'])}</title>"
                f"<link>https://arxiv.org/abs/{p['id']}</link><description>arXiv:{p['id']}v1 "
                f"Announce Type: {p['announce_type']} \nAbstract: {escape(p['abstract'])}"
                f'</description><guid isPermaLink="false">oai:arXiv.org:{p["id"]}v1</guid>'
                + "".join(f"<category>{c}</category>" for c in p["categories"])
                + f"<arxiv:announce_type>{p['announce_type']}</arxiv:announce_type>"
                f"<dc:creator>{escape(', '.join(p['authors']))}</dc:creator></item>"
                for p in batch
            )
            feed = (
                '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
                'xmlns:arxiv="http://arxiv.org/schemas/atom" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
                f"<title>cs updates on arXiv.org</title><pubDate>{stamp}</pubDate>"
                f"{items}</channel></rss>"
            )
            yield day, batch, feed.encode()


def part_arxiv_ingest() -> dict[str, float]:
    """The 100k corpus ingested as daily feeds (parse + identity + store) against a raw
    `executemany` of the same papers into a bare table."""
    from daemon.ingest.document import ingest_bytes
    from daemon.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        raw = sqlite3.connect(Path(tmp) / "raw.db")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("CREATE TABLE papers (arxiv_id, title, abstract, authors, announced)")
        store = Store(Path(tmp) / "paperwatch.db")
        base = mine = 0.0
        n = 0
        for day, batch, feed in corpus_feeds():
            rows = [
                (p["id"], p["title"], p["abstract"], json.dumps(p["authors"]), day) for p in batch
            ]
            t0 = time.perf_counter()
            with raw:
                raw.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?)", rows)
            t1 = time.perf_counter()
            ingest_bytes(store, feed, name=day, source="bench", location=day, ref_time=NOW, now=NOW)
            t2 = time.perf_counter()
            base, mine, n = base + t1 - t0, mine + t2 - t1, n + len(batch)
        stored = store.papers.counts()["papers"]
    return {
        "papers": n,
        "stored": stored,
        "papers_s": n / mine,
        "baseline_papers_s": n / base,
        "ratio": base / mine,
    }


def part_match(n_papers: int, n_watchlists: int, n_subset: int) -> dict[str, float]:
    """Synthetic papers against a regex per watchlist (the figure kept for continuity)."""
    from bench.synth_match import Corpus, baseline_regex
    from daemon.language.query import keywords_query
    from daemon.matching.match import BATCH, Matcher, Rule

    corpus = Corpus()
    lists = [corpus.watchlist() for _ in range(n_watchlists)]
    subset_papers = [corpus.paper() for _ in range(n_subset)]
    t0 = time.perf_counter()
    matcher = Matcher(
        Rule(str(i), keywords_query(tuple(k), tuple(e))) for i, (k, e) in enumerate(lists)
    )
    build = time.perf_counter() - t0
    matches, mine = 0, 0.0
    subset: set[tuple[int, str]] = set()
    for start in range(0, n_papers, BATCH):  # papers generated as they go
        batch = [
            subset_papers[p] if p < n_subset else corpus.paper()
            for p in range(start, min(start + BATCH, n_papers))
        ]
        t0 = time.perf_counter()
        result = matcher.match_batch([(t, a, ()) for t, a in batch])
        matches += result.count()
        mine += time.perf_counter() - t0
        if start == 0:
            subset = {(p, h.watchlist) for p in range(n_subset) for h in result.hits(p)}
    regexes = [baseline_regex(k, e) for k, e in lists]
    t0 = time.perf_counter()
    base_hits = set()
    for p, (title, abstract) in enumerate(subset_papers):
        for i, (inc, exc) in enumerate(regexes):
            if (inc.search(title) or inc.search(abstract)) and not (
                exc and (exc.search(title) or exc.search(abstract))
            ):
                base_hits.add((p, str(i)))
    base = time.perf_counter() - t0
    per_paper_mine, per_paper_base = mine / n_papers, base / n_subset
    return {
        "match_s": mine,
        "build_s": build,
        "matches": matches,
        "subset_matches": len(base_hits),
        "subset_differ": len(subset ^ base_hits),
        "subset": n_subset,
        "baseline_extrapolated_s": per_paper_base * n_papers,
        "speedup": per_paper_base / per_paper_mine,
    }


def part_corpus_match(n_papers: int, queries: str) -> dict[str, float]:
    """Real arXiv papers against watchlists from their vocabulary: the current matcher
    against the matcher before issue 10 (bench/baseline), batch by batch in alternating
    order; and the results against direct evaluation of every query."""
    from bench.baseline.match import Matcher as OldMatcher
    from bench.baseline.match import Rule as OldRule
    from bench.baseline.query import parse_query as old_parse
    from bench.corpus_match import batches
    from daemon.language.query import Doc, evaluate, parse_query
    from daemon.matching.match import BATCH, Matcher, Rule

    lists = json.loads(Path(queries).read_text())
    t0 = time.perf_counter()
    matcher = Matcher(Rule(str(i), parse_query(q)) for i, q in enumerate(lists["watchlists"]))
    build = time.perf_counter() - t0
    old = OldMatcher(OldRule(str(i), old_parse(q)) for i, q in enumerate(lists["watchlists"]))
    ratios, mine_total, old_total, matches = [], 0.0, 0.0, 0
    last: list[tuple[str, str]] = []
    for round_, chunk in enumerate(batches(n_papers, BATCH)):

        def run_mine(chunk: list[tuple[str, str]] = chunk) -> int:
            return matcher.match_batch([(t, a, ()) for t, a in chunk]).count()

        def run_old(chunk: list[tuple[str, str]] = chunk) -> int:
            return sum(len(old.match(t, a, ())) for t, a in chunk)

        timed = {}
        for name, fn in (("old", run_old), ("mine", run_mine))[:: 1 if round_ % 2 else -1]:
            t0 = time.perf_counter()
            found = fn()
            timed[name] = time.perf_counter() - t0
            if name == "mine":
                matches += found
        ratios.append(timed["old"] / timed["mine"])
        mine_total += timed["mine"]
        old_total += timed["old"]
        last = (last + chunk)[-2000:]

    def direct(rules: list[Rule], sample: list[tuple[str, str]]) -> set[tuple[int, str]]:
        docs = [Doc(t, a, []) for t, a in sample]
        return {(p, r.name) for p, d in enumerate(docs) for r in rules if evaluate(r.query, d)}

    def indexed(rules: list[Rule], sample: list[tuple[str, str]]) -> set[tuple[int, str]]:
        result = Matcher(rules).match_batch([(t, a, ()) for t, a in sample])
        return {(p, h.watchlist) for p in range(len(sample)) for h in result.hits(p)}

    sample = last[-200:]
    same_subset = direct(matcher.rules, sample) == indexed(matcher.rules, sample)
    fuzz = [Rule(f"f{i}", parse_query(q)) for i, q in enumerate(lists["fuzzed"])]
    same_fuzzed = direct(fuzz, last) == indexed(fuzz, last)
    return {
        "mine_s": mine_total,
        "old_s": old_total,
        "median_speedup": statistics.median(ratios),
        "build_s": build,
        "matches": matches,
        "same_subset": same_subset,
        "same_fuzzed": same_fuzzed,
    }


def part_corpus_match_alone(n_papers: int, queries: str) -> dict[str, float]:
    """The current matcher alone on the same papers and watchlists, papers read as they
    go: its time and its process's peak RSS."""
    from bench.corpus_match import batches
    from daemon.language.query import parse_query
    from daemon.matching.match import BATCH, Matcher, Rule

    lists = json.loads(Path(queries).read_text())["watchlists"]
    matcher = Matcher(Rule(str(i), parse_query(q)) for i, q in enumerate(lists))
    built_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total, matches = 0.0, 0
    for chunk in batches(n_papers, BATCH):
        t0 = time.perf_counter()
        matches += matcher.match_batch([(t, a, ()) for t, a in chunk]).count()
        total += time.perf_counter() - t0
    return {"s": total, "matches": matches, "built_rss_mb": built_mb}


def write_queries(path: Path, n_watchlists: int, n_fuzzed: int) -> None:
    """Watchlists drawn from the vocabulary of the corpus's first 5,000 papers, and random
    queries for the identity check, for the matching parts to share."""
    from bench.corpus_match import Vocabulary, fuzzed, papers, watchlists

    vocab = Vocabulary(papers(5000))
    lists = {"watchlists": watchlists(vocab, n_watchlists), "fuzzed": fuzzed(vocab, n_fuzzed)}
    path.write_text(json.dumps(lists))


def write_dump(path: Path, size: int) -> int:
    """A text dump of real arXiv titles and abstracts, just under `size` bytes."""
    import gzip

    written = 0
    with gzip.open(CORPUS, "rt") as corpus, open(path, "w") as out:
        out.write("Daily Papers\n\n")
        for line in corpus:
            paper = json.loads(line)
            title, abstract = " ".join(paper["title"].split()), " ".join(paper["abstract"].split())
            if len(abstract) < 2 * max(len(title), 60):
                continue  # a dump holds real abstracts; skip withdrawn-paper stubs
            entry = f"{title}\n\n{abstract}\n\n"
            if written + len(entry) > size - 64:
                break
            out.write(entry)
            written += len(entry)
    return path.stat().st_size


def part_inbox(dump: str) -> dict[str, float]:
    """Peak RSS of the inbox ingesting one large dump, over the process's RSS before."""
    import shutil

    from daemon.config import load_config
    from daemon.poller import PollContext, run_source
    from daemon.runtime import Runtime
    from daemon.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            'state_dir = "state"\n[channels]\nc = "json://127.0.0.1:9/"\n'
            '[[sources]]\nname = "inbox"\ntype = "folder"\n'
            '[[watchlists]]\nname = "t"\nkeywords = ["tensor"]\nnotify = ["c"]\n'
        )
        cfg = load_config(config)
        inbox = cfg.state_dir / "inbox"
        inbox.mkdir(parents=True)
        shutil.copy(dump, inbox / "dump.txt")
        old = time.time() - 60
        os.utime(inbox / "dump.txt", (old, old))
        store, runtime = Store(cfg.db_path), Runtime.build(cfg)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        outcome = run_source(PollContext(store, runtime, NOW), runtime.sources[0])
        took = time.perf_counter() - t0
        assert outcome is not None and outcome.documents == 1, outcome
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"before_mb": before, "papers": outcome.papers, "s": took, "peak_mb": peak}


def run_part(name: str, *args: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, name, *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def child(name: str, args: list[str]) -> None:
    result = PARTS[name](*[int(a) if a.isdigit() else a for a in args])
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def part_search(n_papers: int, n_queries: int, n_baseline: int) -> dict[str, Any]:
    from bench.search_bench import part_search as run

    return run(n_papers, n_queries, n_baseline)


def part_alone(n_papers: int, n_queries: int, n_sample: int) -> dict[str, Any]:
    from bench.search_bench import part_alone as run

    return run(n_papers, n_queries, n_sample)


PARTS = {
    "search": part_search,
    "alone": part_alone,
    "html": part_html,
    "ingest": part_ingest,
    "match": part_match,
    "corpus_match": part_corpus_match,
    "corpus_match_alone": part_corpus_match_alone,
    "inbox": part_inbox,
    "arxiv_parse": part_arxiv_parse,
    "arxiv_ingest": part_arxiv_ingest,
}


def main() -> None:
    if len(sys.argv) > 1:
        child(sys.argv[1], sys.argv[2:])
        return
    from bench.corpus_match import which

    print(which())
    html = run_part("html")
    print(
        f"html parse     : {html['html_mb_s']:8.1f} MB/s   baseline (lexbor + json.loads) "
        f"{html['baseline_mb_s']:8.1f} MB/s   ratio {html['ratio']:.2f}x  (target >= 0.5x)"
    )
    ing = run_part("ingest", "100000")
    print(
        f"ingest 100k    : {ing['papers_s']:8.0f} papers/s  baseline (sqlite3 executemany) "
        f"{ing['baseline_papers_s']:8.0f} rows/s  median ratio {ing['ratio']:.2f}x (per document, "
        f"interleaved; target >= 0.25x, as docs/performance.md says)"
        f"   peak RSS {ing['peak_rss_mb']:.0f} MB (target < 300 MB)"
    )
    m = run_part("match", "100000", "10000", "60")
    print(
        f"match 100k x 10k synthetic: {m['match_s']:6.1f} s ({m['matches']} matches; index "
        f"built in {m['build_s']:.1f} s)   baseline (a regex per watchlist, {m['subset']} "
        f"papers, extrapolated) {m['baseline_extrapolated_s']:.0f} s   speedup "
        f"{m['speedup']:.0f}x (target >= 50x)   {m['subset_differ']} (paper, watchlist) pairs "
        f"differ from the regexes on the subset (word forms, compounds)   peak RSS "
        f"{m['peak_rss_mb']:.0f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        queries = Path(tmp) / "queries.json"
        write_queries(queries, 10_000, 1_000)
        c = run_part("corpus_match", "100000", str(queries))
        alone = run_part("corpus_match_alone", "100000", str(queries))
    print(
        f"match 100k real x 10k: {c['mine_s']:6.1f} s ({c['matches']} matches; index built "
        f"in {c['build_s']:.1f} s)   baseline (the matcher before issue 10, same data, "
        f"interleaved) {c['old_s']:.1f} s   median speedup {c['median_speedup']:.2f}x "
        f"(target >= 5x, <= 10 s)   same results as direct evaluation: subset "
        f"{c['same_subset']}, 1,000 fuzzed queries {c['same_fuzzed']}"
    )
    print(
        f"match 100k real x 10k, matcher alone, papers streamed: {alone['s']:6.1f} s "
        f"({alone['matches']} matches)   peak RSS {alone['peak_rss_mb']:.0f} MB "
        f"(target < 300 MB; {alone['built_rss_mb']:.0f} MB once the watchlists are compiled)"
    )
    one = run_part("alone", "100000", "400", "2000")
    for query, n in one["phrases"].items():
        print(
            f"{query} alone in its matcher, 100k real papers: {n['matcher']} found, an "
            f"independent regex {n['regex']}, both {n['both']} = "
            f"{n['both'] / max(1, n['regex']):.1%} of the regex's (target >= 95%)"
        )
    print(
        f"single-query matchers ({one['alone_queries']} queries from the corpus, each alone) "
        f"on {one['alone_sample']} real papers: "
        f"{len(one['alone_differ'])} differ from direct evaluation {one['alone_differ'][:5]}"
    )
    se = run_part("search", "100000", "200", "6")
    print(
        f"one-query search over {se['stored']} stored papers (web API: search + listing, "
        f"read-only store as the daemon serves it): p50 {se['p50_ms']:.0f} ms, p90 "
        f"{se['p90_ms']:.0f} ms, p99 {se['p99_ms']:.0f} ms, max {se['max_ms']:.0f} ms over "
        f"{se['queries']} queries (target p50 <= 300 ms, p99 <= 500 ms)   baseline (a "
        f"one-rule matcher over every paper, before "
        f"issue 20; {se['baseline_queries']} queries, interleaved) p50 "
        f"{se['baseline_p50_ms']:.0f} ms vs {se['search_p50_ms_same_queries']:.0f} ms: "
        f"same papers {se['same_as_scan']}/{se['baseline_queries']}   index built in "
        f"{se['index_s']:.0f} s, {se['index_mb']:.0f} MB (database {se['db_mb']:.0f} MB)"
    )
    print(
        f"search right after `paperwatch ingest` of {se['after_ingested']} papers (stored and "
        f"indexed in {se['after_ingest_s']:.1f} s by the command): p50 "
        f"{se['after_p50_ms']:.0f} ms, p99 {se['after_p99_ms']:.0f} ms over the first "
        f"{se['after_queries']} queries (as later: p50 {se['p50_ms']:.0f} ms)"
    )
    subprocess.run([sys.executable, str(ROOT / "bench" / "words.py")], check=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py")], check=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / "soak_similar.py")], check=True)
    ap = run_part("arxiv_parse")
    print(
        f"arXiv feed parse: {ap['mb_s']:7.1f} MB/s   baseline (bare xml.etree parse) "
        f"{ap['raw_mb_s']:7.1f} MB/s   ratio {ap['ratio']:.2f}x (medians of 15 interleaved rounds)"
    )
    ai = run_part("arxiv_ingest")
    print(
        f"arXiv ingest {ai['papers']} corpus papers as daily feeds: {ai['papers_s']:8.0f} "
        f"papers/s ({ai['stored']} stored)   baseline (sqlite3 executemany) "
        f"{ai['baseline_papers_s']:8.0f} rows/s   ratio {ai['ratio']:.2f}x   peak RSS "
        f"{ai['peak_rss_mb']:.0f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump.txt"
        size = write_dump(dump, 50_000_000) / 1e6
        box = run_part("inbox", str(dump))
    grown = box["peak_mb"] - box["before_mb"]
    print(
        f"inbox {size:.1f} MB dump: {box['papers']} papers in {box['s']:.1f} s   "
        f"peak RSS {box['peak_mb']:.0f} MB, {grown:.0f} MB over the {box['before_mb']:.0f} MB "
        f"before it = {grown / size:.2f}x the file (target <= 3x)"
    )


if __name__ == "__main__":
    main()
