"""`paperwatch run`: the long-running daemon.

A scheduler job per source, a delivery job for the outbox, an inotify watcher per inbox
folder, live config reload (file change or SIGHUP), a single-instance lock, and systemd
notifications. Jobs share nothing but SQLite (each opens its own connection) and the HTTP
client (whose per-host lock keeps one request at a time per host).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import watchfiles
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from daemon.config import Config, Source, load_config
from daemon.errors import ConfigError, LockedError
from daemon.http import HttpClient
from daemon.log import event
from daemon.outbox import deliver
from daemon.poller import context, http_settings, run_source
from daemon.sources.folder import Inbox
from daemon.store import Store, iso, utcnow
from daemon.systemd import Notifier

DELIVERY_EVERY = 10  # seconds between outbox passes
CONFIG_CHECK_EVERY = 1.0  # seconds between looks at config.toml


def acquire_lock(state_dir: Path) -> IO[str]:
    """An exclusive lock on the state directory: one daemon per database."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / "paperwatch.lock", "a+")  # noqa: SIM115 - held for the run
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


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class FolderWatcher(threading.Thread):
    """Ingests files dropped into an inbox within about a second of their completion."""

    def __init__(self, service: Service, source: Source) -> None:
        super().__init__(name=f"inbox:{source.name}", daemon=True)
        self.service, self.source = service, source
        self.halt = threading.Event()
        self.inbox = Inbox()

    def run(self) -> None:
        path = self.source.path
        assert path is not None
        path.mkdir(parents=True, exist_ok=True)
        every = self.source.every.total_seconds() if self.source.every else 60.0
        last = float("-inf")  # the first scan runs once inotify is set up: nothing slips by
        for changes in watchfiles.watch(
            path,
            stop_event=self.halt,
            yield_on_timeout=True,
            rust_timeout=500,
            debounce=100,
            recursive=False,
            raise_interrupt=False,
        ):
            # scan on any event, while files settle, and every `every` as a safety net
            if changes or self.inbox.seen or time.monotonic() - last >= every:
                self.scan()
                last = time.monotonic()

    def scan(self) -> None:
        config = self.service.config
        try:
            with Store(config.db_path) as store:
                ctx = context(store, config, self.service.http, utcnow())
                outcome = run_source(ctx, self.source, self.inbox)
                if outcome is not None and outcome.documents:
                    self.service.deliver_now(store, config)
        except Exception as exc:  # a scan must never kill the watcher; next scan retries
            event("inbox_error", logging.ERROR, source=self.source.name, error=repr(exc))


