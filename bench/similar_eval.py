"""`make eval`: how well "more like these" watchlists find papers of the examples' kind.

On the 100k real-paper corpus: the papers announced before a cut-off day are "stored",
those after it are "new". For 40 fine arXiv categories x 5 trials, 5 example papers of
the category (its primary category) train a watchlist exactly as the daemon trains one
(daemon.similar), and the new papers are ranked by its score; precision@10 and @50 count
new papers listed in that category. The baseline, in the same run on the same examples:
cosine similarity to the examples' TF-IDF centroid. Then the costs: fitting on all 100k
papers plus one watchlist (time, peak RSS), and scoring 1,000 new papers against 100
watchlists.
"""

from __future__ import annotations

import gzip
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus_match import CORPUS_FILE as CORPUS  # noqa: E402
from daemon.similar import BACKGROUND, Space, text_of, train  # noqa: E402

CUT = "2026-06-01"
RECENT = "2026-02-01"  # the "last months" the background is drawn from
CATEGORIES, TRIALS, EXAMPLES = 40, 5, 5


def corpus() -> list[dict[str, Any]]:
    with gzip.open(CORPUS, "rt") as f:
        return [json.loads(line) for line in f]


def main() -> None:
    from bench.corpus_match import which

    print(which())
    rows = corpus()
    texts = [text_of(r["title"], r["abstract"]) for r in rows]
    stored = [i for i, r in enumerate(rows) if r["announced"] < CUT]
    new = [i for i, r in enumerate(rows) if r["announced"] >= CUT]
    space = Space.fit(texts[i] for i in stored)
    x_stored = space.vectors([texts[i] for i in stored])
    x_new = space.vectors([texts[i] for i in new])
    primary = Counter(rows[i]["categories"][0] for i in stored)
    listed_new = Counter(c for i in new for c in rows[i]["categories"])
    cats = [c for c, n in primary.most_common() if n >= 20 and listed_new[c] >= 20][:CATEGORIES]
    rng = random.Random(13)
    recent = [k for k, i in enumerate(stored) if rows[i]["announced"] >= RECENT]
    found: dict[str, list[float]] = {
        "model@10": [],
        "model@50": [],
        "centroid@10": [],
        "centroid@50": [],
    }
    for cat in cats:
        members = [k for k, i in enumerate(stored) if rows[i]["categories"][0] == cat]
        relevant = np.array([cat in rows[i]["categories"] for i in new])
        for _ in range(TRIALS):
            examples = rng.sample(members, EXAMPLES)
            background = [b for b in rng.sample(recent, BACKGROUND) if b not in examples]
            model = train(cat, examples, x_stored[examples], x_stored[background], 0.99)
            centroid = np.asarray(x_stored[examples].mean(axis=0)).ravel()
            for name, scores in (("model", model.scores(x_new)), ("centroid", x_new @ centroid)):
                order = np.argsort(-scores)
                found[f"{name}@10"].append(float(relevant[order[:10]].mean()))
                found[f"{name}@50"].append(float(relevant[order[:50]].mean()))
    m = {k: float(np.mean(v)) for k, v in found.items()}
    met = m["model@10"] >= 0.35 and m["model@10"] > m["centroid@10"]
    print(
        f"precision on {len(cats)} categories x {TRIALS} trials, {EXAMPLES} examples each, "
        f"{len(stored)} stored and {len(new)} new real papers:\n"
        f"  logistic regression (paperwatch): @10 {m['model@10']:.3f}  @50 {m['model@50']:.3f}\n"
        f"  TF-IDF centroid (baseline):       @10 {m['centroid@10']:.3f}  "
        f"@50 {m['centroid@50']:.3f}\n"
        f"  target: @10 >= 0.35 and above the baseline: {'met' if met else 'NOT met'}"
    )
    # the costs in a fresh process, so its peak RSS is the fit's own
    subprocess.run([sys.executable, __file__, "costs"], check=True)


def peak_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from a parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def costs() -> None:
    """Fit on all 100k papers and train one watchlist; then score 1,000 against 100."""
    rss_before = peak_mb()
    rows = corpus()
    t0 = time.perf_counter()
    space = Space.fit(text_of(r["title"], r["abstract"]) for r in rows)
    recent = space.vectors([text_of(r["title"], r["abstract"]) for r in rows[-BACKGROUND:]])
    examples = space.vectors([text_of(r["title"], r["abstract"]) for r in rows[:5]])
    model = train("w", [0, 1, 2, 3, 4], examples, recent, 0.99)
    fit_s = time.perf_counter() - t0
    peak = peak_mb()
    models = []
    for w in range(100):
        picks = random.Random(w).sample(range(len(rows) - BACKGROUND), 5)
        models.append(
            train(
                f"w{w}",
                picks,
                space.vectors([text_of(rows[p]["title"], rows[p]["abstract"]) for p in picks]),
                recent,
                0.99,
            )
        )
    day = [text_of(r["title"], r["abstract"]) for r in rows[-1000:]]
    t1 = time.perf_counter()
    vectors = space.vectors(day)
    hits = sum(int((m.scores(vectors) >= m.threshold).sum()) for m in models)
    score_s = time.perf_counter() - t1
    print(
        f"fit on {space.papers} papers + train one watchlist: {fit_s:.1f} s (target < 60 s), "
        f"peak RSS {peak:.0f} MB, the 100k papers' text included ({rss_before:.0f} MB at "
        "start; target < 1 GB)\n"
        f"score 1,000 new papers against 100 similar-watchlists: {score_s:.2f} s "
        f"(target < 2 s; {hits} hits at sensitivity 0.99)"
    )
    del model


if __name__ == "__main__":
    costs() if sys.argv[1:] == ["costs"] else main()
