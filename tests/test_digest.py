"""Issue 25: one digest per watchlist and channel per delivery time, however many papers;
numbered parts within a service's limit; `alerts retry` keeps daily digests on time."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from daemon.config import load_config
from daemon.core.errors import ConfigError
from daemon.delivery.channels import load_channel
from daemon.delivery.matches import follow_delivery_times
from daemon.delivery.outbox import deliver, retry_all
from daemon.language.query import keywords_query
from daemon.matching.match import Matcher, Rule
from daemon.runtime import Runtime
from daemon.status import alerts
from daemon.store import Store
from tests.conftest import corpus_papers, hf_entry, ingest_alerting
from tests.daemon_proc import command
from tests.receivers import SMTPServer, Webhook, free_port

KEYWORDS = ["language model"]
MATCHING = 79
T0 = datetime(2026, 11, 22, 7, tzinfo=UTC)
DIGEST_AT = datetime(2026, 11, 22, 8, tzinfo=UTC)


def corpus_days_after() -> bytes:
    """Papers of the corpus past those of `corpus_day`: a later batch."""
    papers = list(itertools.islice(corpus_papers(), 3000, 3400))
    return json.dumps([hf_entry(p, 4, "2026-11-21") for p in papers]).encode()


@cache
def corpus_day() -> tuple[bytes, list[str]]:
    """A Hugging Face API answer of real arXiv papers: 79 the watchlist matches and 21 it
    does not; and the arXiv ids of the 79."""
    rule = Matcher(
        [Rule("w", keywords_query(tuple(KEYWORDS), (), frozenset({"title", "abstract"})))]
    )
    wanted: list[dict] = []
    other: list[dict] = []
    for p in corpus_papers():
        hit = bool(rule.match(p["title"], p["abstract"], p["authors"]))
        group = wanted if hit else other
        if len(group) < (MATCHING if hit else 21):
            group.append(p)
        if len(wanted) == MATCHING and len(other) == 21:
            break
    entries = [hf_entry(p, 4, "2026-11-20") for p in wanted + other]
    return json.dumps(entries).encode(), [p["id"] for p in wanted]


def configured(tmp_path, channels: str):
    path = tmp_path / "config.toml"
    path.write_text(
        'state_dir = "state"\ntimezone = "UTC"\n[channels]\n'
        + channels
        + '[[watchlists]]\nname = "llm-daily"\nkeywords = ["language model"]\n'
        'notify = ["c"]\ndeliver = "daily 08:00"\n'
    )
    config = load_config(path)
    store = Store(config.db_path)
    data, ids = corpus_day()
    result = ingest_alerting(config, store, "day.json", data, T0)
    assert len(result.new) == MATCHING + 21 and store.deliveries.match_count() == MATCHING
    return config, store, ids


def test_79_matches_of_a_daily_watchlist_are_one_email_with_links_in_both_parts(tmp_path):
    with SMTPServer() as smtp:
        url = f"mailto://a:b@127.0.0.1:{smtp.port}?from=pw@example.com&to=me@example.com"
        config, store, ids = configured(tmp_path, f'c = "{url}"\n')
        assert deliver(store, Runtime.build(config), DIGEST_AT - timedelta(minutes=1)).messages == 0
        report = deliver(store, Runtime.build(config), DIGEST_AT)
        assert (report.messages, report.sent) == (1, MATCHING)
        assert deliver(store, Runtime.build(config), DIGEST_AT + timedelta(hours=1)).messages == 0
    assert len(smtp.messages) == 1
    [msg] = smtp.messages
    assert msg["Subject"] == f"paperwatch: {MATCHING} new papers for llm-daily"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert html.count('class="pw-card"') == MATCHING
    for pid in ids:
        for url in (f"https://arxiv.org/abs/{pid}", f"https://arxiv.org/pdf/{pid}"):
            assert f'href="{url}"' in html and url in text, url
    assert "2026-11-20" in html and "2026-11-20" in text  # the papers' own day


def test_a_service_with_a_limit_gets_numbered_parts_within_it(tmp_path):
    hook = Webhook().start()
    try:
        channel = f'[channels.c]\nurl = "{hook.url}"\nmax_chars = 3000\n'
        config, store, ids = configured(tmp_path, channel)
        report = deliver(store, Runtime.build(config), DIGEST_AT)
        assert report.sent == MATCHING and report.messages == 1
    finally:
        hook.stop()
    n = len(hook.bodies)
    assert n > 3
    for i, body in enumerate(hook.bodies, 1):
        assert body["title"] == f"paperwatch: {MATCHING} new papers for llm-daily (part {i} of {n})"
        assert body["message"].startswith(f"Part {i} of {n}\n")
        assert len(body["title"]) + len(body["message"]) <= 3000
    shown = [re.findall(r"https://arxiv\.org/abs/(\S+)", b["message"]) for b in hook.bodies]
    assert sorted(pid for part in shown for pid in part) == sorted(ids)  # each once


def test_a_part_that_fails_retries_only_the_papers_it_and_the_later_parts_carry(tmp_path):
    """Nothing sent twice: when part 3 fails, the papers of parts 1 and 2 are sent; the
    retry carries only the others."""
    hook = Webhook()
    hook.fail_from = 3
    hook.start()
    try:
        channel = f'[channels.c]\nurl = "{hook.url}"\nmax_chars = 3000\n'
        config, store, ids = configured(tmp_path, channel)
        first = deliver(store, Runtime.build(config), DIGEST_AT)
        assert 0 < first.sent < MATCHING and first.sent + first.failed == MATCHING
        hook.fail_from = None
        again = retry_all(store, Runtime.build(config), DIGEST_AT + timedelta(seconds=1))
        assert (again.sent, again.failed) == (MATCHING - first.sent, 0)
    finally:
        hook.stop()
    shown = [re.findall(r"https://arxiv\.org/abs/(\S+)", b["message"]) for b in hook.bodies]
    assert sorted(pid for part in shown for pid in part) == sorted(ids)  # each once


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("slack://T1ABCDEFG/B1ABCDEFG/abcdefghijklmnopqrstuvwx/#papers", 3000),
        ("discord://1234567/abcdefg", 2000),
        ("mailto://a:b@127.0.0.1:2525?from=pw@example.com&to=me@example.com", None),
        ("json://127.0.0.1:9/", None),  # a generic webhook: no limit of its own
    ],
)
def test_each_service_gets_its_limit(url, limit):
    [target] = load_channel("c", [url], "channels.c").targets
    assert target.limit == limit


def test_retry_sends_failures_and_keeps_a_daily_digest_on_its_time(tmp_path):
    hook = Webhook().start()
    try:
        config, store, ids = configured(tmp_path, f'c = "{hook.url}"\n')
        early = DIGEST_AT - timedelta(hours=1)
        assert retry_all(store, Runtime.build(config), early).messages == 0  # waits for 08:00
        assert hook.bodies == [] and store.deliveries.counts()["pending"] == MATCHING
        listed = command(config.path, "alerts", "retry")
        assert "nothing to retry" in listed.stdout and hook.bodies == []
        hook.status = 500
        assert deliver(store, Runtime.build(config), DIGEST_AT).failed == MATCHING
        hook.status = 200
        assert (
            retry_all(store, Runtime.build(config), DIGEST_AT + timedelta(seconds=1)).sent
            == MATCHING
        )
    finally:
        hook.stop()
    assert len(hook.bodies) == 1  # the retry (the receiver keeps what it answered 200)
    assert store.deliveries.counts()["sent"] == MATCHING


def test_retry_now_sends_a_daily_digest_before_its_time(tmp_path):
    hook = Webhook().start()
    try:
        config, store, ids = configured(tmp_path, f'c = "{hook.url}"\n')
        forced = command(config.path, "alerts", "retry", "--now")
        assert forced.returncode == 0, forced.stderr
    finally:
        hook.stop()
    assert len(hook.bodies) == 1 and store.deliveries.counts()["sent"] == MATCHING


def test_waiting_digests_follow_the_current_deliver_time(tmp_path):
    """Issue 35, item 11: alerts waiting for a daily digest kept the time they were
    stored with after `deliver` was edited. They follow the current config: to
    immediate, they are due now; to another time, at that time; tried ones keep theirs."""
    hook = Webhook().start()
    try:
        config, store, ids = configured(tmp_path, f'c = "{hook.url}"\n')
        due = {r[0] for r in store.conn.execute("SELECT due_at FROM deliveries")}
        assert due == {DIGEST_AT.isoformat()}
        text = config.path.read_text()
        config.path.write_text(text.replace('deliver = "daily 08:00"', 'deliver = "daily 07:30"'))
        assert follow_delivery_times(store, load_config(config.path)) == MATCHING
        due = {r[0] for r in store.conn.execute("SELECT due_at FROM deliveries")}
        assert due == {(T0 + timedelta(minutes=30)).isoformat()}
        config.path.write_text(text.replace('deliver = "daily 08:00"', 'deliver = "immediate"'))
        immediate = load_config(config.path)
        assert follow_delivery_times(store, immediate) == MATCHING
        assert follow_delivery_times(store, immediate) == 0  # nothing left to move
        report = deliver(store, Runtime.build(immediate), T0 + timedelta(seconds=1))  # due since T0
        assert report.sent == MATCHING and len(hook.bodies) == 1
        config.path.write_text(text)  # back to 08:00: what was sent stays sent
        assert follow_delivery_times(store, load_config(config.path)) == 0
    finally:
        hook.stop()


def test_a_channel_named_with_its_own_time_gets_its_digest_then(tmp_path):
    """Issue 35, item 12: a daily email and an immediate webhook for one topic, one
    watchlist: `notify = ["hook", {channel = "mail", deliver = "daily 08:00"}]`."""
    quick, mail = Webhook().start(), Webhook().start()
    try:
        path = tmp_path / "config.toml"
        path.write_text(
            'state_dir = "state"\ntimezone = "UTC"\n[channels]\n'
            + quick.channel("hook")
            + mail.channel("mail")
            + '[[watchlists]]\nname = "llm"\nkeywords = ["language model"]\n'
            'notify = ["hook", {channel = "mail", deliver = "daily 08:00"}]\n'
        )
        config = load_config(path)
        assert config.watchlists[0].deliver_time("hook") is None
        store = Store(config.db_path)
        ingest_alerting(config, store, "day.json", corpus_day()[0], T0)
        deliver(store, Runtime.build(config), T0)
        assert len(quick.bodies) == 1 and mail.bodies == []  # the webhook at once
        deliver(store, Runtime.build(config), DIGEST_AT)
        assert len(quick.bodies) == 1 and len(mail.bodies) == 1  # the email at 08:00
        assert f"{MATCHING} new papers" in mail.bodies[0]["title"]
        check = command(path, "check")
        assert "-> hook, mail (daily 08:00) (immediate)" in check.stdout, check.stdout
    finally:
        quick.stop()
        mail.stop()


@pytest.mark.parametrize(
    ("notify", "said"),
    [
        ('["c", {channel = "nope"}]', r"notify\[1\]\.channel .*: unknown channel 'nope'"),
        ('["c", {channel = "c", deliver = "daily"}]', r"notify\[1\] .*: channel 'c' named twice"),
        ('[{channel = "c", deliver = "daily 25:00"}]', r"notify\[0\]\.deliver .*: expected"),
    ],
)
def test_a_channels_own_time_is_checked(tmp_path, notify, said):
    path = tmp_path / "config.toml"
    path.write_text(
        'state_dir = "state"\n[channels]\nc = "console://"\n'
        f'[[watchlists]]\nname = "w"\nkeywords = ["x"]\nnotify = {notify}\n'
    )
    with pytest.raises(ConfigError, match=r"watchlists\[0\]\." + said):
        load_config(path)


def test_a_passs_emails_go_over_one_connection_one_after_the_other(tmp_path):
    """Issue 35, item 10: three watchlists' digests to one mail server arrived 5.5 s
    apart, one connection each; a delivery pass now sends them over one, at once."""
    import time

    with SMTPServer() as smtp:
        url = f"mailto://a:b@127.0.0.1:{smtp.port}?from=pw@example.com&to=me@example.com"
        path = tmp_path / "config.toml"
        path.write_text(
            f'state_dir = "state"\n[channels]\nmail = "{url}"\n'
            + "".join(
                f'[[watchlists]]\nname = "{w}"\nkeywords = ["{w}"]\nnotify = ["mail"]\n'
                for w in ("language", "vision", "graph")
            )
        )
        config = load_config(path)
        store = Store(config.db_path)
        ingest_alerting(config, store, "day.json", corpus_day()[0], T0)
        watched = {
            m.watchlist for m in store.deliveries.recent_matches(["language", "vision", "graph"])
        }
        assert len(watched) == 3
        started = time.monotonic()
        report = deliver(store, Runtime.build(config), T0)
        took = time.monotonic() - started
        assert report.messages == 3 and len(smtp.messages) == 3
        assert len(set(smtp.connections)) == 1 and len(smtp.logins) == 1
        assert took < 5  # apprise's 5.5 s between two sends to one service is not waited
        subjects = sorted(m["Subject"] for m in smtp.messages)
        assert all(s.startswith("paperwatch: ") for s in subjects)
        # a later pass opens its own connection
        ingest_alerting(config, store, "more.json", corpus_days_after(), T0)
        deliver(store, Runtime.build(config), T0 + timedelta(minutes=1))
        assert len(set(smtp.connections)) == 2


def test_a_mail_server_down_fails_the_pass_and_a_retry_sends_it(tmp_path):
    """The pass's one connection cannot be opened: each digest fails with the reason and
    is retried; the server back, the retry sends them (over one connection again)."""
    port = free_port()
    url = f"mailto://a:b@127.0.0.1:{port}?from=pw@example.com&to=me@example.com"
    config, store, _ = configured(tmp_path, f'c = "{url}"\n')
    report = deliver(store, Runtime.build(config), DIGEST_AT)
    assert (report.messages, report.sent) == (1, 0)
    [failed] = [a for a in alerts(store) if a["status"] == "failed"][:1]
    assert "mailto://" in failed["last_error"] and ":b@" not in failed["last_error"]
    with SMTPServer(port) as smtp:
        again = retry_all(store, Runtime.build(config), DIGEST_AT + timedelta(minutes=5))
        assert again.sent == MATCHING and len(smtp.messages) == 1
