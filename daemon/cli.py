"""Command line: a thin layer over the library; expected errors become one line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from daemon import __version__
from daemon.config import Config, config_path, load_config
from daemon.errors import ConfigError, ParseError, PaperwatchError, UsageError
from daemon.ingest import ingest_bytes
from daemon.log import setup_logging
from daemon.store import Store, utcnow

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".swp")

Command = Callable[[argparse.Namespace, Config], int]


def out(line: str = "") -> None:
    print(line, flush=True)


def err(line: str) -> None:
    print(f"error: {line}", file=sys.stderr, flush=True)


def is_candidate(path: Path) -> bool:
    """Files worth reading: not hidden, not a partial download."""
    return not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)


def expand_paths(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file() and is_candidate(p))
        elif path.exists():
            yield path
        else:
            raise UsageError(f"{raw}: no such file or directory")


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    store = Store(config.db_path)
    files = list(expand_paths(args.paths))
    failed = total_new = total_gained = total_papers = 0
    for path in files:
        now = utcnow()
        try:
            data = path.read_bytes()
            ref = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            result = ingest_bytes(store, data, name=path.name, source="cli",
                                  location=str(path.resolve()), ref_time=ref, now=now)
        except ParseError as exc:
            failed += 1
            err(str(exc))
            continue
        except OSError as exc:
            failed += 1
            err(f"{path.name}: cannot read ({exc.strerror})")
            continue
        total_papers += result.papers
        total_new += len(result.new)
        total_gained += len(result.gained)
        line = f"{path.name}: {result.papers} papers, {len(result.new)} new"
        if result.gained:
            line += f", {len(result.gained)} gained text"
        if result.duplicate:
            line += " (already ingested)"
        out(line)
    out(f"{len(files)} files, {total_papers} papers, {total_new} new, "
        f"{total_gained} gained text, {failed} failed; {store.counts()['papers']} papers stored")
    return EXIT_FAILURE if failed else EXIT_OK


def paper_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "arxiv_id": row["arxiv_id"], "title": row["title"],
            "abstract": row["abstract"], "authors": json.loads(row["authors"]),
            "url": row["url"], "first_seen": row["first_seen"], "sightings": row["sightings"]}


def print_papers(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        out(json.dumps([paper_json(r) for r in rows], indent=2, ensure_ascii=False))
        return
    for r in rows:
        ident = r["arxiv_id"] or "-"
        out(f"{r['first_seen'][:10]}  {ident:<12} {r['title']}  ({r['sightings']} sightings)")


def cmd_papers(args: argparse.Namespace, config: Config) -> int:
    store = Store(config.db_path)
    print_papers(store.papers(since=args.since, limit=args.limit), args.json)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    out(f"{config.path}: ok")
    out(f"  state_dir: {config.state_dir}")
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
        prog="paperwatch", description="Watch paper digests; alert on new papers that match "
        "your watchlists.")
    parser.add_argument("--config", help="config file (default: $PAPERWATCH_CONFIG or "
                        "./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"paperwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="ingest digest files or folders now")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("papers", help="list stored papers, newest first")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--since", type=_day, help="first seen on or after DATE (YYYY-MM-DD)")
    p.add_argument("--limit", type=_positive, help="at most N papers")
    p.set_defaults(func=cmd_papers)

    p = sub.add_parser("check", help="validate the configuration and print a summary")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error argparse already printed
        return int(exc.code or 0)
    setup_logging(args.verbose)
    try:
        config = load_config(config_path(args.config))
        func: Command = args.func
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
    except KeyboardInterrupt:
        return 130
