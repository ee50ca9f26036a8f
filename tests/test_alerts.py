from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from daemon.config import load_config
from daemon.core.clock import iso
from daemon.delivery.matches import decide_waiting, match_hook
from daemon.delivery.outbox import deliver, release_orphaned_claims, retry_all
from daemon.delivery.render import render
from daemon.ingest.document import ingest_bytes
from daemon.runtime import Runtime
from daemon.status import alerts
from daemon.store import Store
from daemon.web.pages import home
from tests.conftest import HF, TEXT, ingest_alerting
from tests.daemon_proc import command, wait_for
from tests.receivers import SMTPServer, Webhook, free_port

PASSWORD = "s3cr3t-Pa55word"


def write_config(path, channels, watchlists, extra=""):
    lines = ['state_dir = "state"', extra, "[channels]"]
    lines += [f"{name} = {json.dumps(url)}" for name, url in channels.items()]
    for wl in watchlists:
        lines.append("[[watchlists]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in wl.items()]
    path.write_text("\n".join(lines) + "\n")


def ingest_fixture(store, config, now):
    """The 40-paper text dump, matched against `config`'s watchlists."""
    data = (TEXT / "000_a4df948192ebdd8e.txt").read_bytes()
    return ingest_alerting(config, store, "a", data, now)


def tensor_watch(notify="hook", **extra):
    return {"name": "tensors", "keywords": ["tensor"], "notify": [notify], **extra}


def test_email_alert_through_real_smtp(cli, config_file, caplog):
    caplog.set_level(logging.DEBUG)
    with SMTPServer() as smtp:
        url = (
            f"mailto://alice:{PASSWORD}@127.0.0.1:{smtp.port}"
            "?from=paperwatch@example.com&to=alice@example.com"
        )
        write_config(
            config_file,
            {"email": url},
            [{"name": "alignment", "keywords": ["alignment", "script"], "notify": ["email"]}],
        )
        dump = config_file.parent / "dump.json"
        entries = json.loads((HF / "api_daily_papers_2026-08-03.json").read_text())
        entries[1]["paper"]["title"] = "Aligning <script>alert(1)</script> agents"
        entries[1]["paper"]["summary"] += " We discuss alignment."
        dump.write_text(json.dumps(entries))
        result = cli("ingest", str(dump))
        assert result.code == 0, result.err
        assert len(smtp.messages) == 1
        msg = smtp.messages[0]
        assert smtp.logins == [(b"alice", PASSWORD.encode())]
    assert msg["Subject"] == "paperwatch: 2 new papers for alignment"
    html = msg.get_body(("html",)).get_content()
    assert "Constitutional Midtraining" in html
    assert 'href="https://huggingface.co/papers/2607.26654"' in html
    assert re.search(r"<mark[^>]*>Alignment</mark>", html)
    assert re.search(r"&lt;<mark[^>]*>script</mark>&gt;", html)
    assert "<script>" not in html
    assert "Desiree Cho" in html
    assert 'href="https://arxiv.org/pdf/2607.26654"' in html
    text = msg.get_body(("plain",)).get_content()  # links in the plain part too
    assert "https://arxiv.org/abs/2607.26654" in text and "https://arxiv.org/pdf/2607.26654" in text
    # the password is nowhere: not in logs, CLI output or the database
    db = (config_file.parent / "state" / "paperwatch.db").read_bytes()
    check = cli("check")
    assert PASSWORD not in caplog.text + result.out + result.err + check.out + check.err
    assert PASSWORD.encode() not in db
    assert "****" in check.out


def test_json_webhook_receives_alerts(cli, config_file):
    hook = Webhook().start()
    try:
        write_config(config_file, {"hook": f"{hook.url}alerts"}, [tensor_watch()])
        cli("ingest", str(TEXT / "000_a4df948192ebdd8e.txt"))
    finally:
        hook.stop()
    assert len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["title"].startswith("paperwatch: ")
    assert "Multi-Grid Tensorized Fourier Neural Operator" in body["message"]
    assert "tensor" in body["message"] and "**" not in body["message"]  # plain text: no markup


def sent_titles(hook):
    titles = []
    for body in hook.bodies:
        titles += [line[2:] for line in body["message"].splitlines() if line.startswith("* ")]
    return titles


def test_text_fixtures_alert_each_tensor_paper_once(cli, config_file):
    hook = Webhook().start()
    try:
        write_config(
            config_file,
            {"hook": hook.url},
            [
                tensor_watch(),
                {
                    "name": "tensor-or-network",
                    "keywords": ["tensor", "tensor product"],
                    "notify": ["hook"],
                },
            ],
        )
        cli("ingest", str(TEXT))
        first = sent_titles(hook)
        cli("ingest", str(TEXT))
    finally:
        hook.stop()
    rows = cli("alerts", "--json").json()
    per_list = {
        w: [r["paper_id"] for r in rows if r["watchlist"] == w]
        for w in ("tensors", "tensor-or-network")
    }
    assert per_list["tensors"] and sorted(per_list["tensors"]) == sorted(
        per_list["tensor-or-network"]
    )
    assert len(set(per_list["tensors"])) == len(per_list["tensors"])
    # each paper once per watchlist message, even when it matched two keywords
    assert len(first) == 2 * len(per_list["tensors"])
    assert sent_titles(hook) == first  # ingesting again alerted nothing
    assert all(r["status"] == "sent" for r in rows)
    product = next(
        r for r in rows if "Tensor Products" in r["title"] and r["watchlist"] == "tensor-or-network"
    )
    assert {"term": "tensor product", "field": "title"} in product["matched"]


def test_no_notify_loads_history_without_alerts(cli, config_file):
    write_config(config_file, {"hook": f"json://127.0.0.1:{free_port()}/"}, [tensor_watch()])
    result = cli("ingest", "--no-notify", str(TEXT))
    assert result.code == 0
    assert cli("alerts", "--json").json() == []
    preview = cli("preview", "tensors", "--json").json()
    assert len(preview) > 20 and all(
        "tensor" in (p["title"] + p["abstract"]).lower() for p in preview
    )


def test_preview_usage_errors(cli, config_file):
    write_config(config_file, {"c": "console://"}, [tensor_watch("c")])
    assert cli("preview", "nope").code == 2
    bad = cli("preview", "--query", "tensor AND (")
    assert bad.code == 2 and "column" in bad.err


def test_receiver_down_then_back_exactly_once_across_restart(config_file, tmp_path):
    port = free_port()
    write_config(config_file, {"hook": f"json://127.0.0.1:{port}/"}, [tensor_watch()])
    config = load_config(config_file)
    t0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
    store = Store(config.db_path)
    ingest_fixture(store, config, t0)
    expected = len(alerts(store))
    assert expected > 0

    report = deliver(store, Runtime.build(config), t0)  # connection refused
    assert report.failed == expected and report.sent == 0
    rows = alerts(store)
    assert {r["status"] for r in rows} == {"failed"}
    assert all(r["attempts"] == 1 and r["due_at"] > t0.isoformat() for r in rows)
    assert "127.0.0.1" in rows[0]["last_error"]

    hook = Webhook(port).start()
    try:
        hook.status = 500
        report = deliver(store, Runtime.build(config), t0 + timedelta(minutes=1))  # HTTP 500
        assert report.failed == expected
        assert {r["attempts"] for r in alerts(store)} == {2}
        assert (
            deliver(store, Runtime.build(config), t0 + timedelta(minutes=1, seconds=5)).messages
            == 0
        )
        store.close()  # "restart": a new process-like store and config

        hook.status = 200
        store = Store(load_config(config_file).db_path)
        later = t0 + timedelta(hours=1)
        report = deliver(store, Runtime.build(load_config(config_file)), later)
        assert report.sent == expected
        assert (
            deliver(store, Runtime.build(load_config(config_file)), later + timedelta(hours=2)).sent
            == 0
        )
    finally:
        hook.stop()
    assert len(hook.bodies) == 1
    assert {r["status"] for r in alerts(store)} == {"sent"}


def test_failing_channel_becomes_dead_then_retry_sends(config_file):
    port = free_port()
    write_config(
        config_file,
        {"hook": f"json://127.0.0.1:{port}/"},
        [tensor_watch()],
        extra='give_up_after = "2h"',
    )
    config = load_config(config_file)
    t0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
    store = Store(config.db_path)
    ingest_fixture(store, config, t0)
    deliver(store, Runtime.build(config), t0)
    deliver(store, Runtime.build(config), t0 + timedelta(hours=3))
    assert {r["status"] for r in alerts(store)} == {"dead"}
    shown = json.loads(command(config_file, "alerts", "--json").stdout)
    assert shown[0]["last_error"] and "127.0.0.1" in shown[0]["last_error"]
    assert shown[0]["next_try_at"] is None  # dead: no next try until `alerts retry`
    hook = Webhook(port).start()
    try:
        listing = command(config_file, "alerts", "--status", "dead")
        assert "dead" in listing.stdout and "attempts=2" in listing.stdout
        proc = command(config_file, "alerts", "retry")
        assert proc.returncode == 0, proc.stderr
    finally:
        hook.stop()
    assert len(hook.bodies) == 1
    assert {r["status"] for r in alerts(store)} == {"sent"}


def test_daily_digest_waits_for_its_time(config_file):
    hook = Webhook().start()
    try:
        write_config(
            config_file,
            {"hook": hook.url},
            [tensor_watch(deliver="daily 07:30")],
            extra='timezone = "UTC"',
        )
        config = load_config(config_file)
        t0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
        store = Store(config.db_path)
        ingest_fixture(store, config, t0)
        assert deliver(store, Runtime.build(config), t0 + timedelta(hours=23)).messages == 0
        assert (
            deliver(store, Runtime.build(config), datetime(2026, 11, 23, 7, 30, tzinfo=UTC)).sent
            > 0
        )
    finally:
        hook.stop()
    assert len(hook.bodies) == 1


def test_test_notify(cli, config_file):
    hook = Webhook().start()
    try:
        write_config(config_file, {"hook": hook.url}, [])
        assert cli("test-notify", "hook").code == 0
        assert cli("test-notify", "nope").code == 2
    finally:
        hook.stop()
    assert hook.bodies[0]["title"] == "paperwatch test notification"


def test_secrets_from_env_file_and_credentials(cli, config_file, tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"HOOK_PW={PASSWORD}\n")
    secrets.chmod(0o644)
    config_file.write_text(
        'secrets_file = "secrets.env"\n[channels]\nc = "json://u:${HOOK_PW}@127.0.0.1:9/"\n'
    )
    loose = cli("check")
    assert loose.code == 2 and "readable by group or others" in loose.err
    secrets.chmod(0o600)
    ok = cli("check")
    assert ok.code == 0 and PASSWORD not in ok.out
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "OTHER_PW").write_text("from-credentials\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    config_file.write_text('[channels]\nc = "json://u:${OTHER_PW}@127.0.0.1:9/"\n')
    assert "from-credentials" in load_config(config_file).channels["c"].secrets
    assert cli("check").code == 0


def test_check_shows_channel_urls_with_only_their_secrets_masked(cli, config_file, monkeypatch):
    """Issue 35, item 14: `check` printed console:// and json:// as ****; the scheme, host
    and path are shown, only passwords, ${VAR} values and secret-named parameters hidden."""
    monkeypatch.setenv("HOOK_KEY", "k3y-from-env")
    config_file.write_text(
        "[channels]\n"
        'c = "console://"\n'
        'j = "json://127.0.0.1:9/hooks/team?+X-Api-Key=${HOOK_KEY}"\n'
        'm = "mailtos://user:pa55word@example.org"\n'
        'w = "json://127.0.0.1:9/plain?token=literal-t0ken"\n'
        'd = "json://127.0.0.1:9/hooks/T0123456789abcdefXYZ"\n'
    )
    result = cli("check")
    assert result.code == 0, result.err
    lines = {line.split(":")[0].strip(): line for line in result.out.splitlines()}
    assert lines["c"].endswith("c: console://")
    assert "json://127.0.0.1:9/hooks/team" in lines["j"] and "k3y-from-env" not in result.out
    assert "mailtos://user:****@example.org" in lines["m"] and "pa55word" not in result.out
    assert "json://127.0.0.1:9/plain" in lines["w"] and "literal-t0ken" not in result.out
    assert "json://127.0.0.1:9/hooks/****" in lines["d"] and "T0123456789" not in result.out


def test_a_claimed_delivery_is_sent_by_one_process_only(config_file):
    write_config(config_file, {"hook": "json://127.0.0.1:9/"}, [tensor_watch()])
    config = load_config(config_file)
    t0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
    first, second = Store(config.db_path), Store(config.db_path)
    ingest_fixture(first, config, t0)
    until = (t0 + timedelta(minutes=5)).isoformat()
    with first.transaction():
        mine = first.deliveries.claim("a", t0.isoformat(), until, "hook")
    with second.transaction():
        theirs = second.deliveries.claim("b", t0.isoformat(), until, "hook")
    assert mine and theirs == []  # one UPDATE: whoever comes second gets nothing
    ids = [r.id for r in mine]
    with second.transaction():  # `alerts retry` names the ids: still refused while claimed
        assert second.deliveries.claim("b", t0.isoformat(), until, "hook", ids) == []
    later = (t0 + timedelta(minutes=6)).isoformat()
    with second.transaction():  # a claim whose owner died lapses: nothing is lost
        assert len(second.deliveries.claim("b", later, later, "hook")) == len(ids)


def test_a_hung_channel_holds_up_only_itself(config_file):
    healthy, hung = Webhook().start(), Webhook().start()
    hung.hang = 4
    try:
        write_config(
            config_file,
            {"ok": f"json://127.0.0.1:{healthy.port}/"},
            [{"name": "tensors", "keywords": ["tensor"], "notify": ["ok", "slow"]}],
        )
        with open(config_file, "a") as f:
            f.write(f'[channels.slow]\nurl = "json://127.0.0.1:{hung.port}/"\ntimeout = "1s"\n')
        config = load_config(config_file)
        assert config.channels["slow"].timeout == 1
        t0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
        store = Store(config.db_path)
        ingest_fixture(store, config, t0)
        report = deliver(store, Runtime.build(config), t0)
        assert len(healthy.bodies) == 1 and report.sent == report.failed > 0
        errors = {r["last_error"] for r in alerts(store, "failed")}
        assert len(errors) == 1 and "timed out after 1 s" in errors.pop()
        hung.hang = 0
        assert (
            deliver(store, Runtime.build(config), t0 + timedelta(minutes=1)).sent == report.failed
        )
    finally:
        healthy.stop()
        hung.stop()
    assert len(hung.bodies) == 1 and len(healthy.bodies) == 1


def test_alerts_drop_removes_a_gone_channels_deliveries(cli, config_file):
    write_config(config_file, {"gone": "json://127.0.0.1:9/", "c": "console://"}, [])
    config = load_config(config_file)
    store = Store(config.db_path)
    ingest_bytes(
        store,
        (TEXT / "000_a4df948192ebdd8e.txt").read_bytes(),
        name="a",
        source="t",
        location="a",
        ref_time=datetime(2026, 11, 22, tzinfo=UTC),
        now=datetime(2026, 11, 22, tzinfo=UTC),
        on_change=match_hook(Runtime.build(load_config(_with_watch(config_file, ["gone", "c"])))),
    )
    before = cli("alerts", "--json").json()
    assert {r["channel"] for r in before} == {"gone", "c"}
    assert cli("alerts", "drop").code == 2
    dropped = cli("alerts", "drop", "--channel", "gone")
    assert dropped.code == 0 and f"dropped {len(before) // 2} unsent" in dropped.out
    assert {r["channel"] for r in cli("alerts", "--json").json()} == {"c"}


def _with_watch(config_file, channels):
    watch = f'name = "tensors"\nkeywords = ["tensor"]\nnotify = {json.dumps(channels)}\n'
    config_file.write_text(config_file.read_text() + "[[watchlists]]\n" + watch)
    return config_file


def test_claims_of_a_killed_process_are_released_at_once(config_file):
    write_config(config_file, {"hook": "json://127.0.0.1:9/"}, [tensor_watch()])
    config = load_config(config_file)
    t0 = datetime(2026, 11, 22, 8, tzinfo=UTC)
    store = Store(config.db_path)
    ingest_fixture(store, config, t0)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    until = (t0 + timedelta(hours=1)).isoformat()
    with store.transaction():
        owner = f"{socket.gethostname()}:{dead.pid}:x"
        claimed = store.deliveries.claim(owner, t0.isoformat(), until, "hook")
    assert claimed and release_orphaned_claims(store) == 1
    assert store.deliveries.claim_owners() == []


def test_a_title_only_paper_is_not_alerted_on_a_guess(cli, config_file):
    """The HTML fallback's title-only cards, then the same day's API with abstracts: an
    `exclude` watchlist waits for the abstract, which says fine-tuning: nothing is sent,
    and `preview` agrees with what was (not) sent."""
    hook = Webhook().start()
    try:
        write_config(
            config_file,
            {"hook": hook.url},
            [
                {
                    "name": "align",
                    "keywords": ["alignment"],
                    "exclude": ["fine-tuning"],
                    "notify": ["hook"],
                },
                {"name": "any", "keywords": ["alignment"], "notify": ["hook"]},
            ],
        )
        assert cli("ingest", str(HF / "listing_dom_only_2026-08-03.html")).code == 0
        # the three cards' abstracts may each say alignment and not fine-tuning: all wait
        assert (
            "0 stored papers match; 3 more wait for their abstract" in cli("preview", "align").out
        )
        assert "1 stored papers match; 2 more wait" in cli("preview", "any").out
        assert cli("ingest", str(HF / "api_daily_papers_2026-08-03.json")).code == 0
        assert "0 stored papers match\n" in cli("preview", "align").out
        assert "1 stored papers match\n" in cli("preview", "any").out
        sent = [a["watchlist"] for a in cli("alerts", "--json").json()]
        assert sent == ["any"]
        assert all("fine-tuning" not in b["message"] or "any" in b["title"] for b in hook.bodies)
        db = Store(config_file.parent / "state" / "paperwatch.db")
        assert db.deliveries.undecided_count() == 0
    finally:
        hook.stop()


def test_an_abstract_that_never_comes_is_decided_after_undecided_after(tmp_path):
    config_path = tmp_path / "config.toml"
    write_config(
        config_path,
        {"hook": "json://127.0.0.1:9/"},
        [{"name": "align", "keywords": ["alignment"], "exclude": ["survey"], "notify": ["hook"]}],
        extra='undecided_after = "1d"',
    )
    config = load_config(config_path)
    runtime = Runtime.build(config)
    store = Store(config.db_path)
    now = datetime(2026, 8, 3, 12, tzinfo=UTC)
    ingest_bytes(
        store,
        (HF / "listing_dom_only_2026-08-03.html").read_bytes(),
        name="l",
        source="t",
        location="l",
        ref_time=now,
        now=now,
        on_change=match_hook(runtime),
    )
    assert store.deliveries.undecided_count() == 1 and store.deliveries.match_count() == 0
    assert decide_waiting(store, runtime, now + timedelta(hours=23)) == 0
    assert decide_waiting(store, runtime, now + timedelta(days=1)) == 1
    [alert] = alerts(store)
    assert alert["watchlist"] == "align" and alert["title_only"] == 1
    later = now + timedelta(days=1)
    [row] = store.deliveries.claim("me", iso(later), iso(later + timedelta(hours=1)), "hook")
    message = render("align", config.watchlist("align").source, [row.match])
    assert "title only: decided without the abstract" in message.text
    assert decide_waiting(store, runtime, now + timedelta(days=5)) == 0  # once, ever
    runtime.http.close()


def test_a_three_word_phrase_alone_alerts_and_is_found(cli, config_file, hook):
    """The blind spot of issue 20 end to end: a watchlist whose one keyword is a
    three-word phrase alerts on a paper that says it, and `preview --query` finds it."""
    write_config(
        config_file,
        {"hook": hook.url},
        [{"name": "gnn", "keywords": ["graph neural network"], "notify": ["hook"]}],
    )
    dump = config_file.parent / "gnn.txt"
    dump.write_text(
        "Daily Papers\n\nMessage Passing for Molecules\n\nWe train graph neural networks "
        "on molecules and compare them with transformers on ten benchmarks.\n\n"
        "Neural Graph Rewriting\n\nA neural network rewrites a graph; no message passing "
        "is involved in this method at any point.\n\n"
    )
    assert cli("ingest", str(dump)).code == 0
    assert cli("alerts", "retry").code == 0
    assert "Message Passing for Molecules" in json.dumps(hook.bodies)
    assert "Neural Graph Rewriting" not in json.dumps(hook.bodies)
    found = cli("preview", "--query", '"graph neural network"', "--json").json()
    assert [p["title"] for p in found] == ["Message Passing for Molecules"]
    # a query that starts with "-" is a query, not an option
    rest = cli("preview", "--query", "-molecules", "--json").json()
    assert [p["title"] for p in rest] == ["Neural Graph Rewriting"]


def test_a_secret_in_a_url_path_or_header_is_shown_nowhere(cli, config_file, caplog, monkeypatch):
    """`${...}` values in a webhook's path, a header, a query or payload parameter, a
    user and a password: apprise's privacy form keeps most; paperwatch scrubs them from
    check, test-notify, alerts (--json: last_error), the log, the web page and the
    database, here on a service that refuses the connection."""
    caplog.set_level(logging.DEBUG)
    secrets = {  # every position of an apprise URL a value may sit in
        "HOOK_PATH_KEY": "pathSECRET-4f9c2a",
        "HOOK_HEADER_KEY": "headerSECRET-77e1b0",
        "HOOK_QUERY_KEY": "querySECRET-0d3e91",
        "HOOK_PAYLOAD_KEY": "payloadSECRET-5a6b7c",
        "HOOK_USER": "userSECRET-8e2f44",
        "HOOK_PASSWORD": "passwordSECRET-19cd02",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    closed = "127.0.0.1:9"  # discard port: nothing listens, the send fails
    channels = {
        "path": f"json://{closed}/hook/${{HOOK_PATH_KEY}}",
        "header": f"json://{closed}/?+X-Api-Key=${{HOOK_HEADER_KEY}}",
        "query": f"json://{closed}/?-apikey=${{HOOK_QUERY_KEY}}",
        "payload": f"json://{closed}/?:field=${{HOOK_PAYLOAD_KEY}}",
        "login": f"json://${{HOOK_USER}}:${{HOOK_PASSWORD}}@{closed}/",
    }
    write_config(
        config_file, channels, [{"name": "t", "keywords": ["tensor"], "notify": list(channels)}]
    )
    outputs = []
    for args in (
        ("check",),
        ("ingest", str(TEXT / "000_a4df948192ebdd8e.txt")),
        *(("test-notify", name) for name in channels),
        ("alerts",),
        ("alerts", "--json"),
        ("alerts", "retry"),
    ):
        result = cli(*args)
        outputs += [result.out, result.err]
    failed = cli("alerts", "--json").json()
    assert failed and all(a["last_error"] for a in failed)  # the sends did fail
    config = load_config(config_file)
    with Store(config.db_path, readonly=True) as store:
        outputs.append(home(store, config, datetime.now(UTC), {}))
    # what reaches the log (pytest also hears apprise's own logger, which never does)
    outputs += [r.getMessage() for r in caplog.records if not r.name.startswith("apprise")]
    db = b"".join(p.read_bytes() for p in (config_file.parent / "state").glob("paperwatch.db*"))
    for secret in secrets.values():
        assert not [o for o in outputs if secret in o], secret
        assert secret.encode() not in db
    assert "****" in outputs[0]  # check shows where a secret was


def test_a_send_that_outlives_its_claim_window_is_never_sent_twice(config_file, hook, monkeypatch):
    """A service answering a byte at a time keeps one send alive past the claim's
    window; the sender renews its claim meanwhile, so `alerts retry` started then sends
    nothing again (issue 21, fault 5)."""
    import threading

    from daemon.delivery import outbox

    monkeypatch.setattr(outbox, "CLAIM_MARGIN", timedelta(0))
    write_config(
        config_file,
        {},
        [tensor_watch(notify="slow")],
        extra=f'[channels.slow]\nurl = "{hook.url}"\ntimeout = "1s"',
    )
    config = load_config(config_file)
    store = Store(config.db_path)
    started = datetime.now(UTC)
    ingest_fixture(store, config, started)
    hook.trickle = 0.1  # 38 bytes: about 4 s, each read within the 1 s timeout
    sending = threading.Thread(
        target=deliver, args=(Store(config.db_path), Runtime.build(config), started)
    )
    sending.start()
    later = started + timedelta(seconds=2 * 1.0 + 0.3)  # past the first claim (2 x timeout)

    def renewed() -> bool:
        found = store.conn.execute("SELECT max(claimed_until) FROM deliveries").fetchone()[0]
        return found is not None and found >= iso(later)

    try:
        assert wait_for(lambda: len(hook.bodies) == 1, 5)
        assert wait_for(renewed, 5)  # the sender renewed its claim, still sending
        # `alerts retry` then
        again = retry_all(Store(config.db_path), Runtime.build(config), later)
        assert again.messages == 0 and len(hook.bodies) == 1
    finally:
        sending.join(10)
    assert [d["status"] for d in alerts(store)] == ["sent"] * len(alerts(store))
