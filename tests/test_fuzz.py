"""Fuzzing every parser and the inbox with mutated real fixtures and odd names (issue 21):
whatever the bytes, a document is parsed or fails with a ParseError, is stored or fails
with one, and the inbox takes the next good file. Bounded: a few hundred examples."""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.core.errors import ParseError
from daemon.ingest.document import ingest_bytes
from daemon.parse import parse_document
from daemon.store import Store
from tests.clock import ManualClock
from tests.conftest import ARXIV, HF, TEXT, examples
from tests.fake_biorxiv import BIORXIV
from tests.test_inbox_faults import Inbox

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # text a JSON or UTF-8 file cannot hold

NOW = datetime(2026, 8, 21, tzinfo=UTC)
SEEDS = [  # small real documents of every format
    HF / "api_daily_papers_2026-08-03.json",
    HF / "listing_dom_only_2026-08-03.html",
    ARXIV / "api_id_2104.12255v1.xml",
    ARXIV / "oai_getrecord_1401.2122.xml",
    ARXIV / "oai_listrecords_hep-th_2017-12-14.xml",
    ARXIV / "rss_cs.CL_2026-08-15_weekend_empty.xml",
    ARXIV / "api_query_testing_page2_of10.xml",
    BIORXIV / "biorxiv_details_doi_10.1101_2021.09.30.462652.json",
]
_SEED_BYTES = [p.read_bytes() for p in SEEDS]
_TEXT_DUMP = sorted(TEXT.glob("*.txt"))[0].read_bytes()[:20_000]
# what hostile or broken exporters put in documents
POISON = [
    b"9" * 5000,
    b"100000000000000000000000",
    b"[" * 3000,
    b"{" * 3000,
    b"<div>" * 3000,
    b"v99999999999999999999",
    b"2023-13-45",
    b"garbage-garbage",
    b"\x00\xff\xfe",
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>&a;",
    b"]]>",
    b"\r\n\x1b[2J",
    b"-1",
    b"null",
    b'"',
    b"\xe2\x80",
    # issue 31: LaTeX nested past the recursion limit, bioRxiv's odd versions and Greek
    b"\\x{" + b"\\[" * 400 + b"}",
    b"\\textit{" * 500,
    "\u00b2".encode(),
    b"99999999999999999999",
    b"TGF{beta}",
    b'"version": "\xc2\xb2"',
]


_NUMBER = re.compile(rb"\d+")
_DATE = re.compile(rb"\d{4}-\d{2}-\d{2}[T\d:.Z+-]*")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([*_SEED_BYTES, _TEXT_DUMP])))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 6))
        at = draw(st.integers(0, len(data)))
        if kind >= 5:  # a number or a date inside a field, where parsers read values
            found = list((_NUMBER if kind == 5 else _DATE).finditer(data))
            if found:
                m = found[draw(st.integers(0, len(found) - 1))]
                data[m.start() : m.end()] = draw(st.sampled_from(POISON))
            continue
        if kind == 0:  # a poison inserted
            data[at:at] = draw(st.sampled_from(POISON))
        elif kind == 1:  # cut short
            del data[at:]
        elif kind == 2:  # a run of bytes replaced by a poison
            data[at : at + draw(st.integers(1, 64))] = draw(st.sampled_from(POISON))
        elif kind == 3:  # random bytes
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:  # a stretch repeated
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 20))
    return bytes(data)


@settings(max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_any_mutation_parses_or_is_a_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_document(data, "fuzz", NOW)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("fuzz") / "paperwatch.db")


@settings(
    max_examples=examples(120),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=mutated())
