"""Shared test helpers: fixture paths, a config in a temp dir, the CLI run in-process."""

from __future__ import annotations

import os

# One thread each for OpenBLAS and the tokenizer: four test workers share two cores, and
# their thread pools waiting on each other spent a third of the run's CPU. Set before
# numpy is first imported (by the daemon's modules below); daemons the tests start inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import contextlib
import gzip
import itertools
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from daemon.cli import main
from daemon.config import Config, load_config
from daemon.delivery.matches import match_hook
from daemon.ingest.document import IngestResult, ingest_bytes
from daemon.poller import PollContext, run_source
from daemon.runtime import Runtime
from daemon.sources import Outcome
from daemon.store import Store
from tests.clock import ManualClock
from tests.receivers import Webhook

ROOT = Path(__file__).resolve().parent.parent

# How many examples the proofs (the @given tests, and the seeded ones marked `proof`)
# draw: each names its number for a thorough run and draws this share of it. `make test`
# draws a quarter, to stay within the suite's time budget; `make prove`, which CI runs
# after it, draws five times the number (twenty times the suite's). The @given ones draw new
# random inputs at each run, the seeded ones the same.
PROOF_SHARE = float(os.environ.get("PAPERWATCH_PROOF_SHARE", "0.25"))


def examples(full: int) -> int:
    """The examples a proof draws, `full` in a thorough run: see PROOF_SHARE."""
    return max(1, round(full * PROOF_SHARE))


settings.register_profile("paperwatch", max_examples=examples(100))  # the unnamed ones'
settings.load_profile("paperwatch")

FIXTURES = ROOT / "tests" / "fixtures"  # real inputs, with their provenance (README.md)
TEXT = FIXTURES / "text"
HF = FIXTURES / "hf"
ARXIV = FIXTURES / "arxiv"
CORPUS_SAMPLE = FIXTURES / "corpus" / "arxiv_cs_5k.jsonl.gz"  # 5,000 real arXiv papers


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


Cli = Callable[..., Result]


def corpus_papers() -> Iterator[dict[str, Any]]:
    """The corpus sample's papers, in order."""
    with gzip.open(CORPUS_SAMPLE, "rt") as f:
        for line in f:
            yield json.loads(line)


def hf_entry(p: dict[str, Any], authors: int = 3, published: str | None = None) -> dict[str, Any]:
    """A corpus paper as an entry of the Hugging Face API's answer."""
    paper = {
        "id": p["id"],
        "title": p["title"],
        "summary": p["abstract"],
        "authors": [{"name": a} for a in p["authors"][:authors]],
    }
    if published:
        paper["publishedAt"] = f"{published}T00:00:00.000Z"
    return {"paper": paper}


def configured(tmp_path: Path, text: str) -> tuple[Config, Store]:
    """config.toml written with `text` in `tmp_path`, loaded, and its store opened."""
    from daemon.config import load_config

    config = tmp_path / "config.toml"
    config.write_text(text)
    cfg = load_config(config)
    return cfg, Store(cfg.db_path)


@pytest.fixture
def hook() -> Iterator[Webhook]:
    """A json:// receiver on 127.0.0.1 for the test's alerts."""
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


def ingest_alerting(
    config: Config,
    store: Store,
    name: str,
    data: bytes,
    now: datetime,
    notify: bool = True,
    source: str = "inbox",
) -> IngestResult:
    """A document ingested as the inbox does, matched and its alerts written (`notify`)."""
    runtime = Runtime.build(config, clock=ManualClock(now), check_examples=False)
    return ingest_bytes(
        store,
        data,
        name=name,
        source=source,
        location=name,
        ref_time=now,
        now=now,
        on_change=match_hook(runtime) if notify else None,
    )


def load_and_build(path: Path) -> Runtime:
    """A configuration as the daemon takes it: validated, then built (a source's kind
    checks its own keys as it is built)."""
    runtime = Runtime.build(load_config(path), check_examples=False)
    runtime.http.close()
    return runtime


