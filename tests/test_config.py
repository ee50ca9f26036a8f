"""Configuration errors: each names its TOML path, `check` exits 2, nothing half-loads."""

from __future__ import annotations

import sqlite3

import pytest

from daemon.config import load_config
from daemon.core.errors import ConfigError
from tests.conftest import TEXT, load_and_build

CHANNEL = '[channels]\nc = "console://"\n'


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            '[[sources]]\nname = "a"\ntype = "rss"\n',
            "sources[0].type (line 3, column 8): unknown type 'rss'",
        ),
        ('[[sources]]\nname = "a"\ntype = "url"\n', "sources[0].url (line 1, column 1): missing"),
        (
            '[[sources]]\nname = "a"\ntype = "url"\nurl = "ftp://x"\n',
            "sources[0].url (line 4, column 7): expected",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "url"\nurl = "http://x"\npath = "p"\n',
            "sources[0].path (line 5, column 1): unknown key for a url source",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "hf_daily"\ncron = "61 * * * *"\n',
            "sources[0].cron (line 4, column 8): invalid cron expression",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "hf_daily"\nevery = "5 minutes"\n',
            "sources[0].every (line 4, column 9): expected a duration",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "folder"\n[[sources]]\nname = "a"\ntype = "folder"\n',
            "sources[1].name (line 5, column 8): duplicate source name 'a'",
        ),
        ('admin_channel = "nope"\n', "admin_channel (line 1, column 17): unknown channel 'nope'"),
        (
            "[http]\ntimeout = 5\n",
            'http.timeout (line 2, column 11): expected a duration such as "30m", got a number 5',
        ),
        (
            '[channels]\nc = "console://"\n[[watchlists]]\nname = "a"\nquery = "x AND ("\n'
            'notify = ["c"]\n',
            "watchlists[0].query (line 5, column 17): watchlist 'a': expected a term",
        ),
        (
            '[channels]\nc = "console://"\n[[watchlists]]\nname = "a"\nkeywords = ["x"]\n'
            'notify = ["d"]\n',
            "watchlists[0].notify[0] (line 6, column 10): unknown channel 'd'",
        ),
        (
            '[channels]\nc = "console://"\n[[watchlists]]\nname = "a"\nkeywords = ["x"]\n'
            'notify = ["c"]\n[[watchlists]]\nname = "a"\nkeywords = ["y"]\nnotify = ["c"]\n',
            "watchlists[1].name (line 8, column 8): duplicate watchlist name 'a'",
        ),
        (
            '[channels]\nc = "console://"\n[[watchlists]]\nname = "a"\nkeywords = ["x"]\n'
            'notify = ["c"]\ncolour = "red"\n',
            "watchlists[0].colour (line 7, column 1): unknown key",
        ),
        (
            '[channels]\nc = "bogus://nothing"\n',
            "channels.c (line 2, column 5): apprise cannot load",
        ),
        (
            '[channels]\nc = "json://u:${PW_UNSET_FOR_TEST}@127.0.0.1/"\n',
            "channels.c (line 2, column 5): ${PW_UNSET_FOR_TEST} is not set",
        ),
        ('give_up_after = "soon"\n', "give_up_after (line 1, column 17): expected a duration"),
        (
            '[channels]\nc = "console://"\n[[watchlists]]\nname = "a"\nkeywords = ["x"]\n'
            'notify = ["c"]\ndeliver = "weekly"\n',
            "watchlists[0].deliver (line 7, column 11): expected",
        ),
        ('state_dir = "state"\nstate_dri = "x"\n', "state_dri (line 2, column 1): unknown key"),
        (
            'timezone = "Mars/Olympus"\n',
            "timezone (line 1, column 12): unknown time zone 'Mars/Olympus'",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "hf_daily"\ncatch_up_days = 99\n',
            "sources[0].catch_up_days (line 4, column 17): must be between 0 and 60",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "hf_daily"\ncatch_up_days = "7"\n',
            "sources[0].catch_up_days (line 4, column 17): expected a whole number, "
            "got the string '7'",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "folder"\nurl = "http://x"\n',
            "sources[0].url (line 4, column 1): unknown key for a folder source",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "hf_daily"\nhf_token = "${PW_UNSET_FOR_TEST}"\n',
            "sources[0].hf_token (line 4, column 12): ${PW_UNSET_FOR_TEST} is not set",
        ),
        (
            '[[sources]]\nname = "a"\ntype = "url"\nurl = "http://x"\nevery = "1h"\n'
            'cron = "0 7 * * *"\n',
            "sources[0] (line 1, column 1): give either every or cron, not both",
        ),
        (
            '[http]\nretries = "x"\n',
            "http.retries (line 2, column 11): expected a whole number, got the string 'x'",
        ),
        ('[http]\nproxy = "x"\n', "http.proxy (line 2, column 1): unknown key"),
        (
            CHANNEL + '[[watchlists]]\nname = "a"\nkeywords = ["x"]\nquery = "y"\nnotify = ["c"]\n',
            "watchlists[0] (line 3, column 1): give either query or keywords/exclude, not both",
        ),
        (
            CHANNEL + '[[watchlists]]\nname = "a"\nnotify = ["c"]\n',
            "watchlists[0] (line 3, column 1): needs keywords",
        ),
    ],
)
def test_check_names_the_toml_path(cli, config_file, body, error):
    config_file.write_text(body)
    result = cli("check")
    assert result.code == 2
    assert result.err.startswith(f"error: {error}"), result.err
    assert len(result.err.strip().splitlines()) == 1