def test_any_mutation_is_stored_or_is_a_parse_error(store: Store, data: bytes) -> None:
    """Stored whole or not at all: the new papers are rows with a title, the paper count
    grew by them (and the papers stored quietly), each new one seen somewhere."""
    before = store.papers.counts()["papers"]
    try:
        result = ingest_bytes(
            store, data, name="fuzz", source="f", location="f", ref_time=NOW, now=NOW
        )
    except ParseError:
        assert store.papers.counts()["papers"] == before  # nothing half-stored
        return
    grown = store.papers.counts()["papers"] - before  # the new, and the quiet (replacements)
    assert len(result.new) <= grown <= result.papers
    new = store.papers.listing(ids=result.new, limit=len(result.new) + 1) if result.new else []
    assert len(new) == len(result.new) and all(p.title.strip() and p.title_key for p in new)
    seen = {r[0] for r in store.conn.execute("SELECT DISTINCT paper_id FROM sightings")}
    assert set(result.new) <= seen  # every new paper with its sighting


ODD_NAMES = st.one_of(
    st.text(
        st.characters(blacklist_characters="/\x00", blacklist_categories=SURROGATES),
        min_size=1,
        max_size=40,
    ),
    st.just("x" * 240 + ".json"),
    st.just("\r\x1b[31mred.txt"),
    st.just(" spaced name .xml"),
).filter(lambda n: n not in (".", "..") and not n.startswith(".") and n[:1] != "z")


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=ODD_NAMES, data=mutated())
def test_the_inbox_takes_the_next_good_file_whatever_came_before(
    tmp_path_factory: pytest.TempPathFactory, name: str, data: bytes
) -> None:
    tmp = tmp_path_factory.mktemp("box")
    inbox = Inbox(tmp)
    bad = inbox.path / name
    if len(os.fsencode(name)) > 255 or name.endswith((".part", ".tmp", ".swp")):
        return  # not a name a file can have, or one the inbox leaves alone
    bad.write_bytes(data)
    good = inbox.path / "zz_good.txt"
    good.write_bytes(_TEXT_DUMP_FULL)
    old = time.time() - 60
    for path in (bad, good):
        os.utime(path, (old, old))
    inbox.poll()
    assert (inbox.path / "done" / "zz_good.txt").exists()
    assert not bad.exists()  # taken: in done/ or, with its reason, in failed/


_TEXT_DUMP_FULL = sorted(Path(TEXT).glob("*.txt"))[0].read_bytes()


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=mutated(), second=mutated(), after_read=st.booleans(), big=st.booleans())
def test_a_file_renamed_over_another_is_never_moved_unread(
    tmp_path_factory: pytest.TempPathFactory,
    first: bytes,
    second: bytes,
    after_read: bool,
    big: bool,
) -> None:
    """Issue 31, item 4: whatever the files and the moment of the rename (as the inbox
    opens a file, or once it has read it), every file moved to done/ is one that was
    read, and each file ends in done/ or failed/."""
    from daemon.sources import folder

    tmp = tmp_path_factory.mktemp("race")
    inbox = Inbox(tmp, "max_file_bytes = 100000")
    clock = ManualClock(datetime.now(UTC) - timedelta(seconds=1000))
    clock.elapsed = 1000.0
    inbox.memory["inbox"] = folder.Inbox(clock=clock)
    target, incoming = inbox.path / "a.txt", tmp / "b.txt"
    target.write_bytes(first)
    incoming.write_bytes(second + (b" " * 100_000 if big else b""))
    old = time.time() - 60
    for path in (target, incoming):
        os.utime(path, (old, old))
    read: set[int] = set()
    real = folder.read_consumable

    def racing(path: Path, limit: int) -> tuple[bytearray, os.stat_result]:
        if not after_read and incoming.exists():
            os.rename(incoming, target)
        found = real(path, limit)
        read.add(found[1].st_ino)
        if after_read and incoming.exists():
            os.rename(incoming, target)
        return found

    folder.read_consumable = racing
    try:
        for _ in range(4):
            inbox.poll()
            clock.elapsed += 10
    finally:
        folder.read_consumable = real
    done = [p for p in (inbox.path / "done").iterdir()] if (inbox.path / "done").exists() else []
    assert all(p.stat().st_ino in read for p in done), "a file moved to done/ unread"
    assert not target.exists()  # what came into the inbox was taken, nothing left behind
