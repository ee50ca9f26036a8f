"""Similar-watchlists at work: train in the background, score new papers, record matches.

The daemon runs `SimilarEngine.run` as a scheduler job: it (re)trains what is stale (a
watchlist new or changed, the store grown by RETRAIN_GROWTH since the space was fitted),
then scores the papers stored since each watchlist last scored, in one transaction with
the matches and deliveries it writes. Ingest and delivery never wait for it. A watchlist
starts with the papers stored since its configuration was written (`start_watchlists`;
`preview` shows the older ones); a paper scored by its title alone is scored again when
its abstract arrives.
Models are kept in `state_dir/similar.pickle`, so a restart or a CLI command does not
train again what did not change.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pickle
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.config import Config, Watchlist, is_library
from daemon.core.clock import iso
from daemon.core.errors import PaperwatchError
from daemon.core.log import Conditions, event
from daemon.core.models import title_key
from daemon.delivery.matches import record_matches
from daemon.matching.library import Reference, load_library
from daemon.matching.match import Matcher, Rule
from daemon.similar.train import Job, train_in_child, train_models
from daemon.store import Store
from daemon.store.deliveries import Found

if TYPE_CHECKING:  # scikit-learn takes a second to import: only when a watchlist needs it
    from daemon.similar.kept import Kept
    from daemon.similar.model import Model, Space

SCORE_BATCH = 5_000
MODELS_FORMAT = 4  # of similar.pickle: 3 = two views, the words hashed by CRC-32; 4 = held_out


START_LOOKBACK = timedelta(days=1)  # the furthest back a new watchlist starts


def start_watchlists(store: Store, config: Config, now: datetime) -> None:
    """Record where each similar-watchlist new to this store starts: the papers stored
    since its configuration was written (its file's time, or now if later), whichever
    command or daemon loads it first and whenever it is first scored. The first ingest
    after adding a watchlist counts, even when it lands before the daemon's reload. A
    file time older than START_LOOKBACK (a config restored or copied with its time) does
    not turn months of stored papers into alerts."""
    names = [w.name for w in config.watchlists if w.similar is not None]
    if not names:
        return
    try:
        written = datetime.fromtimestamp(config.path.stat().st_mtime, UTC)
    except OSError:
        written = now
    store.similar.start(names, iso(max(min(written, now), now - START_LOOKBACK)))


def examples_of(store: Store, config: Config) -> dict[str, list[int]]:
    """Each similar-watchlist's example papers: an unknown id or title is a ConfigError;
    a library's entries not stored yet are left out (`unstored` lists them)."""
    from daemon.similar.model import resolve_examples

    found = {}
    for w in config.watchlists:
        if w.similar is None:
            continue
        named = [e for e in w.similar.examples if not is_library(e)]
        ids = resolve_examples(named, w.similar.where, store.papers.find)
        for path in w.similar.libraries:
            for ref in _library(w, path):
                pid = _find(store, ref)
                if pid is not None and pid not in ids:
                    ids.append(pid)
        found[w.name] = ids
    return found


def unstored(store: Store, watchlist: Watchlist) -> list[tuple[Path, int, list[str]]]:
    """For each library of the watchlist: its path, its entry count and the labels of
    the entries no stored paper has yet."""
    assert watchlist.similar is not None
    out = []
    for path in watchlist.similar.libraries:
        refs = _library(watchlist, path)
        out.append((path, len(refs), [r.label for r in refs if _find(store, r) is None]))
    return out


def library_problems(watchlist: Watchlist) -> list[str]:
    """Why each library of the watchlist that cannot be read now cannot, naming its TOML
    path (its last good entries are used meanwhile, in a process that had them)."""
    if watchlist.similar is None:
        return []
    found = []
    for path in watchlist.similar.libraries:
        problem = load_library(path).problem
        if problem is not None:
            found.append(f"{watchlist.similar.where}: {problem}")
    return found


_UNREADABLE = Conditions()  # libraries that cannot be read: logged once, and when fixed


def _library(watchlist: Watchlist, path: Path) -> tuple[Reference, ...]:
    """A library's entries, or its last good ones (logged once) when it cannot be read
    now: a broken library is its own watchlist's problem, never the others'."""
    assert watchlist.similar is not None
    read = load_library(path)
    if read.problem is None:
        _UNREADABLE.end(str(path), watchlist=watchlist.name, path=path)
    else:
        _UNREADABLE.start(
            str(path),
            "library_unreadable",
            watchlist=watchlist.name,
            where=watchlist.similar.where,
            problem=read.problem,
            keeping=f"{len(read.references)} entries last read",
        )
    return read.references


def _find(store: Store, ref: Reference) -> int | None:
    found = store.papers.find(ref.arxiv_id, "", ref.doi) if ref.arxiv_id or ref.doi else None
    if found is None and ref.title:
        found = store.papers.find(None, title_key(ref.title))
    return found


def training_sets(store: Store, config: Config) -> dict[str, Job]:
    """What each similar-watchlist is trained on: its examples and the papers voted 👍
    as positives, those voted 👎 as negatives (a vote on an example is overruled by the
    config). One with no positive stored yet waits for them."""
    examples = examples_of(store, config)
    jobs = {}
    for w in config.watchlists:
        if w.similar is None:
            continue
        named = examples[w.name]
        votes = store.similar.votes(w.name)
        ups = [p for p, v in votes.items() if v > 0 and p not in named]
        downs = [p for p, v in votes.items() if v < 0 and p not in named]
        if named or ups:
            jobs[w.name] = (named + ups, downs, w.similar.sensitivity)
    return jobs


def _end(worker: BaseProcess, timeout: float) -> None:
    """Terminate a training process; kill it if it lingers."""
    worker.terminate()
    worker.join(timeout)
    if worker.is_alive():
        worker.kill()
        worker.join(timeout)


class TrainingStopped(PaperwatchError):
    """The daemon is stopping: the training process was ended."""


class SimilarEngine:
    """Models of the similar-watchlists: trained when stale, saved, used to score.

    `isolate`: train in a process of its own (the daemon: training is pure CPU and would
    hold the interpreter lock its inbox and delivery threads need, and `stop` can end it);
    a CLI command trains in its own process and saves the 1.5 s of starting another."""

    def __init__(self, state_dir: Path, isolate: bool = False) -> None:
        self.path = state_dir / "similar.pickle"
        self.isolate = isolate
        self.lock = threading.Lock()  # one trainer or scorer at a time
        self.space: Space | None = None
        self.models: dict[str, Model] = {}
        self.loaded = False
        self.worker: BaseProcess | None = None  # the training process, while it runs
        self.stopping = threading.Event()

    def stop(self, timeout: float = 3.0) -> None:
        """End a training in progress (the daemon stops): its process is terminated, then
        killed if it lingers, so no child outlives the daemon."""
        self.stopping.set()
        worker = self.worker
        if worker is not None and worker.is_alive():  # else not started yet: see `_train`
            _end(worker, timeout)
            # said here, before the daemon's last line: the job that waited on the
            # process ends in a thread the exit does not wait for
            event("similar_training_stopped", reason="the daemon is stopping")

    def _load(self) -> None:
        """The models saved by an earlier run, once, when first needed."""
        if self.loaded:
            return
        self.loaded = True
        try:
            with open(self.path, "rb") as f:
                saved = pickle.load(f)  # noqa: S301 (our own state file)
        except FileNotFoundError:
            return
        except Exception as exc:  # an unreadable file: train again
            event("similar_state_unreadable", logging.WARNING, path=self.path, error=repr(exc))
            return
        if isinstance(saved, tuple) and len(saved) == 3 and saved[0] == MODELS_FORMAT:
            _, self.space, self.models = saved
        else:  # models of an earlier paperwatch: trained again
            event("similar_state_outdated", path=self.path)

    def _save(self) -> None:
        """Atomically, under a name of its own: a CLI `preview` may save beside the daemon."""
        fd, part = tempfile.mkstemp(prefix=".similar-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                saved = (MODELS_FORMAT, self.space, self.models)
                pickle.dump(saved, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(part, self.path)
        except BaseException:
            os.unlink(part)
            raise

    def run(self, store: Store, config: Config, now: datetime) -> int:
        """Train what is stale, then score new papers; returns the matches recorded."""
        if not any(w.similar for w in config.watchlists):
            return 0
        with self.lock:
            self.refresh(store, config)
            return self.score_new(store, config, now)

    def refresh(self, store: Store, config: Config, force: bool = False) -> bool:
        """(Re)train the space and the models that are stale; True if anything was."""
        from daemon.similar.model import RETRAIN_GROWTH, model_key

        self._load()
        jobs = training_sets(store, config)
        stored = store.papers.counts()["papers"]
        refit = force or self.space is None or stored > self.space.papers * (1 + RETRAIN_GROWTH)
        stale = {
            n: job
            for n, job in jobs.items()
            if refit or n not in self.models or self.models[n].key != model_key(*job)
        }
        gone = set(self.models) - set(jobs)
        if not stale and not gone:
            return False
        started = time.perf_counter()
        event("similar_training", watchlists=len(stale), refit=refit, papers=stored)
        space, trained = self._train(store.path, stale, None if refit else self.space)
        self.space = space
        self.models.update(trained)
        for name in gone:
            del self.models[name]
        self._save()
        event(
            "similar_trained",
            watchlists=len(stale),
            papers=space.papers,
            refit=refit,
            seconds=round(time.perf_counter() - started, 1),
        )
        return True

    def _train(
        self, db_path: Path, jobs: dict[str, Job], space: Space | None
    ) -> tuple[Space, dict[str, Model]]:
        """`train_models`, isolated in a spawned process (no fork of a threaded daemon)
        that `stop` can end."""
        if self.stopping.is_set():
            raise TrainingStopped("the daemon is stopping: no training")
        if not self.isolate:
            return train_models(db_path, jobs, space)
        spawn = multiprocessing.get_context("spawn")
        results, out = spawn.Pipe(duplex=False)
        worker = spawn.Process(
            target=train_in_child, args=(out, db_path, jobs, space), name="paperwatch-train"
        )
        worker.daemon = True  # ended with the daemon, whatever happens
        self.worker = worker
        worker.start()  # returns once the process has its arguments (it may be slow to read)
        out.close()
        if self.stopping.is_set():  # `stop` came while it was starting: it saw no process
            _end(worker, 3.0)
        try:
            status, value = results.recv()
        except EOFError:
            worker.join()
            if self.stopping.is_set():
                raise TrainingStopped("the training process was ended") from None
            raise PaperwatchError(  # killed (out of memory, say): an error, and tried again
                f"the similar-watchlist training process died (exit code {worker.exitcode})"
            ) from None
        finally:
            results.close()
            worker.join()
            self.worker = None
        if status != "ok":
            raise PaperwatchError(f"similar-watchlist training failed: {value}")
        trained: tuple[Space, dict[str, Model]] = value
        return trained

    def score_new(self, store: Store, config: Config, now: datetime) -> int:
        """Score the papers each similar-watchlist has not scored; record those above its
        threshold. The papers of a batch are vectorized once for all watchlists."""
        import numpy as np

        from daemon.similar.model import text_of

        self._load()
        ready = [
            w
            for w in config.watchlists
            if w.similar is not None and w.name in self.models and self.space is not None
        ]
        if not ready or self.space is None:
            return 0
        recorded = 0
        with store.transaction():
            start_watchlists(store, config, now)  # a config never loaded by a command
            done = {w.name: store.similar.scored_up_to(w.name) or 0 for w in ready}
            rows = list(store.papers.texts(since_id=min(done.values()), limit=SCORE_BATCH))
            upto = rows[-1][0] if rows else min(done.values())
            # scored by their title, since given an abstract: scored again (later ones wait)
            again = [i for i in store.similar.to_rescore() if i <= upto]
            in_batch = {pid for pid, _, _ in rows}
            rows += store.papers.texts(ids=[i for i in again if i not in in_batch])
            if not rows:
                return 0
            ids = np.array([pid for pid, _, _ in rows])
            texts = [text_of(t, a) for _, t, a in rows]
            vectors = self.space.vectors(texts)
            rescoring = np.isin(ids, again)
            for w in ready:
                unseen = ((ids > done[w.name]) | (rescoring & (ids <= done[w.name]))).nonzero()[0]
                found = self.matches(
                    store, w, self.models[w.name], rows, texts, vectors, unseen, self.space
                )
                record_matches(store, config, found, now)
                store.similar.set_scored_up_to(w.name, max(done[w.name], upto))
                recorded += len(found)
            store.similar.rescored(again)
        if recorded:
            event("similar_matched", matches=recorded)
        return recorded

    @staticmethod
    def matches(
        store: Store,
        watchlist: Watchlist,
        model: Model,
        rows: list[tuple[int, str, str]],
        texts: list[str],
        vectors: Any,
        among: Any,
        space: Space | None = None,
    ) -> list[Found]:
        """The rows (of the indexes `among`) above the watchlist's threshold (and, in mode
        "both", matching its query), each with the examples it is closest to (`space`:
        to read the examples with)."""
        from daemon.similar.model import closest, describe, label, text_of

        assert watchlist.similar is not None
        scores = model.scores(vectors[among])
        above = [int(among[i]) for i in (scores >= model.threshold).nonzero()[0]]
        scores_of = dict(zip(among.tolist(), scores.tolist(), strict=True))
        keyword: dict[int, list[Any]] | None = None
        if watchlist.query is not None and not watchlist.similar.either and above:
            matcher = Matcher([Rule(watchlist.name, watchlist.query)])
            keyword = {
                row.id: list(hits[0].matched)
                for row, hits in matcher.match_rows(
                    store.papers.by_ids([rows[i][0] for i in above])
                )
                if hits and not hits[0].undecided
            }
        examples = None
        if space is not None and above and model.examples:
            shown = list(store.papers.texts(ids=model.examples))
            titles = [title for _, title, _ in shown]
            examples = (titles, space.vectors([text_of(t, a) for _, t, a in shown]).dense)
        found: list[Found] = []
        for i in above:
            pid = rows[i][0]
            matched: list[Any] = []
            if keyword is not None:
                if pid not in keyword:
                    continue
                matched = keyword[pid]
            terms = model.explain(vectors.words[i], texts[i])
            matched += [[label(t), "similar"] for t in terms]
            score = scores_of[i]
            facts = describe(model, score, vectors[i])
            if examples is not None:
                facts["closest"] = closest(examples, vectors.dense[i])
            explain = json.dumps(facts)
            found.append((watchlist.name, pid, json.dumps(matched), 0, score, explain))
        return found

    def ranked(
        self, store: Store, config: Config, watchlist: Watchlist, limit: int
    ) -> list[tuple[int, float, dict[str, Any], list[str]]]:
        """The stored papers the watchlist would pick, best first, its examples left out
        (for `preview`): (paper id, score, description, terms that weighed most)."""
        from daemon.similar.model import describe

        with self.lock:
            self.refresh(store, config)
        if watchlist.name not in self.models:
            raise PaperwatchError(
                f"{watchlist.name}: none of its examples is stored yet "
                "(`paperwatch check` lists the library entries it waits for)"
            )
        from daemon.similar.kept import Kept, kept_path

        model = self.models[watchlist.name]
        assert self.space is not None
        kept = Kept(kept_path(store.path))  # the last training's background, read
        best: list[tuple[float, int, str]] = []
        batch: list[tuple[int, str, str]] = []
        examples = set(model.examples)
        for row in store.papers.texts():
            if row[0] in examples:
                continue
            batch.append(row)
            if len(batch) == SCORE_BATCH:
                best = self._best(model, kept, batch, best, limit)
                batch = []
        best = self._best(model, kept, batch, best, limit)
        out = []
        for score, pid, text in best:
            vector = self.space.vectors([text])
            terms = model.explain(vector.words, text)
            out.append((pid, score, describe(model, score, vector), terms))
        return out

    def _best(
        self,
        model: Model,
        kept: Kept,
        rows: list[tuple[int, str, str]],
        best: list[tuple[float, int, str]],
        limit: int,
    ) -> list[tuple[float, int, str]]:
        from daemon.similar.model import text_of

        if not rows:
            return best
        assert self.space is not None
        texts = [text_of(t, a) for _, t, a in rows]
        scores = model.scores(kept.vectors(self.space, rows)[1])
        merged = best + [(float(s), rows[i][0], texts[i]) for i, s in enumerate(scores)]
        return sorted(merged, key=lambda x: -x[0])[:limit]