def test_invalid_toml_names_the_file_and_line(cli, config_file):
    config_file.write_text("state_dir = \n")
    result = cli("check")
    assert result.code == 2
    assert result.err.startswith(f"error: {config_file}: invalid TOML") and "line 1" in result.err


def test_a_missing_scheme_separator_never_prints_the_secret(cli, config_file, monkeypatch):
    monkeypatch.setenv("PW_SMTP_TEST", "S3cr3t-value")
    config_file.write_text('[channels]\nmail = "mailto:me:${PW_SMTP_TEST}@example.com"\n')
    result = cli("check")
    assert (
        result.code == 2 and "channels.mail (line 2, column 8): apprise cannot load" in result.err
    )
    assert "S3cr3t" not in result.err + result.out


COMMANDS = [
    ("check",),
    ("status",),
    ("status", "--json"),
    ("papers",),
    ("alerts",),
    ("alerts", "retry"),
    ("preview", "--query", "tensor"),
    ("poll",),
    ("ingest", str(TEXT / "000_a4df948192ebdd8e.txt")),
    ("run",),
]


def run_all(cli):
    """Every command, in-process as the console script runs it: (exit code, stderr) each."""
    return [(args, r.code, r.err) for args in COMMANDS for r in [cli(*args)]]


def test_state_dir_under_a_regular_file_is_one_line_from_every_command(cli, config_file):
    (config_file.parent / "afile").write_text("not a directory")
    config_file.write_text('state_dir = "afile/state"\n')
    for args, code, err in run_all(cli):
        assert code == 1, (args, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, (args, err)
        assert "afile" in err and "Traceback" not in err, (args, err)


def test_corrupt_database_is_one_line_from_every_command(cli, config_file):
    state = config_file.parent / "state"
    state.mkdir()
    (state / "paperwatch.db").write_bytes(b"this is not a database at all" * 200)
    config_file.write_text('state_dir = "state"\n')
    for args, code, err in run_all(cli):
        assert code == 1, (args, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, (args, err)
        assert "paperwatch.db" in err and "not a" in err, (args, err)


def test_check_does_not_create_the_state_dir(cli, config_file):
    config_file.write_text('state_dir = "deep/new/state"\n')
    assert cli("check").code == 0
    assert not (config_file.parent / "deep").exists()


def test_sqlite_error_mid_command_is_one_line(cli, config_file):
    assert cli("ingest", str(TEXT / "000_a4df948192ebdd8e.txt")).code == 0
    db = sqlite3.connect(config_file.parent / "state" / "paperwatch.db")
    db.execute("DROP TABLE sightings")  # a database damaged behind our back
    db.commit()
    result = cli("papers")
    assert result.code == 1 and result.err.startswith("error: database: no such table")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        # columns count the characters of the line as written in config.toml
        (
            'query = "tensor or \\"neural net\\" (survey"',
            "watchlists[0].query (line 5, column 35): watchlist 'w': missing closing parenthesis",
        ),
        (
            "query = 'tensor (survey'",
            "watchlists[0].query (line 5, column 17): watchlist 'w': missing closing parenthesis",
        ),
        ("query = 'te*sor'", "watchlists[0].query (line 5, column 12): watchlist 'w': '*' only"),
        (
            'keywords = ["a", "b", "c", "te*st"]',
            "watchlists[0].keywords[3] (line 5, column 12): watchlist 'w': '*' only ends a word",
        ),
        (
            'keywords = ["a"]\nexclude = ["*"]',
            "watchlists[0].exclude[0] (line 6, column 11): watchlist 'w': '*' has no letters",
        ),
        (
            'query = """\ntensor (x\n"""',
            "watchlists[0].query (column 8 of the query): watchlist 'w': missing closing",
        ),
    ],
)
def test_query_errors_point_into_the_file(cli, config_file, body, error):
    config_file.write_text(f'{CHANNEL}[[watchlists]]\nname = "w"\n{body}\nnotify = ["c"]\n')
    result = cli("check")
    assert result.code == 2 and error in result.err, result.err


