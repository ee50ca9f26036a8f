"""`paperwatch run`: the long-running daemon.

A scheduler job per source, a delivery job for the outbox, a watcher thread for each
source whose kind can watch (the inbox), live config reload (config.toml watched with
inotify, or SIGHUP), a single-instance lock, and systemd notifications. Jobs and
watchers take the current runtime snapshot when they start; a reload swaps it whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import select
import signal
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from inotify_simple import INotify
from inotify_simple import flags as F

from daemon import app
from daemon.config import Config, load_config
from daemon.core import memory
from daemon.core.backoff import backoff
from daemon.core.clock import SYSTEM, Clock, iso
from daemon.core.errors import ConfigError, LockedError, PaperwatchError
from daemon.core.log import Conditions, event
from daemon.core.secrets import scrub
from daemon.core.systemd import Notifier
from daemon.delivery.admin import admin_message
from daemon.ingest.document import Beat
from daemon.matching.search import catch_up
from daemon.runtime import Current, Runtime
from daemon.similar.job import TrainingStopped
from daemon.sources import Halt, Memory, Outcome, Source
from daemon.store import Store, StoreError
from daemon.store.rows import SourceState

if TYPE_CHECKING:
    from daemon.web.server import WebServer

_CONFIG_EVENTS = F.CLOSE_WRITE | F.MOVED_TO | F.MOVED_FROM | F.DELETE | F.CREATE
DELIVERY_EVERY = 10  # seconds between outbox passes
SIMILAR_EVERY = 15  # seconds between scoring new papers for similar-watchlists
INDEX_EVERY = 15  # seconds between bringing the search index up to date (a search reads
# the papers stored since directly, so it is exact whatever the index lags)
RESTART_FIRST = timedelta(seconds=0.5)  # a failed watcher restarts after this, doubling
RESTART_MAX = timedelta(minutes=5)
WATCH_SETUP_WAIT = 5.0  # s a new watcher gets to set up before the daemon says it is ready
DOWN_AFTER = 3  # failed restarts in a row after which a watcher counts as down


def acquire_lock(state_dir: Path) -> IO[str]:
    """An exclusive lock on the state directory: one daemon per database."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(state_dir / "paperwatch.lock", "a+")  # noqa: SIM115 - held for the run
    except OSError as exc:
        raise StoreError(f"{state_dir}: cannot use the state directory ({exc.strerror})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise LockedError(
            f"{state_dir}: another paperwatch is running on this state directory (pid {holder})"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _log_warnings(config: Config) -> None:
    for watchlist in config.watchlists:
        for warning in watchlist.warnings:
            event("query_warning", logging.WARNING, watchlist=watchlist.name, warning=warning)


class Jobs:
    """What the scheduler and the watchers run, each on the runtime current at its start."""

    def __init__(self, current: Current) -> None:
        self.current = current
        self.memory: dict[str, Memory] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()
        self.channel_locks: dict[str, threading.Lock] = {}
        self.again: set[str] = set()  # channels asked for while in a pass
        # called when a poll stored new papers (or text): the daemon runs the similar
        # job then, not at its next interval
        self.on_new_papers: Callable[[], None] = lambda: None
        self.similar_again = False  # asked for while a run was in progress

    def _source_lock(self, name: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(name, threading.Lock())

    def poll(self, name: str, force: bool = False, beat: Beat | None = None) -> Outcome | None:
        """Poll source `name` (one poll per source at a time); None if skipped or failed."""
        runtime = self.current.get()
        source = runtime.source(name)
        if source is None:
            return None
        with self._source_lock(name), Store(runtime.config.db_path) as store:
            outcome = app.poll(
                store, runtime, source, self.memory.setdefault(name, {}), force, beat
            )
        if outcome is not None and outcome.documents:
            self.rest(runtime)
        arrived = outcome is not None and (outcome.new or outcome.gained)
        if arrived and any(w.similar for w in runtime.config.watchlists):
            self.on_new_papers()
        return outcome

    def similar(self) -> None:
        """Train stale similar-watchlists and score new papers: in a scheduler thread of
        its own, so ingest and delivery never wait for a model. Papers that arrive during
        a run (a training, say) are scored right after it, not at the next scheduled run."""
        while True:
            with self.guard:
                self.similar_again = False
            runtime = self.current.get()
            if any(w.similar for w in runtime.config.watchlists):
                with Store(runtime.config.db_path) as store:
                    try:
                        found = app.score_similar(store, runtime)
                    except TrainingStopped:  # the daemon is stopping (SimilarEngine.stop says
                        return  # so): not an error
                    finally:
                        self.rest(runtime)  # a model's and a batch's memory too
                if found:
                    self.deliver()  # now, not at the next delivery pass
            with self.guard:
                if not self.similar_again:
                    return

    def index(self) -> None:
        """Analyse the papers stored since the last pass for the search index."""
        runtime = self.current.get()
        with Store(runtime.config.db_path) as store:
            done = catch_up(store)
        if done:
            event("search_indexed", papers=done)
            self.rest(runtime)

    @staticmethod
    def rest(runtime: Runtime) -> None:
        """After work that read papers: the caches their words filled are emptied and the
        memory freed is given back to the system, so RSS at rest does not grow with the
        number of distinct words seen."""
        app.forget_caches(runtime)
        memory.release()

    def deliver(self) -> None:
        """Start a delivery pass for each channel not already in one, and return: a hung
        service holds up only its own channel (claims keep passes from overlapping)."""
        runtime = self.current.get()
        with Store(runtime.config.db_path) as store:
            names = app.channels_due(store, runtime)
        for name in names:
            with self.guard:
                lock = self.channel_locks.setdefault(name, threading.Lock())
                if not lock.acquire(blocking=False):
                    self.again.add(name)  # its pass may have chosen its batch already
                    continue
            threading.Thread(
                target=self._deliver_channel,
                args=(runtime, name, lock),
                name=f"deliver:{name}",
                daemon=True,
            ).start()

    def _deliver_channel(self, runtime: Runtime, name: str, lock: threading.Lock) -> None:
        """Passes over one channel's outbox until no delivery was asked for meanwhile: an
        alert stored during a pass is sent right after it, not at the next scheduled one."""
        while True:
            try:
                with Store(runtime.config.db_path) as store:
                    app.deliver(store, runtime, name)
            except Exception as exc:
                event("job_error", logging.ERROR, job=f"deliver:{name}", error=repr(exc))
            with self.guard:
                if name not in self.again:
                    lock.release()
                    return
                self.again.discard(name)
            runtime = self.current.get()

    def scheduled(self, name: str) -> None:
        self.poll(name)
        self.deliver()


class Watcher(threading.Thread):
    """Runs a kind's `watch` for one source: poll on each wake-up, deliver what it found.
    A watch that raises is logged, reported through `health` and restarted with backoff;
    the thread never dies."""

    def __init__(
        self,
        source: Source,
        memory: Memory,
        poll: Callable[[Beat], Outcome | None],
        deliver: Callable[[], None],
        health: Callable[[Source, str | None], None],
        clock: Clock = SYSTEM,
    ) -> None:
        super().__init__(name=f"watch:{source.name}", daemon=True)
        self.source, self.memory, self.poll, self.deliver = source, memory, poll, deliver
        self.health, self.clock = health, clock
        self.halt = Halt()
        self.started = threading.Event()  # set up (what is dropped now is seen) or failed
        self.failures = 0  # in a row: the watch has not come up since
        # monotonic time the running poll started or last made progress (a paper
        # prepared): a long file that moves on is busy, not stuck
        self.busy_since: float | None = None

    @property
    def down(self) -> bool:
        """Failing for good: the systemd watchdog stops being fed, so systemd restarts us."""
        died = self.ident is not None and not self.is_alive() and not self.halt.is_set()
        return died or self.failures >= DOWN_AFTER

    def beat(self) -> None:
        if self.busy_since is not None:
            self.busy_since = self.clock.monotonic()

    def stalled(self, limit: float) -> float | None:
        """Seconds its poll has gone without progress, if more than `limit`: a file that
        hangs a read or a parse stops the inbox, which only a restart frees."""
        since = self.busy_since
        busy = self.clock.monotonic() - since if since is not None else 0.0
        return busy if busy > limit else None

    def run(self) -> None:
        watch = self.source.kind.watch
        assert watch is not None
        while not self.halt.is_set():
            try:
                for _ in watch(self.source, self.memory, self.halt):
                    if self.halt.is_set():
                        return
                    self.started.set()
                    if self.failures:
                        self.failures = 0
                        self.health(self.source, None)
                    self.busy_since = self.clock.monotonic()
                    try:
                        outcome = self.poll(self.beat)
                    finally:
                        self.busy_since = None
                    if outcome is not None and outcome.documents:
                        self.deliver()
            except Exception as exc:
                error = str(exc) if isinstance(exc, PaperwatchError) else repr(exc)
                self.failures += 1
                pause = backoff(RESTART_FIRST, self.failures, RESTART_MAX)
                event(
                    "watcher_error",
                    logging.ERROR,
                    source=self.source.name,
                    error=error,
                    failures=self.failures,
                    restart_in=f"{pause.total_seconds():g}s",
                )
                self.started.set()
                self.health(self.source, error)
                self.halt.wait(pause.total_seconds())

    def stop(self, timeout: float) -> None:
        self.halt.set()
        self.join(timeout)


class Wakeup:
    """Wakes the main loop, from another thread or from a signal handler. A handler runs
    in the main thread between two bytecodes: one that sets a threading.Event while the
    main thread holds that Event's lock (in its wait, or in a first handler's set when a
    second SIGTERM follows) waits for itself forever. A byte written to a pipe takes no
    lock."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def set(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self.write_end, b"\0")

    def wait(self, timeout: float) -> None:
        """Until woken or `timeout` seconds; pending wake-ups are consumed."""
        select.select([self.read_end], [], [], timeout)
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_end, 512):
                pass


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


class Service:
    def __init__(
        self, config_path: Path, notifier: Notifier | None = None, clock: Clock = SYSTEM
    ) -> None:
        self.config_path = config_path
        text = _read(config_path)
        config = load_config(config_path, text)
        self.notifier = notifier or Notifier()
        self.lock = acquire_lock(config.state_dir)
        with Store(config.db_path) as store:  # migrations, before any job runs
            runtime = Runtime.build(config, clock=clock, isolate_training=True)
            # accepted once built: a file that fails to build is never the last good one
            store.config_state.accepted(text.decode("utf-8-sig"), iso(clock.now()))
        runtime.begin()
        self.current = Current(runtime)
        self.jobs = Jobs(self.current)
        self.stop = threading.Event()  # set when stopping: threads that wait on it end
        self.wake = Wakeup()
        self.stop_requested = False  # plain flags: signal handlers set them (see Wakeup)
        self.hup_requested = False
        self.config_changed = threading.Event()
        self.watchers: dict[str, Watcher] = {}
        self.conditions = Conditions()
        self.config_watcher = threading.Thread(
            target=self.watch_config, name="config-watch", daemon=True
        )
        self.scheduler = BackgroundScheduler(
            timezone=config.tz,
            executors={"default": ThreadPoolExecutor(8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.scheduler.add_listener(self.job_done, EVENT_JOB_ERROR | EVENT_JOB_EXECUTED)
        self.jobs.on_new_papers = self.score_similar_now
        self.web: WebServer | None = None  # made when the configuration first listens

    def score_similar_now(self) -> None:
        """New papers, or new similar-watchlists: score (and train) now. A run in progress,
        training perhaps, is not doubled (the job runs one at a time): it runs once more."""
        with self.jobs.guard:
            self.jobs.similar_again = True
        now = datetime.now(self.scheduler.timezone)
        with contextlib.suppress(JobLookupError):
            self.scheduler.modify_job("similar", next_run_time=now)

    # -- scheduling --------------------------------------------------------------------------

    def job_done(self, done: JobExecutionEvent) -> None:
        """Every job's errors are logged here; a source job's next run is recorded."""
        if done.exception is not None:
            event("job_error", logging.ERROR, job=done.job_id, error=repr(done.exception))
        if not done.job_id.startswith("source:"):
            return
        job = self.scheduler.get_job(done.job_id)
        if job is None or job.next_run_time is None:
            return
        try:
            with Store(self.current.get().config.db_path) as store:
                store.sources.save(done.job_id[7:], next_run_at=iso(job.next_run_time))
        except Exception as exc:
            event("job_error", logging.ERROR, job=done.job_id, error=repr(exc))

    def first_run(self, source: Source, trigger: Any, store: Store, now: datetime) -> datetime:
        """Not at once after a restart, unless a run was missed while down."""
        last = store.sources.get(source.name).last_poll_at
        if last is None:
            return now
        last_poll = datetime.fromisoformat(last)
        due = (
            last_poll + source.every
            if source.every
            else trigger.get_next_fire_time(None, last_poll)
        )
        return max(now, due) if due is not None else now

    def schedule_sources(self) -> None:
        runtime = self.current.get()
        config = runtime.config
        wanted = {f"source:{s.name}" for s in runtime.sources}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id not in wanted:
                job.remove()
        now = runtime.clock.now()
        with Store(config.db_path) as store:
            for source in runtime.sources:
                trigger = (
                    CronTrigger.from_crontab(source.cron, timezone=config.tz)
                    if source.cron
                    else IntervalTrigger(
                        seconds=(source.every or source.kind.every).total_seconds()
                    )
                )
                first = self.first_run(source, trigger, store, now)
                self.scheduler.add_job(
                    self.jobs.scheduled,
                    trigger,
                    args=(source.name,),
                    id=f"source:{source.name}",
                    next_run_time=first,
                    replace_existing=True,
                )
                store.sources.save(source.name, next_run_at=iso(first))

    def sync_watchers(self) -> None:
        wanted = {s.name: s for s in self.current.get().sources if s.kind.watch is not None}
        for name, watcher in list(self.watchers.items()):
            if wanted.get(name) != watcher.source:
                watcher.stop(timeout=5)
                del self.watchers[name]
        for name, source in wanted.items():
            if name not in self.watchers:
                watcher = Watcher(
                    source,
                    self.jobs.memory.setdefault(name, {}),
                    functools.partial(self.jobs.poll, name, True),
                    self.jobs.deliver,
                    self.watcher_health,
                    self.current.get().clock,
                )
                self.watchers[name] = watcher
                watcher.start()
        for watcher in self.watchers.values():  # READY means a file dropped now is seen
            watcher.started.wait(WATCH_SETUP_WAIT)

    # -- health ------------------------------------------------------------------------------

    def watcher_health(self, source: Source, error: str | None) -> None:
        """Record a watcher failing (or working again) for `status`; tell the admin once
        per failing spell."""
        runtime = self.current.get()
        config = runtime.config
        now = iso(runtime.clock.now())
        state: SourceState | None = None
        try:
            with Store(config.db_path) as store:
                state = store.sources.get(source.name)
                store.sources.save(
                    source.name,
                    watch_error=error,
                    watch_failing_since=error and (state.watch_failing_since or now),
                )
        except Exception as exc:
            event("job_error", logging.ERROR, job=f"watch:{source.name}", error=repr(exc))
        was_failing = state is not None and state.watch_error is not None
        if error is not None and not was_failing:
            admin_message(
                runtime,
                f"paperwatch: watcher of {source.name} failed",
                f"The watcher of source {source.name} failed and is being restarted: {error}. "
                "Scheduled polls go on meanwhile.",
            )
        elif error is None and was_failing:
            admin_message(
                runtime,
                f"paperwatch: watcher of {source.name} recovered",
                f"The watcher of source {source.name} works again.",
            )
            event("watcher_recovered", source=source.name)

    def feed_watchdog(self) -> None:
        """Feed systemd's watchdog only while every component works: a watcher that stays
        down makes systemd restart the daemon, which a restart in-process could not fix."""
        down = sorted(name for name, w in self.watchers.items() if w.down)
        limit = self.current.get().config.stall_after.total_seconds()
        for name, watcher in sorted(self.watchers.items()):
            busy = watcher.stalled(limit)
            if busy is not None:
                down.append(f"{name} (a poll stuck for {busy:.0f}s)")
        if self.config_watcher.ident is not None and not self.config_watcher.is_alive():
            down.append("config-watch")
        if down:
            if "watchdog" not in self.conditions:  # `systemctl status` shows why
                self.notifier.status(f"watchdog withheld: {', '.join(down)} down")
            self.conditions.start(
                "watchdog", "watchdog_withheld", logging.ERROR, down=",".join(down)
            )
            return
        if "watchdog" in self.conditions:
            self.notifier.status("watching")
        self.conditions.end("watchdog")
        self.notifier.watchdog()

    # -- reload ------------------------------------------------------------------------------

    def reload(self, why: str) -> None:
        """Validate and swap in the new configuration; anything that goes wrong leaves the
        last good one running."""
        self.notifier.reloading()
        old = self.current.get()
        if not self.config_path.exists():
            self.conditions.start(
                "config", "config_missing", path=self.config_path, keeping="last good configuration"
            )
            self.notifier.ready()
            return
        self.conditions.end("config", path=self.config_path)
        text = b""
        try:
            text = _read(self.config_path)
            config = load_config(self.config_path, text)
            if config.state_dir.resolve() != old.config.state_dir.resolve():
                raise ConfigError("state_dir: cannot change while running (restart instead)")
            runtime = Runtime.build(config, previous=old, clock=old.clock)
        except Exception as exc:
            error = str(exc) if isinstance(exc, PaperwatchError) else f"{type(exc).__name__}: {exc}"
            event(
                "config_rejected",
                logging.ERROR,
                why=why,
                error=error,
                keeping="last good configuration",
            )
            self._remember_config(old, rejected=scrub(error))
        else:
            self.current.swap(runtime)
            self._remember_config(runtime, accepted=text.decode("utf-8-sig"))
            try:
                runtime.begin()
                app.follow_config_times(runtime)
                self.jobs.deliver()  # what an edit made due goes now
                self.schedule_sources()
                self.sync_watchers()
                self.follow_web()
            except Exception as exc:
                event("reload_error", logging.ERROR, why=why, error=repr(exc))
            _log_warnings(config)
            if any(w.similar for w in config.watchlists):
                self.score_similar_now()  # a new or changed one trains at once
            event(
                "config_reloaded",
                why=why,
                watchlists=len(config.watchlists),
                sources=len(config.sources),
                channels=len(config.channels),
            )
        self.notifier.ready()

    @staticmethod
    def _remember_config(
        runtime: Runtime, accepted: str | None = None, rejected: str | None = None
    ) -> None:
        """What `status` and the page say of the configuration: the text the daemon runs
        on, or the edit it refused and why."""
        try:
            with Store(runtime.config.db_path) as store:
                at = iso(runtime.clock.now())
                if accepted is not None:
                    store.config_state.accepted(accepted, at)
                if rejected is not None:
                    store.config_state.rejected(rejected, at)
        except (sqlite3.Error, PaperwatchError) as exc:  # said in the log; the daemon goes on
            event("config_state_unsaved", logging.WARNING, error=repr(exc))

    def follow_web(self) -> None:
        """Serve the web interface where the configuration says. A port that cannot be
        bound is logged; alerts go on without the page."""
        if self.web is None:
            if not self.current.get().config.web.listen:
                return
            from daemon.web.server import WebServer  # werkzeug and the pages: when served

            self.web = WebServer(lambda: self.current.get().config, self.score_similar_now)
        try:
            self.web.follow()
        except OSError as exc:
            event(
                "web_failed",
                logging.ERROR,
                key="[web] listen",
                listen=self.current.get().config.web.listen,
                error=exc.strerror,
                action="alerts go on without the page; choose another port",
            )

    def watch_config(self) -> None:
        """Wake the main loop when config.toml changes (editors that replace it included).
        The folder is watched, not the file: an editor's rename replaces the file."""
        path = self.config_path.absolute()
        failures = 0
        while not self.stop.is_set():
            try:
                with INotify() as notify:
                    notify.add_watch(path.parent, _CONFIG_EVENTS)
                    failures = 0
                    while not self.stop.is_set():
                        events = notify.read(timeout=1000, read_delay=200)
                        if any(e.name == path.name for e in events):
                            self.config_changed.set()
                            self.wake.set()
                        if any(e.mask & F.IGNORED for e in events):
                            break  # the folder itself went: watch it again
            except Exception as exc:
                failures += 1
                event("config_watch_error", logging.WARNING, error=repr(exc))
                self.stop.wait(backoff(RESTART_FIRST, failures, RESTART_MAX).total_seconds())

    # -- life cycle --------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the main loop to stop: safe in a signal handler (it takes no lock)."""
        self.stop_requested = True
        self.wake.set()

    def install_signals(self) -> None:
        def stop(*_: object) -> None:
            self.request_stop()

        def hup(*_: object) -> None:
            self.hup_requested = True
            self.wake.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def run(self) -> None:
        now = self.current.get().clock.now()
        app.follow_config_times(self.current.get())
        self.scheduler.add_job(
            self.jobs.deliver,
            IntervalTrigger(seconds=DELIVERY_EVERY),
            id="deliver",
            next_run_time=now,
        )
        self.scheduler.add_job(
            self.jobs.similar,
            IntervalTrigger(seconds=SIMILAR_EVERY),
            id="similar",
            next_run_time=now,
        )
        self.scheduler.add_job(  # not at start: the first polls and deliveries go first
            self.jobs.index, IntervalTrigger(seconds=INDEX_EVERY), id="index"
        )
        if self.notifier.watchdog_interval:
            self.scheduler.add_job(
                self.feed_watchdog,
                IntervalTrigger(seconds=self.notifier.watchdog_interval),
                id="watchdog",
                next_run_time=now,
            )
        self.schedule_sources()
        self.scheduler.start()
        self.sync_watchers()
        self.follow_web()
        self.config_watcher.start()
        config = self.current.get().config
        event(
            "started",
            pid=os.getpid(),
            config=self.config_path,
            sources=len(config.sources),
            watchlists=len(config.watchlists),
        )
        _log_warnings(config)
        self.notifier.ready("watching")
        while not self.stop_requested:
            self.wake.wait(1.0)
            if self.stop_requested:
                break
            if self.hup_requested:
                self.hup_requested = False
                self.config_changed.clear()
                event("reload_requested", why="SIGHUP")  # an operator's: acknowledged
                self.reload("SIGHUP")
            elif self.config_changed.is_set():
                self.config_changed.clear()
                self.reload("config file changed")
        self.shutdown()

    def shutdown(self) -> None:
        """Stop taking work; a job in progress is abandoned safely (its transaction is
        rolled back or committed, never half-written)."""
        self.notifier.stopping()
        event("stopping")
        self.stop.set()
        for watcher in self.watchers.values():
            watcher.halt.set()
        self.current.get().similar.stop()  # a training process does not outlive us
        self.scheduler.shutdown(wait=False)
        if self.web is not None:
            self.web.stop()
        for watcher in self.watchers.values():
            watcher.join(timeout=2)
        self.lock.close()
        event("stopped")
