"""The seams hold: SQL lives only in the store's repositories; kinds stay in their modules."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DAEMON = ROOT / "daemon"
SQL = re.compile(
    r"\b(SELECT\s+[\w*(]|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TABLE|INDEX)|DROP\s+TABLE|PRAGMA\s+\w+|BEGIN\b|COMMIT\b|ROLLBACK\b)",
)  # SQL here is written in upper case; prose ("commit") is not


def modules(outside: str) -> list:
    return [p for p in DAEMON.rglob("*.py") if outside not in p.relative_to(DAEMON).parts]


def test_no_sql_outside_the_store():
    offenders = {
        str(p.relative_to(ROOT)): m.group(0)
        for p in modules("store")
        if (m := SQL.search(p.read_text()))
    }
    assert offenders == {}


def test_the_pattern_finds_sql():
    assert SQL.search((DAEMON / "store" / "deliveries.py").read_text())
    assert SQL.search("cur.execute('SELECT id FROM papers')")


def test_no_module_but_its_own_names_a_source_kind():
    kinds = [p.stem for p in (DAEMON / "sources").glob("*.py") if p.stem != "__init__"]
    branch = re.compile(r"\b(source|src|s)\.type\s*(==|!=|in\b)")
    for path in modules("sources"):
        text = path.read_text()
        assert not branch.search(text), f"{path.relative_to(ROOT)} branches on a source kind"
        for kind in kinds:
            imported = re.search(
                rf"sources\.{kind}\b|from daemon\.sources import .*\b{kind}\b", text
            )
            assert not imported, f"{path.relative_to(ROOT)} imports kind {kind!r}"


def test_the_unit_raises_the_descriptor_limit_above_what_the_web_server_may_hold():
    """Idle web connections once exhausted the default 1,024 descriptors, and the inbox
    and deliveries failed with EMFILE: the unit raises the limit well above the web
    server's connection cap."""
    import configparser

    from daemon.http_server import MAX_CONNECTIONS

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "systemd" / "paperwatch.service")
    assert int(unit["Service"]["LimitNOFILE"]) >= 8 * MAX_CONNECTIONS