def test_check_warns_about_what_looks_like_an_operator(cli, config_file):
    config_file.write_text(
        f'{CHANNEL}[[watchlists]]\nname = "w"\nquery = "tensor or survey"\nnotify = ["c"]\n'
        '[[watchlists]]\nname = "v"\nquery = "author:Rafal Kocielnik"\nnotify = ["c"]\n'
    )
    result = cli("check")
    assert result.code == 0
    assert (
        "warning: watchlists[0].query (line 5, column 17): watchlist 'w': lower-case 'or' is "
        "searched as a word; write OR for the operator"
    ) in result.err
    assert "watchlists[1].query (line 9, column 23)" in result.err
    assert 'did you mean author:"Rafal Kocielnik"?' in result.err
    assert "warning: watchlists[1]" in cli("preview", "v").err


ARXIV_SOURCE = '[[sources]]\nname = "a"\ntype = "arxiv"\ncategories = [{}]\ncontact = "a@b.org"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[watchlists]]\nname = "t"\nkeywords = ["x"]\nnotfy = ["c"]\n',
            "watchlists[0].notfy (line 7, column 1): unknown key; did you mean 'notify'?",
        ),
        (
            '[[sources]]\nname = "s"\ntype = "hf_daily"\nevry = "1h"\n',
            "sources[0].evry (line 7, column 1): unknown key for a hf_daily source; "
            "did you mean 'every'?",
        ),
        (
            '[[sources]]\nname = "s"\ntype = "hf_daily"\nevery = 30\n',
            'sources[0].every (line 7, column 9): expected a duration such as "30m", '
            "got a number 30",
        ),
        (
            ARXIV_SOURCE.format('"cs.ML"'),
            "cs.ML: did you mean cs.LG or stat.ML?",
        ),
        (
            ARXIV_SOURCE.format('"cs.cl"'),
            "cs.cl: did you mean cs.CL?",
        ),
        (
            '[[watchlists]]\nname = "t"\nkeywords = "tensor"\nnotify = ["c"]\n',
            'watchlists[0].keywords (line 6, column 12): expected a list such as ["a", "b"], '
            "got the string 'tensor'",
        ),
        (
            '[zotero]\nlibrary = "me"\nkey = "k"\n',
            'zotero.library (line 5, column 11): expected "users/<user id>" or "groups/',
        ),
        (
            '[[sources]]\nname = "s"\ntype = "hf_dialy"\n',
            "sources[0].type (line 6, column 8): unknown type 'hf_dialy' (did you mean 'hf_daily'?",
        ),
        (
            '[[watchlists]]\nname = "t"\nkeywords = ["x", ""]\nnotify = ["c"]\n',
            "watchlists[0].keywords[1] (line 6, column 12): expected a non-empty string",
        ),
        (
            '[[watchlists]]\nname = "t"\nsimilar_to = ["2501.00001"]\nmode = "all"\n'
            'notify = ["c"]\n',
            "watchlists[0].mode (line 7, column 8): expected 'both' or 'either', got the string",
        ),
        (
            '[[watchlists]]\nname = "t"\nkeywords = ["x"]\nnotify = "c"\n',
            "watchlists[0].notify (line 7, column 10): expected a list such as",
        ),
    ],
)
def test_a_wrong_key_or_value_says_what_was_meant(tmp_path, text, message):
    """Issue 24, item 8: an unknown key suggests the nearest known one, a wrong type shows
    an example, an unknown arXiv category suggests the nearest, and a string where a list
    is expected is an error, not a silent one-item list."""
    path = tmp_path / "config.toml"
    path.write_text('state_dir = "state"\n[channels]\nc = "console://"\n' + text)
    with pytest.raises(ConfigError) as caught:
        load_and_build(path)
    assert message in str(caught.value)