class Service:
    def __init__(self, config_path: Path, notifier: Notifier | None = None) -> None:
        self.config_path = config_path
        self.config = load_config(config_path)
        self.notifier = notifier or Notifier()
        self.lock = acquire_lock(self.config.state_dir)
        Store(self.config.db_path).close()  # migrations, before any job runs
        self.http = HttpClient(http_settings(self.config))
        self.stop = threading.Event()
        self.reload_requested = threading.Event()
        self.deliver_lock = threading.Lock()
        self.watchers: dict[str, FolderWatcher] = {}
        self.config_stamp = _stamp(config_path)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # -- jobs --------------------------------------------------------------------------------

    def run_source_job(self, name: str) -> None:
        config = self.config  # a snapshot: a reload applies from the next cycle
        source = config.source(name)
        if source is None:
            return
        try:
            with Store(config.db_path) as store:
                run_source(context(store, config, self.http, utcnow()), source, force=False)
                self.deliver_now(store, config)
                job = self.scheduler.get_job(f"source:{name}")
                if job is not None and job.next_run_time is not None:
                    store.save_source_state(name, next_run_at=iso(job.next_run_time))
        except Exception as exc:
            event("job_error", logging.ERROR, source=name, error=repr(exc))

    def deliver_now(self, store: Store, config: Config) -> None:
        with self.deliver_lock:  # one delivery pass at a time: no batch sent twice
            deliver(store, config, utcnow())

    def delivery_job(self) -> None:
        config = self.config
        try:
            with Store(config.db_path) as store:
                self.deliver_now(store, config)
        except Exception as exc:
            event("job_error", logging.ERROR, job="deliver", error=repr(exc))

    # -- scheduling --------------------------------------------------------------------------

    def first_run(self, source: Source, trigger: Any, store: Store) -> datetime:
        """Not at once after a restart, unless a run was missed while down."""
        now = utcnow()
        last = store.source_state(source.name).get("last_poll_at")
        if last is None:
            return now
        due = trigger.get_next_fire_time(None, datetime.fromisoformat(last))
        if source.every is not None:
            due = datetime.fromisoformat(last) + source.every
        return max(now, due) if due is not None else now

    def schedule_sources(self) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:"):
                job.remove()
        with Store(self.config.db_path) as store:
            for source in self.config.sources:
                if source.type == "folder":
                    continue
                trigger = (
                    CronTrigger.from_crontab(source.cron, timezone=self.config.timezone or "UTC")
                    if source.cron
                    else IntervalTrigger(
                        seconds=source.every.total_seconds() if source.every else 1800
                    )
                )
                first = self.first_run(source, trigger, store)
                self.scheduler.add_job(
                    self.run_source_job,
                    trigger,
                    args=(source.name,),
                    id=f"source:{source.name}",
                    next_run_time=first,
                )
                store.save_source_state(source.name, next_run_at=iso(first))

    def sync_watchers(self) -> None:
        wanted = {s.name: s for s in self.config.sources if s.type == "folder"}
        for name, watcher in list(self.watchers.items()):
            if wanted.get(name) != watcher.source:
                watcher.halt.set()
                watcher.join(timeout=5)
                del self.watchers[name]
        for name, source in wanted.items():
            if name not in self.watchers:
                self.watchers[name] = FolderWatcher(self, source)
                self.watchers[name].start()

    # -- reload ------------------------------------------------------------------------------

    def reload(self, why: str) -> None:
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
            if new.state_dir.resolve() != self.config.state_dir.resolve():
                raise ConfigError("state_dir: cannot change while running (restart instead)")
        except ConfigError as exc:
            event(
                "config_rejected",
                logging.ERROR,
                why=why,
                error=str(exc),
                keeping="last good configuration",
            )
        else:
            self.config = new
            self.schedule_sources()
            self.sync_watchers()
            event(
                "config_reloaded",
                why=why,
                watchlists=len(new.watchlists),
                sources=len(new.sources),
                channels=len(new.channels),
            )
        self.notifier.ready()

    def check_config_file(self) -> None:
        stamp = _stamp(self.config_path)
        if stamp is not None and stamp != self.config_stamp:
            self.config_stamp = stamp
            self.reload("config file changed")

    # -- life cycle --------------------------------------------------------------------------

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())

    def run(self) -> None:
        self.scheduler.add_job(
            self.delivery_job,
            IntervalTrigger(seconds=DELIVERY_EVERY),
            id="deliver",
            next_run_time=utcnow(),
        )
        if self.notifier.watchdog_interval:
            self.scheduler.add_job(
                self.notifier.watchdog,
                IntervalTrigger(seconds=self.notifier.watchdog_interval),
                id="watchdog",
                next_run_time=utcnow(),
            )
        self.schedule_sources()
        self.scheduler.start()
        self.sync_watchers()
        event(
            "started",
            pid=os.getpid(),
            config=self.config_path,
            sources=len(self.config.sources),
            watchlists=len(self.config.watchlists),
        )
        self.notifier.ready("watching")
        while not self.stop.wait(CONFIG_CHECK_EVERY):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.config_stamp = _stamp(self.config_path)
                self.reload("SIGHUP")
            else:
                self.check_config_file()
        self.shutdown()

    def shutdown(self) -> None:
        """Stop taking work; a job in progress is abandoned safely (its transaction is
        rolled back or committed, never half-written)."""
        self.notifier.stopping()
        event("stopping")
        for watcher in self.watchers.values():
            watcher.halt.set()
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + 5
        for watcher in self.watchers.values():
            watcher.join(timeout=max(0.0, deadline - time.monotonic()))
        self.lock.close()
        event("stopped")
