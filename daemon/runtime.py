"""The runtime snapshot: everything a job needs, built once per accepted configuration.

The daemon builds one on start and on each accepted reload and swaps it in whole; a job
takes the current one when it starts and uses it to the end, so a reload never changes
the configuration under a running job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

from daemon.clock import SYSTEM, Clock
from daemon.config import Config
from daemon.http import HostPacer, HttpClient
from daemon.similar_job import SimilarEngine, examples_of, start_watchlists
from daemon.store import Store
from daemon.watching import Watching


@dataclass(frozen=True)
class Runtime:
    config: Config
    matcher: Watching
    http: HttpClient
    clock: Clock
    similar: SimilarEngine

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        previous: Runtime | None = None,
        clock: Clock = SYSTEM,
        transport: httpx.BaseTransport | None = None,
        check_examples: bool = True,
        isolate_training: bool = False,
    ) -> Runtime:
        """Compile `config`. The HTTP client is kept from `previous` when its settings did
        not change; a new one still shares the per-host pacer (politeness survives reloads).
        A similar-watchlist's examples must be stored papers (`check_examples=False`: the
        caller is about to ingest them). The daemon trains similar-watchlists in a process
        of their own (`isolate_training`)."""
        matcher = Watching(config.watchlists)
        if any(w.similar for w in config.watchlists):
            with Store(config.db_path) as store:
                with store.transaction():  # a new watchlist counts the papers from now on
                    start_watchlists(store, config, clock.now())
                if check_examples:
                    examples_of(store, config)
        if previous is not None and previous.http.settings == config.http:
            http = previous.http
        else:
            pacer = previous.http.pacer if previous is not None else HostPacer(clock)
            http = HttpClient(config.http, pacer=pacer, clock=clock, transport=transport)
        similar = (
            previous.similar
            if previous is not None
            else SimilarEngine(config.state_dir, isolate=isolate_training)
        )
        return cls(config, matcher, http, clock, similar)


class Current:
    """Holds the current runtime; `swap` replaces it atomically for every later reader."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()

    def get(self) -> Runtime:
        return self._runtime

    def swap(self, runtime: Runtime) -> Runtime:
        with self._lock:
            old, self._runtime = self._runtime, runtime
        return old