def poll_once(
    config: Config, store: Store, name: str, now: datetime, clock: ManualClock | None = None
) -> Outcome | None:
    """One poll of source `name` on a clock that sleeps instantly (min_interval,
    Retry-After, backoff)."""
    runtime = Runtime.build(config, clock=clock or ManualClock(now))
    try:
        source = runtime.source(name)
        assert source is not None, name
        return run_source(PollContext(store, runtime, now), source)
    finally:
        runtime.http.close()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('state_dir = "state"\n')
    return path


@pytest.fixture
def cli(config_file: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(["--config", str(config_file), *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


# the long tests' modules: those that wait on real processes and clocks, and those that
# prove with many generated examples (CPU)
LONG_FIRST = (
    "test_daemon.py",
    "test_inbox_faults.py",
    "test_alerts.py",
    "test_sources.py",
    "test_web.py",
    "test_similar.py",
    "test_match_property.py",
    "test_query.py",
    "test_isolation.py",
    "test_similar_views.py",
)


# long modules whose first test in a worker costs seconds (scikit-learn's import,
# WordLlama's weights, the background's vectors): dealt to this many workers, not all
FEW_WORKERS = {"test_similar.py": 2, "test_similar_views.py": 2}
# what a test of these modules costs against one of the other long modules' (a second or
# two): the long tests are dealt by it, so that every worker's long part ends together
WEIGHT = {"test_query.py": 0.1, "test_similar.py": 2.0}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each worker's share starts with its part of the long tests: `--dist worksteal`
    gives worker k the k-th contiguous part of this order and lets idle workers take the
    end of the others' queues, so the run ends on short tests, not on one worker's long
    ones. The long tests are dealt one module after the other (a daemon test, an inbox
    test, ..., a query proof, then the next of each), so the tests running at once wait
    on different things: four workers waiting together leave both cores idle; each to
    the worker with the least of them so far (WEIGHT)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        if item.path.name in LONG_FIRST:
            by_module.setdefault(item.path.name, []).append(item)
    pinned: list[list[pytest.Item]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for name, share in FEW_WORKERS.items():
        share = min(share, workers)
        for i, item in enumerate(by_module.pop(name, [])):
            pinned[i % share].append(item)
            load[i % share] += WEIGHT.get(name, 1.0)
    dealt: list[list[pytest.Item]] = [[] for _ in range(workers)]
    queues = [by_module[name] for name in LONG_FIRST if name in by_module]
    turns = range(max(map(len, queues), default=0))
    for item in [q[i] for i in turns for q in queues if i < len(q)]:
        k = load.index(min(load))  # to the least loaded, so that no queue ends on long tests
        dealt[k].append(item)
        load[k] += WEIGHT.get(item.path.name, 1.0)
    short = [i for i in items if i.path.name not in LONG_FIRST]
    size = -(-len(items) // workers)
    order: list[pytest.Item] = []
    for k in range(workers):  # a pinned test between two of the others
        long = [t for pair in itertools.zip_longest(dealt[k], pinned[k]) for t in pair if t]
        order += long + short[: size - len(long)]
        del short[: size - len(long)]
    items[:] = order + short


def made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A directory `make` fills once for the whole run, shared by the test workers (each
    waits for the first to finish it): for inputs that cost seconds to build. Tests copy
    what they change."""
    import fcntl

    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's, not this worker's
    built = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (built / ".done").exists():
            shutil.rmtree(built, ignore_errors=True)
            built.mkdir()
            make(built)
            (built / ".done").touch()
    return built


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """When the session ends, no process a test started is alive and no port a test
    opened is still listening: a daemon, a training process or a server a test forgot
    fails the run here (after a few seconds' grace for the ones being stopped)."""
    import psutil

    me = psutil.Process()
    yield

    def described(p: psutil.Process) -> str:
        try:
            return " ".join(p.cmdline())
        except psutil.Error:
            return f"pid {p.pid}"

    def ours() -> list[psutil.Process]:
        found = []
        for p in me.children(recursive=True):
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    continue  # ended, not yet reaped
            except psutil.Error:
                continue
            # multiprocessing's resource tracker lives as long as this process
            if "resource_tracker" not in described(p):
                found.append(p)
        return found

    _, alive = psutil.wait_procs(ours(), timeout=5)
    left = [described(p) for p in alive]
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    listening = [c.laddr for c in me.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    assert not left, f"processes left running: {left}"
    assert not listening, f"ports left listening: {listening}"
