"""A source kind defined only here, registered like the built-in ones, runs everywhere:
`check`, `poll`, `status` and the daemon (its scheduled job and its watcher)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.service import Service
from daemon.sources import Context, Halt, Key, Memory, Outcome, Source, SourceKind, kinds, register
from tests.daemon_proc import wait_for

WAKE = threading.Event()  # set by the test: the kind's watch wakes the daemon


def entries(topic: str, start: int, count: int) -> bytes:
    return json.dumps(
        [
            {
                "paper": {
                    "id": f"2611.{n:05d}",
                    "title": f"{topic.title()} study {n}",
                    "summary": f"We study {topic} number {n} in depth. " * 3,
                    "authors": [{"name": "Ada Lovelace"}],
                }
            }
            for n in range(start, start + count)
        ]
    ).encode()


def poll(ctx: Context, source: Source) -> Outcome:
    """Each poll announces `count` more papers about `topic`."""
    outcome = Outcome()
    start = int(ctx.memory.get("next", 0))  # memory lives as long as the daemon
    count = source.options["count"]
    data = entries(source.options["topic"], start, count)
    ctx.ingest(outcome, source, data, "lab://feed", name="lab")
    ctx.memory["next"] = start + count
    return outcome


def watch(source: Source, memory: Memory, halt: Halt) -> Iterator[None]:
    while not halt.is_set():
        if WAKE.wait(0.05):
            WAKE.clear()
            yield


LAB = register(
    SourceKind(
        name="lab_feed",
        summary="a test kind: papers about a topic",
        keys=(
            Key("topic", "str"),
            Key("count", "int", 2, lambda n: None if n > 0 else "must be positive"),
        ),
        poll=poll,
        describe=lambda source: f"lab://{source.options['topic']}",
        every=timedelta(hours=1),
        watch=watch,
    )
)


def write(config: Path, extra: str = "") -> None:
    config.write_text(
        'state_dir = "state"\n[channels]\nc = "console://"\n'
        '[[watchlists]]\nname = "t"\nkeywords = ["tensor"]\nnotify = ["c"]\n'
        f'[[sources]]\nname = "lab"\ntype = "lab_feed"\ntopic = "tensor"\n{extra}'
    )


def test_registered_kind_is_known_to_config(cli, config_file):
    assert kinds()["lab_feed"] is LAB
    write(config_file, "count = 0\n")
    bad = cli("check")
    assert bad.code == 2 and bad.err.startswith(
        "error: sources[0].count (line 12, column 9): must be positive"
    )
    write(config_file, "colour = 1\n")
    assert (
        "sources[0].colour (line 12, column 1): unknown key for a lab_feed source"
        in cli("check").err
    )
    write(config_file)
    check = cli("check")
    assert check.code == 0 and "lab: lab_feed lab://tensor (every 1h)" in check.out


def test_registered_kind_polls_and_reports_status(cli, config_file):
    write(config_file, "count = 3\n")
    polled = cli("poll")
    assert polled.code == 0 and "lab: 1 documents, 3 papers, 3 new" in polled.out
    assert "alerts: 3 sent" in polled.out
    status = cli("status", "--json").json()
    [lab] = status["sources"]
    assert lab["type"] == "lab_feed" and lab["where"] == "lab://tensor"
    assert lab["last_result"].startswith("1 documents, 3 papers, 3 new")
    assert status["papers"] == 3


@pytest.mark.timeout(30)
def test_registered_kind_runs_in_the_daemon(config_file, caplog):
    caplog.set_level(logging.INFO)
    write(config_file)
    service = Service(config_file)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        # the scheduled job polls at once (never polled before), then the watcher on wake
        assert wait_for(lambda: "poll source=lab result=ok" in caplog.text, 10), caplog.text
        assert wait_for(lambda: caplog.text.count("alert channel=console") >= 1, 10)
        WAKE.set()
        assert wait_for(lambda: "Tensor study 3" in caplog.text, 10), caplog.text
    finally:
        service.request_stop()
        thread.join(10)
    assert not thread.is_alive()