def test_a_reload_that_fails_to_build_keeps_the_last_runtime_and_says_where(tmp_path, caplog):
    """Issue 33, item 1: validating the file is not building it; a source kind's key or a
    channel's URL is checked as the runtime is built, and an edit that fails there is
    refused with its place in the file, the last runtime running on."""
    from daemon.service import Service

    path = tmp_path / "config.toml"
    good = (
        'state_dir = "state"\n[web]\nlisten = ""\n[channels]\nc = "console://"\n'
        '[[sources]]\nname = "inbox"\ntype = "folder"\n'
    )
    path.write_text(good)
    service = Service(path)
    try:
        before = service.current.get()
        for bad, said in (
            ('[[sources]]\nname = "x"\ntype = "hf_daily"\nevry = "1h"\n', "sources[1].evry (line"),
            ('[channels]\nc = "nosuchservice://x"\n', "channels.c (line"),
        ):
            path.write_text(good.replace('[channels]\nc = "console://"\n', "") + bad)
            load_config(path)  # valid as settings
            service.reload("test")
            assert service.current.get() is before
            assert said in caplog.text and "keeping=" in caplog.text
        path.write_text(good.replace("inbox", "box"))
        service.reload("test")
        assert [s.name for s in service.current.get().sources] == ["box"]
    finally:
        service.lock.close()


@pytest.mark.parametrize(
    ("table", "said"),
    [
        (
            '[[sources]]\nname = "s"\ntype = "hf_daily"\nevry = "1h"\n',
            "sources[0].evry (line 5, column 1)",
        ),
        ('[[sources]]\nname = "s"\ntype = "hf_dialy"\n', "sources[0].type (line 4, column 8)"),
        ('[channels]\nc = "nosuchservice://x"\n', "channels.c (line 3, column 5)"),
    ],
)
def test_check_and_every_command_say_where_a_build_error_is(config_file, cli, table, said):
    """What the runtime checks as it builds (a kind's keys, a channel's URL) is reported by
    `run`, `check` and any command as a validation error is: placed in the file, exit 2;
    and `run` refusing it records nothing `status` would then call the last good one."""
    config_file.write_text('state_dir = "state"\n' + table)
    for command in (("run",), ("check",), ("poll",), ("alerts", "retry"), ("status",)):
        result = cli(*command)
        assert result.code == 2 and said in result.err, (command, result.err)
        # a daemon refused it at start: it is no "last good configuration" to run on
        assert "last good" not in result.err, (command, result.err)
