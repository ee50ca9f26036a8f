"""Command line: a thin layer over the library; expected errors become one line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path

from daemon import __version__
from daemon.app import (
    FileFailed,
    ingest_file,
    keep_index_current,
    poll,
    settle,
    skip_scoring,
)
from daemon.app import preview_similar as similar_preview
from daemon.config import DB_NAME, Config, Watchlist, config_path, load_config
from daemon.core.clock import SYSTEM, human
from daemon.core.errors import ConfigError, PaperwatchError, QueryError, UsageError
from daemon.core.log import setup_logging
from daemon.core.secrets import scrub
from daemon.delivery.matches import match_hook
from daemon.delivery.outbox import DeliveryReport, retry_all
from daemon.delivery.render import Message, paper_json, terms_line
from daemon.ingest.document import is_digest_file
from daemon.language.query import parse_query, query_warnings, with_synonyms
from daemon.matching.search import catch_up, search
from daemon.runtime import Runtime, build_channels, build_sources
from daemon.similar.job import examples_of, library_problems, start_watchlists, unstored
from daemon.sources import Memory, Outcome, Source
from daemon.status import alerts, status
from daemon.store import STATUSES, Store, StoreError, usable
from daemon.store.rows import StoredPaper

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace, Config], int]


def out(line: str = "") -> None:
    print(scrub(line), flush=True)


def err(line: str) -> None:
    print(scrub(f"error: {line}"), file=sys.stderr, flush=True)


def warn(line: str) -> None:
    print(scrub(f"warning: {line}"), file=sys.stderr, flush=True)


def expand_paths(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file() and is_digest_file(p))
        elif path.exists():
            yield path
        else:
            raise UsageError(f"{raw}: no such file or directory")


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    store = Store(config.db_path)
    files = list(expand_paths(args.paths))
    runtime = Runtime.build(config, check_examples=False)  # the examples may come now
    runtime.begin()
    hook = None if args.no_notify else match_hook(runtime)
    failed = total_new = total_gained = total_papers = newest = 0
    quiet: list[int] = []  # papers that gained their text (not to be scored again)
    for path in files:
        try:
            result = ingest_file(store, path, SYSTEM.now(), hook)
        except FileFailed as exc:
            failed += 1
            err(str(exc))
            continue
        total_papers += result.papers
        total_new += len(result.new)
        newest = max([newest, *result.new])
        quiet += result.gained
        total_gained += len(result.gained)
        line = f"{path.name}: {result.papers} papers, {len(result.new)} new"
        if result.gained:
            line += f", {len(result.gained)} gained text"
        if result.duplicate:
            line += " (already ingested)"
        out(line)
    stored = store.papers.counts()["papers"]
    out(
        f"{len(files)} files, {total_papers} papers, {total_new} new, "
        f"{total_gained} gained text, {failed} failed; {stored} papers stored"
    )
    catch_up(store)  # a search right after is as fast as later
    if args.no_notify:
        skip_scoring(store, runtime, newest, quiet)
    else:
        report_delivery(settle(store, runtime, warn))
    return EXIT_FAILURE if failed else EXIT_OK


def report_delivery(report: DeliveryReport) -> None:
    if report.messages:
        out(
            f"alerts: {report.sent} sent, {report.failed} failed (will retry), "
            f"{report.dead} dead, in {report.messages} messages"
        )


def print_papers(rows: list[StoredPaper], as_json: bool) -> None:
    if as_json:
        out(json.dumps([paper_json(r) for r in rows], indent=2, ensure_ascii=False))
        return
    for r in rows:
        ident = r.arxiv_id or r.doi or (f"PMID {r.pmid}" if r.pmid else "-")
        day = r.day or f"seen {(r.first_seen or '')[:10]}"
        out(f"{day:<15} {ident:<12} {r.title}  ({r.sightings} sightings)")


def cmd_papers(args: argparse.Namespace, config: Config) -> int:
    store = Store(config.db_path)
    rows = store.papers.listing(since=args.since, until=args.until, limit=args.limit)
    print_papers(rows, args.json)
    if not rows and not args.json:
        out("papers: none stored" + (" in those days" if args.since or args.until else " yet"))
    return EXIT_OK


def _library_lines(store: Store, watchlist: Watchlist, examples: int) -> list[str]:
    """What `check` says of a watchlist's library files: entries not stored yet (they
    become examples when a source brings them in)."""
    lines = []
    for path, total, missing in unstored(store, watchlist):
        lines.append(
            f"  {watchlist.name}: {path.name}: {total - len(missing)} of {total} entries "
            f"stored (examples: {examples}); not stored yet: {len(missing)}"
        )
        lines += [f"    {label}" for label in missing]
    if not examples:
        lines.append(f"  {watchlist.name}: no example stored yet: it alerts once one is")
    return lines


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    problem = usable(config.state_dir)
    if problem:
        err(problem)
        return EXIT_FAILURE
    waiting: list[str] = []
    broken: list[str] = []  # libraries that cannot be read: their watchlists' problem
    channels, sources = build_channels(config), build_sources(config)
    if any(w.similar for w in config.watchlists):
        with Store(config.db_path) as store:
            examples = examples_of(store, config)  # every named example is stored
            with store.transaction():
                start_watchlists(store, config, SYSTEM.now())
            for w in config.watchlists:
                if w.similar is not None:
                    waiting += _library_lines(store, w, len(examples[w.name]))
                    broken += library_problems(w)
    out(f"{config.path}: ok")
    out(f"  state_dir: {config.state_dir}")
    zone = f"{config.timezone}" if config.timezone else f"{config.tz} (system)"
    out(f"  timezone: {zone}; give up on deliveries after {human(config.give_up_after)}")
    out(f"  channels: {len(channels)}")
    for name, channel in channels.items():
        out(f"    {name}: {channel.describe()}")
    out(f"  sources: {len(sources)}")
    for src in sources:
        out(f"    {src.name}: {src.type} {src.describe()} ({src.schedule()})")
    web = config.web
    if web.listen:
        out(f"  web: http://{web.listen}/" + (" (token required)" if web.token else ""))
    else:
        out("  web: off")
    if config.zotero is not None:
        out(f"  zotero: {config.zotero.library} ({config.zotero.base_url}; key ****)")
    if config.admin_channel:
        out(f"  admin_channel: {config.admin_channel} after {config.alert_after_failures} failures")
    out(f"  watchlists: {len(config.watchlists)}")
    for w in config.watchlists:

        def when(at: dt.time | None) -> str:
            return f"daily {at:%H:%M}" if at else "immediate"

        own = dict(w.channel_times)
        said = [f"{c} ({when(own[c])})" if c in own else c for c in w.notify]
        out(f"    {w.name}: {w.source}  -> {', '.join(said)} ({when(w.deliver_at)})")
    for w in config.watchlists:
        for warning in w.warnings:
            warn(warning)
    for line in waiting:
        out(line)
    for problem in broken:
        err(f"error: {problem} (this watchlist alone is affected)")
    return EXIT_FAILURE if broken else EXIT_OK


def cmd_alerts(args: argparse.Namespace, config: Config) -> int:
    store = Store(config.db_path)
    if args.action == "retry":
        report = retry_all(store, Runtime.build(config), SYSTEM.now(), pending_too=args.now)
        report_delivery(report)
        if not report.messages:
            out("alerts: nothing to retry")
        return EXIT_OK if not (report.failed or report.dead) else EXIT_FAILURE
    if args.action == "drop":
        if args.channel is None and args.status is None:
            raise UsageError("alerts drop needs --channel NAME and/or --status STATUS")
        if args.status == "sent":
            raise UsageError("alerts drop removes unsent deliveries; sent ones are history")
        with store.transaction():
            dropped = store.deliveries.drop(args.channel, args.status)
        out(f"alerts: dropped {dropped} unsent deliveries")
        return EXIT_OK
    if args.channel is not None:
        raise UsageError("--channel is for `alerts drop`")
    rows = alerts(store, args.status)
    if args.json:
        keys = (
            "watchlist",
            "paper_id",
            "title",
            "channel",
            "status",
            "attempts",
            "matched",
            "created_at",
            "sent_at",
            "last_error",
            "next_try_at",
        )
        out(json.dumps([{k: r[k] for k in keys} for r in rows], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        out("alerts: none" + (f" with status {args.status}" if args.status else " yet"))
    for r in rows:
        terms = ", ".join(f"{m['term']}@{m['field']}" for m in r["matched"])
        extra = f" next {r['due_at']}" if r["status"] in ("pending", "failed") else ""
        error = f" error: {r['last_error']}" if r["last_error"] and r["status"] != "sent" else ""
        out(
            f"{r['status']:<7} {r['watchlist']} -> {r['channel']} #{r['paper_id']} "
            f"{r['title']} [{terms}] attempts={r['attempts']}{extra}{error}"
        )
    return EXIT_OK


def cmd_preview(args: argparse.Namespace, config: Config) -> int:
    if args.query is not None and args.watchlist:
        raise UsageError("preview takes a WATCHLIST or --query Q, not both")
    if args.query is not None:
        try:
            query, widened = with_synonyms(parse_query(args.query), config.synonyms)
        except QueryError as exc:
            raise UsageError(f"--query: {exc}") from None
        for column, what in query_warnings(args.query):
            warn(f"--query: column {column}: {what}")
    elif args.watchlist:
        wl = config.watchlist(args.watchlist)
        if wl is None:
            known = ", ".join(w.name for w in config.watchlists) or "none configured"
            raise UsageError(f"unknown watchlist {args.watchlist!r} (watchlists: {known})")
        for warning in wl.warnings:
            warn(warning)
        if wl.similar is not None:
            return preview_similar(args, config, wl)
        if wl.people:
            return preview_people(args, config, wl)
        assert wl.query is not None
        query, widened = wl.query, list(wl.synonyms)
    else:
        raise UsageError("preview needs a WATCHLIST name or --query Q")
    store = Store(config.db_path)
    catch_up(store)
    ids, waiting = search(store, query)  # all of them: the count is part of the answer
    rows = store.papers.listing(ids=ids, limit=args.limit) if ids else []
    print_papers(rows, args.json)
    if not args.json:
        more = f"; {waiting} more wait for their abstract" if waiting else ""
        out(f"{len(ids)} stored papers match{more}")
        for line in widened:
            out(f"  {line}")
    return EXIT_OK


def preview_people(args: argparse.Namespace, config: Config, wl: Watchlist) -> int:
    """The stored papers an author watchlist would have alerted on, newest first, with
    the authors it found (and what its keywords matched)."""
    from daemon.matching.watching import Watching

    store = Store(config.db_path)
    catch_up(store)
    if wl.query is not None:
        ids = search(store, wl.query)[0]
        candidates: Iterable[StoredPaper] = store.papers.by_ids(ids)
    else:
        candidates = store.papers.iterate()
    found = {row.id: hits[0] for row, hits in Watching([wl]).match_rows(candidates) if hits}
    rows = store.papers.listing(ids=sorted(found), limit=args.limit) if found else []
    if args.json:
        print_papers(rows, as_json=True)
        return EXIT_OK
    for row in rows:
        print_papers([row], as_json=False)
        out(f"    {terms_line(found[row.id].matched)}")
    out(f"{len(found)} stored papers by {', '.join(p.written for p in wl.people)} match")
    return EXIT_OK


def preview_similar(args: argparse.Namespace, config: Config, wl: Watchlist) -> int:
    """The stored papers a similar-watchlist scores highest, with why, and where its
    threshold lies (what would alert at its sensitivity)."""
    from daemon.similar.model import threshold_said  # numpy and scipy: only when asked

    assert wl.similar is not None
    ranked, model, votes = similar_preview(Store(config.db_path), config, wl, args.limit or 20)
    threshold = model.threshold
    if args.json:
        found = [
            {**paper_json(r.paper), **r.facts, "terms": r.terms, "vote": r.vote} for r in ranked
        ]
        out(json.dumps(found, indent=2, ensure_ascii=False))
        return EXIT_OK
    for r in ranked:
        mark = "*" if r.score >= threshold else " "
        voted = {1: " 👍", -1: " 👎"}.get(r.vote, "")
        out(
            f"{mark} {r.score:6.2f}  top {100 * (1 - r.facts['percentile']):5.2f}%  "
            f"{r.paper.day or '-':<10} {r.paper.arxiv_id or r.paper.doi or '-':<12} "
            f"{r.paper.title}{voted}"
        )
        out(f"      words that weighed most: {', '.join(r.terms)}")
    out(
        f"* = above the threshold {threshold:.2f} "
        f"({threshold_said(model, wl.similar.sensitivity)}); new papers scoring above it alert"
        + (f"; trained with {votes} votes (👍 as examples, 👎 as negatives)" if votes else "")
    )
    return EXIT_OK


def cmd_vote(args: argparse.Namespace, config: Config) -> int:
    """👍/👎 a paper for a similar-watchlist: its model is trained again with it."""
    from daemon.web.reader import FeedbackError
    from daemon.web.votes import record_vote

    with Store(config.db_path) as store:
        try:
            pid, vote = record_vote(
                store, config, args.watchlist, args.paper, args.vote, SYSTEM.now()
            )
        except FeedbackError as exc:
            raise UsageError(str(exc)) from None
    done = {1: "👍 recorded", -1: "👎 recorded", 0: "vote taken back"}[vote]
    out(
        f"{args.watchlist}: {done} for paper {pid}; the daemon trains the watchlist again "
        f"(`paperwatch preview {args.watchlist}` shows the effect)"
    )
    return EXIT_OK


def cmd_test_notify(args: argparse.Namespace, config: Config) -> int:
    if args.channel not in config.channels:
        known = ", ".join(config.channels) or "none configured"
        raise UsageError(f"unknown channel {args.channel!r} (channels: {known})")
    channel = build_channels(config, only=args.channel)[args.channel]
    title = "paperwatch test notification"
    body = f"This is a test of channel {args.channel} from paperwatch."
    error, _ = channel.send(Message.plain(title, body))
    if error:
        err(f"{args.channel}: {error}")
        return EXIT_FAILURE
    out(f"{args.channel}: sent to {channel.describe()}")
    return EXIT_OK


def cmd_poll(args: argparse.Namespace, config: Config) -> int:
    if args.source and not any(s.name == args.source for s in config.sources):
        known = ", ".join(s.name for s in config.sources) or "none configured"
        raise UsageError(f"unknown source {args.source!r} (sources: {known})")
    runtime = Runtime.build(config)
    runtime.begin()
    sources = tuple(s for s in runtime.sources if s.name == args.source or not args.source)
    store = Store(config.db_path)
    failed = 0
    try:
        for source in sources:
            outcome = _poll_settled(store, runtime, source)
            if outcome is None:
                failed += 1
                err(f"{source.name}: {store.sources.get(source.name).last_error}")
            else:
                out(f"{source.name}: {outcome.summary()}")
                if outcome.waiting:
                    names = ", ".join(outcome.waiting)
                    warn(f"{source.name}: still being written, not taken yet: {names}")
        report_delivery(settle(store, runtime, warn))
    finally:
        runtime.http.close()
    return EXIT_FAILURE if failed else EXIT_OK


ONE_SHOT_WAIT = 60.0  # seconds `paperwatch poll` waits at most for files being written


def _poll_settled(store: Store, runtime: Runtime, source: Source) -> Outcome | None:
    """Poll once; while the source says something it saw is still being written (a file
    copied in a moment ago), wait for it and poll again, up to ONE_SHOT_WAIT seconds, so
    a one-shot poll never skips a fresh file silently."""
    memory: Memory = {}
    total = Outcome()
    waited = 0.0
    while True:
        outcome = poll(store, runtime, source, memory, force=True)
        if outcome is None:
            return None if not total.documents else total
        total.documents += outcome.documents
        total.papers += outcome.papers
        total.new += outcome.new
        total.gained += outcome.gained
        total.notes += outcome.notes
        total.waiting = outcome.waiting
        pause = outcome.again_in
        if pause is None or waited + pause > ONE_SHOT_WAIT:
            return total
        time.sleep(pause + 0.05)
        waited += pause + 0.05


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    # status only reads: a state directory that does not exist yet is not created
    store = Store(config.db_path) if config.db_path.exists() else None
    problem = None if store else usable(config.state_dir)
    if problem:
        raise StoreError(problem)
    report = status(store, config)
    if args.json:
        out(json.dumps(report, indent=2))
        return EXIT_OK
    if rejected := report["config_rejected"]:
        out(
            f"config: an edit was rejected at {rejected['at']}: {rejected['error']} "
            "(the daemon runs on its last good configuration)"
        )
    for s in report["sources"]:
        line = f"{s['name']} ({s['type']} {s['where']}, {s['schedule']}): " + (
            f"last poll {s['last_poll_at']}, {s['last_result']}"
            if s["last_poll_at"]
            else "not polled yet"
        )
        if s["consecutive_failures"]:
            line += f", {s['consecutive_failures']} failures in a row: {s['last_error']}"
        out(line + (f", next run {s['next_run_at']}" if s["next_run_at"] else ""))
        if s["watch_error"]:
            out(f"  watcher failing since {s['watch_failing_since']}: {s['watch_error']}")
        if s["details"]:
            out("  " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["details"].items()))
    d = report["deliveries"]
    out(
        f"deliveries: {d['pending']} pending, {d['failed']} failed, {d['dead']} dead, "
        f"{d['sent']} sent; {report['papers']} papers stored"
    )
    for name, problems in report["libraries"].items():
        for problem in problems:
            out(f"watchlist {name}: library unreadable, its last good examples kept: {problem}")
    return EXIT_OK


def status_of_last_good(args: argparse.Namespace, path: Path, error: str) -> int:
    """`status` while config.toml does not load or build: the error, then the status of
    the last configuration the daemon accepted (it runs on that one); exit 1."""
    import tomllib

    try:
        written = tomllib.loads(path.read_text(encoding="utf-8-sig")).get("state_dir")
    except (OSError, ValueError):
        written = None
    state_dir = path.parent / (written if isinstance(written, str) else "state")
    db = state_dir / DB_NAME
    if not db.exists():
        raise ConfigError(error)  # nothing ran yet: the error is all there is to say
    with Store(db, readonly=True) as store:
        known = store.config_state.get()
        if not known.get("good_text"):
            raise ConfigError(error)
        err(f"{error}\n(the daemon runs on its last good configuration, of {known['good_at']})")
        config = load_config(path, known["good_text"].encode())
        if not args.json:
            cmd_status(args, config)
            return EXIT_FAILURE
        report = status(store, config)
    report["config_rejected"] = {"at": None, "error": error}
    out(json.dumps(report, indent=2))
    return EXIT_FAILURE


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from daemon.core import memory
    from daemon.service import Service

    memory.few_arenas()  # before any thread: one arena each would keep what they freed
    service = Service(config.path)
    service.install_signals()
    service.run()
    # Worker threads may still sit in an HTTP timeout; all state is in SQLite
    # transactions, so exit now rather than wait for them (SIGTERM must end in < 10 s).
    logging.shutdown()
    sys.stdout.flush()
    os._exit(EXIT_OK)


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """The web interface alone, reading the state directory another daemon writes."""
    from daemon.core import memory
    from daemon.web.server import WebServer

    if args.listen is not None:
        config = config.listening(args.listen)
    if config.web.address is None:
        raise UsageError('web.listen is "": the web interface is off in this configuration')
    memory.few_arenas()
    Store(config.db_path).close()  # the schema, if no daemon made it yet
    web = WebServer(lambda: config)
    stop = threading.Event()
    indexer = threading.Thread(
        target=keep_index_current, args=(config.db_path, stop), name="index", daemon=True
    )
    indexer.start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        web.start()
    except OSError as exc:
        where = "--listen" if args.listen is not None else "[web] listen"
        raise UsageError(
            f"{where}: cannot listen on {config.web.listen} ({exc.strerror}): "
            "another program has the port; choose another one"
        ) from None
    out(f"serving http://{config.web.listen.rsplit(':', 1)[0]}:{web.port}/ (Ctrl-C stops)")
    stop.wait()
    web.stop()
    indexer.join(5)
    return EXIT_OK


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number: {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperwatch",
        description="Watch paper digests; alert on new papers that match your watchlists.",
    )
    parser.add_argument(
        "--config", help="config file (default: $PAPERWATCH_CONFIG or ./config.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"paperwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="ingest digest files or folders now, match and alert")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--no-notify",
        action="store_true",
        help="store papers as seen without matching or alerting (load history)",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("papers", help="list stored papers, newest first")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--since", type=_day, help="papers of DATE (YYYY-MM-DD) or later")
    p.add_argument("--until", type=_day, help="papers of DATE (YYYY-MM-DD) or earlier")
    p.add_argument("--limit", type=_positive, help="at most N papers")
    p.set_defaults(func=cmd_papers)

    p = sub.add_parser("check", help="validate the configuration and print a summary")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "alerts",
        help="list alert deliveries; `alerts retry` sends every failed or dead one now "
        "(`--now`: and those waiting for their daily digest); `alerts drop --channel NAME` "
        "removes unsent ones (a channel that is gone)",
    )
    p.add_argument("--now", action="store_true", help="retry: send pending digests now too")
    p.add_argument("action", nargs="?", choices=("list", "retry", "drop"), default="list")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--status", choices=STATUSES, help="only deliveries in this state")
    p.add_argument("--channel", metavar="NAME", help="with drop: this channel's deliveries")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("preview", help="stored papers a watchlist or query matches (no alert)")
    p.add_argument("watchlist", nargs="?", metavar="WATCHLIST")
    p.add_argument("--query", metavar="Q", help="a query instead of a configured watchlist")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--limit", type=_positive, help="at most N papers")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser(
        "vote", help="👍 or 👎 a paper for a similar-watchlist (it learns from the vote)"
    )
    p.add_argument("watchlist", metavar="WATCHLIST")
    p.add_argument("paper", metavar="PAPER", help="an arXiv id or a paper id as `papers` shows")
    p.add_argument("vote", choices=("up", "down", "none"), help="none takes a vote back")
    p.set_defaults(func=cmd_vote)

    p = sub.add_parser(
        "run",
        help="run the daemon: scheduled sources, inbox watcher, "
        "delivery, live config reload (SIGHUP reloads, SIGTERM stops)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "serve", help="serve the web interface (feeds, API, page) alone, without the daemon"
    )
    p.add_argument("--listen", metavar="HOST:PORT", help="where to listen, instead of [web] listen")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("poll", help="run one cycle now: fetch, ingest, match, deliver")
    p.add_argument("--source", metavar="NAME", help="only this source")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser(
        "status", help="per source: last poll, result, failures, next run; and the outbox"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("test-notify", help="send a test message to CHANNEL")
    p.add_argument("channel", metavar="CHANNEL")
    p.set_defaults(func=cmd_test_notify)
    return parser


def _options_taking_values(argv: Sequence[str]) -> list[str]:
    """`--query -survey` as `--query=-survey`: argparse would take a query that starts
    with "-" for an option."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--query":
            value = next(args, None)
            out.append(arg if value is None else f"--query={value}")
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(_options_taking_values(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, --version or a usage error argparse already printed
        return int(exc.code or 0)
    setup_logging(args.verbose)
    try:
        func: Command = args.func
        try:
            config = load_config(config_path(args.config))
            if func is cmd_status:  # a file the daemon would refuse: it runs on the last good
                build_channels(config), build_sources(config)
        except ConfigError as exc:
            if func is not cmd_status:
                raise
            return status_of_last_good(args, config_path(args.config), str(exc))
        return func(args, config)
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except PaperwatchError as exc:
        err(str(exc))
        return EXIT_FAILURE
    except sqlite3.Error as exc:  # the database failed mid-command (disk full, corrupt page)
        err(f"database: {exc}")
        return EXIT_FAILURE
    except BrokenPipeError:  # `paperwatch papers | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        err(f"{where}{exc.strerror or exc}")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
