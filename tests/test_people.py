"""Author watchlists (issue 34, item 4; issue 35, item 8): new papers by these people,
found by ORCID iD where PubMed or Crossref give one and by name elsewhere, the alert
saying whom it found even past "et al."."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config import load_config
from daemon.core.errors import ConfigError
from daemon.delivery.outbox import deliver
from daemon.delivery.render import render
from daemon.language.people import Name, Person, find, orcid, orcid_check, orcid_problem
from daemon.runtime import Runtime
from tests.conftest import configured, ingest_alerting
from tests.fake_pubmed import FIFTY

NOW = datetime(2026, 8, 20, 12, tzinfo=UTC)


def person(text: str) -> Person:
    return Person(text, Name.read(text))


@pytest.mark.parametrize(
    ("watched", "written", "same"),
    [
        ("Yann LeCun", "Y. LeCun", True),
        ("Yann LeCun", "Yann A. LeCun", True),
        ("Yann LeCun", "LeCun, Yann", True),
        ("Yann LeCun", "YANN LECUN", True),
        ("Yann LeCun", "Yves LeCun", False),
        ("Yann LeCun", "Yann Lecunn", False),
        ("Léon Bottou", "Leon Bottou", True),
        ("Léon Bottou", "Le\u0301on Bottou", True),  # decomposed accent
        ("Jean-Paul Sartre", "J.-P. Sartre", True),
        ("Gabriel García Márquez", "G. García-Márquez", True),
        ("Alex Smola", "Alexander J. Smola", True),
        ("Alexander Smola", "Alex Smola", True),
        ("Alexander Smola", "Andrew Smola", False),
        ("Smola", "Alexander J. Smola", True),
    ],
)
def test_names_agree_as_sources_write_them(watched, written, same):
    assert bool(find((person(watched),), (written,), ())) is same


# letters of the scripts sources write names in (Latin with its accents, Greek, Cyrillic)
_LETTER = st.characters(whitelist_categories=("Lu", "Ll"), max_codepoint=0x4FF).filter(
    lambda c: c.upper().lower() == c.lower()  # no letter whose case changes it (ß, ŉ)
)
_WORD = st.text(_LETTER, min_size=2, max_size=10)


@given(_WORD, _WORD, _WORD)
def test_a_person_is_found_however_a_source_writes_the_name(given_name, middle, family):
    watched = person(f"{given_name} {family}")
    forms = [
        f"{given_name} {family}",
        f"{family}, {given_name}",
        f"{given_name[0]}. {family}",
        f"{given_name} {middle[0]}. {family}",
        f"{given_name.upper()} {family.upper()}",
        unicodedata.normalize("NFD", f"{given_name} {family}"),
    ]
    for form in forms:
        assert find((watched,), ("Someone Else", form), ()) == [form], form


def test_orcid_ids_are_checked_and_read_in_any_form():
    assert orcid("0000-0002-1825-0097") == "0000-0002-1825-0097"  # ORCID's own example
    assert orcid("https://orcid.org/0000-0002-1694-233x") == "0000-0002-1694-233X"
    assert orcid("000000021825009 7".replace(" ", "")) == "0000-0002-1825-0097"
    assert orcid("0000-0002-1825-0098") is None
    assert orcid_check("000000021825009") == "7"
    assert orcid_problem("0000-0002-1825-0098") == (
        "'0000-0002-1825-0098' fails its check character: a typo? "
        "(did you mean '0000-0002-1825-0097'?)"
    )


def test_an_orcid_finds_its_author_and_a_name_never_finds_another_ids_author():
    orcids = (("Yilei Wang", "0000-0002-3082-3038"),)
    by_id = Person("0000-0002-3082-3038", None, "0000-0002-3082-3038")
    assert find((by_id,), ("Yilei Wang", "Jingyuan Tian"), orcids) == ["Yilei Wang"]
    assert find((by_id,), ("Yilei Wang",), ()) == []  # an iD alone needs the paper's iDs
    other = Person("Yilei Wang", Name.read("Yilei Wang"), "0000-0001-5012-0797")
    assert find((other,), ("Yilei Wang",), orcids) == []  # the paper's iD says: someone else
    assert find((other,), ("Yilei Wang",), ()) == ["Yilei Wang"]  # no iD: by name


WATCH = """state_dir = "state"
[channels]
c = "console://"
{channels}
[[watchlists]]
name = "people"
authors = {authors}
notify = ["{notify}"]
"""


def test_papers_by_the_people_followed_alert_and_say_whom_past_et_al(tmp_path, hook):
    """The 9th of 15 authors (by ORCID) and the 9th of 18 (by name): each alert names
    them, highlighted; the paper by neither is not alerted."""
    authors = json.dumps(["0000-0003-0736-3245", "Laura Brenner"])
    cfg, store = configured(
        tmp_path, WATCH.format(authors=authors, channels=hook.channel("w"), notify="w")
    )
    ingest_alerting(cfg, store, "fifty.xml", FIFTY.read_bytes(), NOW)
    rows = store.conn.execute(
        "SELECT p.pmid, m.matched FROM matches m JOIN papers p ON p.id = m.paper_id"
    ).fetchall()
    assert {r["pmid"]: json.loads(r["matched"]) for r in rows} == {
        "35225694": [["Eric A Geng", "author"]],
        "36865787": [["Laura N Brenner", "author"]],
    }
    deliver(store, Runtime.build(cfg), NOW)
    body = json.dumps(hook.bodies, ensure_ascii=False)
    assert "by Eric A Geng" in body and "by Laura N Brenner" in body
    assert "Scott L Zuckerman, … Eric A Geng et al. (15 authors)" in body
    message = render("people", "", store.deliveries.recent_matches(["people"]))
    assert "**Laura N Brenner**" in message.body("markdown")
    assert "<mark><b>Eric A Geng</b></mark> et al. (15 authors)" in message.body("html")
    assert ">Laura N Brenner</mark> et al. (18 authors)" in message.email


def test_keywords_with_authors_need_both(tmp_path):
    authors = json.dumps(["Laura Brenner", "Eric Geng"])
    text = WATCH.format(authors=authors, channels="", notify="c")
    cfg, store = configured(tmp_path, text + 'keywords = ["neurologic"]\n')
    ingest_alerting(cfg, store, "fifty.xml", FIFTY.read_bytes(), NOW)
    [(pmid, matched)] = store.conn.execute(
        "SELECT p.pmid, m.matched FROM matches m JOIN papers p ON p.id = m.paper_id"
    ).fetchall()
    assert pmid == "36865787"
    assert json.loads(matched)[0] == ["Laura N Brenner", "author"]


def test_preview_lists_the_stored_papers_by_them(tmp_path, cli):
    text = WATCH.format(authors='["Laura Brenner"]', channels="", notify="c")
    (tmp_path / "config.toml").write_text(text)
    cfg = load_config(tmp_path / "config.toml")
    assert cli("ingest", "--no-notify", str(FIFTY)).code == 0
    result = cli("preview", "people")
    assert result.code == 0, result.err
    assert "by Laura N Brenner" in result.out and "1 stored papers by Laura Brenner" in result.out
    assert cfg.watchlists[0].source == "by Laura Brenner"


@pytest.mark.parametrize(
    ("authors", "said"),
    [
        ('["0000-0002-1825-0098"]', r"authors\[0\]: .* fails its check character: .*0097"),
        ('[{name = "", orcid = ""}]', r"authors\[0\]: give a name, an ORCID iD, or both"),
        ('["..."]', r"authors\[0\]: '...' is no name"),
    ],
)
def test_check_names_a_wrong_person_by_its_toml_path(tmp_path, authors, said):
    (tmp_path / "config.toml").write_text(WATCH.format(authors=authors, channels="", notify="c"))
    said = said.replace("]: ", r"] \(line 7, column 11\): ")
    with pytest.raises(ConfigError, match=r"watchlists\[0\]\." + said):
        load_config(tmp_path / "config.toml")
