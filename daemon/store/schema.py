"""The schema as named migrations (sqlite-utils' Migrations), applied once per database."""

from __future__ import annotations

import json
import sqlite3

import sqlite_utils
from sqlite_utils.migrations import Migrations

from daemon.core.models import key_hash, paper_day, title_key
from daemon.language.latex import to_unicode

_to_json = json.JSONEncoder(ensure_ascii=False).encode

MIGRATIONS = Migrations("paperwatch")
_LEGACY_TABLE = "_migrations"  # the hand-written runner's record, before sqlite-utils'


def _script(db: sqlite_utils.Database, sql: str) -> None:
    """Run a migration's statements one after the other, in the caller's transaction.
    sqlite-utils' `executescript` does the same, but finds where a statement ends by
    testing it again after each character (quadratic: 25 ms of CPU to make a new
    database, most of what a store costs a test or a one-shot command); a statement can
    only end at a semicolon, so this tests there alone."""
    statement = ""
    for piece in sql.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            db.conn.execute(statement)
            statement = ""
    if statement[:-1].strip():
        raise sqlite3.OperationalError(f"incomplete statement in a migration: {statement!r}")


@MIGRATIONS(name="0001_papers_sightings_documents")
def _papers(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    CREATE TABLE papers (
        id INTEGER PRIMARY KEY,
        arxiv_id TEXT UNIQUE,
        title_key TEXT NOT NULL,
        title_hash INTEGER NOT NULL,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL DEFAULT '',
        authors TEXT NOT NULL DEFAULT '[]',
        url TEXT,
        hf_day TEXT,
        upvotes INTEGER,
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX papers_title_hash ON papers(title_hash);
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        location TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        kind TEXT,
        page_day TEXT,
        fetched_at TEXT NOT NULL,
        papers INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        gained INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX documents_hash ON documents(content_hash);
    -- where papers are seen: one row per (source, location, page day), e.g. one HF day
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        location TEXT NOT NULL,
        page_day TEXT NOT NULL,
        UNIQUE (source, location, page_day)
    );
    CREATE TABLE sightings (
        paper_id INTEGER NOT NULL REFERENCES papers(id),
        page_id INTEGER NOT NULL REFERENCES pages(id),
        document_id INTEGER NOT NULL REFERENCES documents(id),
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, page_id)
    ) WITHOUT ROWID;
    """,
    )


@MIGRATIONS(name="0002_matches_deliveries")
def _outbox(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- one row per (watchlist, paper), ever: a paper alerts a watchlist at most once
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        watchlist TEXT NOT NULL,
        paper_id INTEGER NOT NULL REFERENCES papers(id),
        matched TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (watchlist, paper_id)
    );
    -- the outbox: one row per (match, channel), written with the match
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        match_id INTEGER NOT NULL REFERENCES matches(id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (match_id, channel)
    );
    CREATE INDEX deliveries_due ON deliveries(status, due_at);
    """,
    )


@MIGRATIONS(name="0003_source_state")
def _source_state(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    CREATE TABLE source_state (
        name TEXT PRIMARY KEY,
        last_poll_at TEXT,
        last_success_at TEXT,
        last_result TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        retry_after TEXT,            -- backoff: no poll before this time
        next_run_at TEXT,
        failure_alerted INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_modified TEXT
    );
    """,
    )


@MIGRATIONS(name="0004_delivery_claims")
def _claims(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- a delivery being sent is claimed: one process wins the UPDATE, others skip the row
    ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
    ALTER TABLE deliveries ADD COLUMN claimed_until TEXT;
    -- every delivery pass looks for claims of killed processes: only claimed rows
    CREATE INDEX deliveries_claimed ON deliveries(claimed_by) WHERE claimed_by IS NOT NULL;
    """,
    )


@MIGRATIONS(name="0005_source_details_and_watch")
def _source_details(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- what a source's kind records for `status` (JSON), e.g. an inbox's last file and counts
    ALTER TABLE source_state ADD COLUMN details TEXT;
    -- a source's watcher that keeps failing: the daemon's health, shown by `status`
    ALTER TABLE source_state ADD COLUMN watch_error TEXT;
    ALTER TABLE source_state ADD COLUMN watch_failing_since TEXT;
    """,
    )


@MIGRATIONS(name="0006_undecided_matches")
def _undecided(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- a paper without its abstract that a watchlist matches only if the abstract allows:
    -- decided when the abstract arrives, or after undecided_after on what is known
    CREATE TABLE undecided (
        watchlist TEXT NOT NULL,
        paper_id INTEGER NOT NULL REFERENCES papers(id),
        since TEXT NOT NULL,
        PRIMARY KEY (watchlist, paper_id)
    );
    CREATE INDEX undecided_since ON undecided(since);
    ALTER TABLE matches ADD COLUMN title_only INTEGER NOT NULL DEFAULT 0;
    """,
    )


@MIGRATIONS(name="0007_arxiv_versions_and_title_lookups")
def _arxiv(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- arXiv's version of the stored text, and the day arXiv announced the paper
    ALTER TABLE papers ADD COLUMN version INTEGER;
    ALTER TABLE papers ADD COLUMN announced TEXT;
    -- papers without an id looked up by exact title in the arXiv API: once per title
    -- when it answers ('found' or 'none'), retried with backoff while it fails
    CREATE TABLE title_lookups (
        title_key TEXT PRIMARY KEY,
        status TEXT NOT NULL,          -- 'found' | 'none' | 'failed'
        arxiv_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        tried_at TEXT NOT NULL,
        next_try_at TEXT
    );
    """,
    )


@MIGRATIONS(name="0008_similar_watchlists")
def _similar(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- a match by similarity to examples: its score and why (percentile, threshold)
    ALTER TABLE matches ADD COLUMN score REAL;
    ALTER TABLE matches ADD COLUMN explain TEXT;
    -- per similar-watchlist: the papers up to this id have been scored (new papers only)
    CREATE TABLE similar_state (
        watchlist TEXT PRIMARY KEY,
        scored_up_to INTEGER NOT NULL
    );
    """,
    )


@MIGRATIONS(name="0009_search_index")
def _search_index(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- the words each stored paper holds as the query language reads them (word forms,
    -- spellings as written and American, joined words), per field: a search looks terms
    -- up here instead of re-reading every paper (daemon.matching.search). Contentless: only the
    -- index is kept, so a paper's old keys are deleted by giving them again.
    CREATE VIRTUAL TABLE paper_keys USING fts5(
        title, abstract, author, content='', detail=column, tokenize='ascii'
    );
    -- how far it is built: papers up to this id, analysed by this version of the keys
    CREATE TABLE paper_keys_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        indexed_up_to INTEGER NOT NULL
    );
    INSERT INTO paper_keys_state VALUES (1, 0, 0);
    -- indexed papers whose text changed since: their old text, to delete the old keys
    CREATE TABLE paper_keys_stale (
        paper_id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL,
        authors TEXT NOT NULL
    );
    CREATE TRIGGER paper_keys_changed AFTER UPDATE OF title, abstract, authors ON papers
    WHEN (old.title IS NOT new.title OR old.abstract IS NOT new.abstract
          OR old.authors IS NOT new.authors)
         AND old.id <= (SELECT indexed_up_to FROM paper_keys_state)
    BEGIN
        INSERT OR IGNORE INTO paper_keys_stale
        VALUES (old.id, old.title, old.abstract, old.authors);
    END;
    CREATE TRIGGER paper_keys_removed AFTER DELETE ON papers
    WHEN old.id <= (SELECT indexed_up_to FROM paper_keys_state)
    BEGIN
        INSERT OR IGNORE INTO paper_keys_stale
        VALUES (old.id, old.title, old.abstract, old.authors);
    END;
    """,
    )


@MIGRATIONS(name="0010_similar_starts_and_rescoring")
def _similar_rescoring(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- papers scored by a similar-watchlist with their title only, whose abstract came
    -- since: scored again (daemon.similar.job)
    CREATE TABLE similar_rescore (paper_id INTEGER PRIMARY KEY);
    CREATE TRIGGER similar_abstract_arrived AFTER UPDATE OF abstract ON papers
    WHEN COALESCE(old.abstract, '') = '' AND COALESCE(new.abstract, '') != ''
         AND old.id <= (SELECT max(scored_up_to) FROM similar_state)
    BEGIN
        INSERT OR IGNORE INTO similar_rescore VALUES (new.id);
    END;
    """,
    )


@MIGRATIONS(name="0011_similar_votes")
def _similar_votes(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- a reader's 👍 (1: one more example) or 👎 (-1: a negative) on a paper for a
    -- similar-watchlist; the watchlist's model is trained again with it
    CREATE TABLE similar_votes (
        watchlist TEXT NOT NULL,
        paper_id INTEGER NOT NULL REFERENCES papers (id),
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        voted_at TEXT NOT NULL,
        PRIMARY KEY (watchlist, paper_id)
    );
    """,
    )


@MIGRATIONS(name="0012_doi_identity")
def _doi_identity(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- a paper may be known by a DOI (preprint servers, journals), with or without an arXiv id;
    -- arXiv's own DOI is stored as the arXiv id (daemon.core.models.identifiers)
    ALTER TABLE papers ADD COLUMN doi TEXT;
    CREATE UNIQUE INDEX papers_doi ON papers (doi) WHERE doi IS NOT NULL;
    """,
    )


@MIGRATIONS(name="0013_paper_day")
def _paper_day(db: sqlite_utils.Database) -> None:
    """The paper's own day (daemon.core.models.paper_day), shown and filtered on, apart from
    first_seen; filled for the papers stored before."""
    _script(
        db,
        """
    ALTER TABLE papers ADD COLUMN day TEXT;
    CREATE INDEX papers_day ON papers (day);
    """,
    )
    rows = db.execute("SELECT id, announced, hf_day, arxiv_id FROM papers").fetchall()
    db.conn.executemany(
        "UPDATE papers SET day = ? WHERE id = ?",
        [(paper_day(a, h, x), pid) for pid, a, h, x in rows if paper_day(a, h, x)],
    )


@MIGRATIONS(name="0014_latex_as_unicode")
def _latex_as_unicode(db: sqlite_utils.Database) -> None:
    """Papers stored with LaTeX in their title, abstract or names get them in Unicode, as
    new ones are (daemon.language.latex); the search index re-reads them (its trigger)."""
    rows = db.execute(
        "SELECT id, title, abstract, authors FROM papers WHERE "
        + " OR ".join(
            f"instr({column}, {mark})"
            for column in ("title", "abstract", "authors")
            for mark in ("char(92)", "'$'")  # a backslash, a dollar sign
        )
    ).fetchall()
    changed = []
    for pid, title, abstract, authors in rows:
        names = [to_unicode(a) for a in json.loads(authors)]
        new = (to_unicode(title), to_unicode(abstract or ""), _to_json(names))
        if new != (title, abstract or "", authors):
            key = title_key(new[0])
            changed.append((*new, key, key_hash(key), pid))
    db.conn.executemany(
        "UPDATE papers SET title = ?, abstract = ?, authors = ?, title_key = ?, "
        "title_hash = ? WHERE id = ?",
        changed,
    )


@MIGRATIONS(name="0015_paper_marks")
def _paper_marks(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- what the reader did with a paper on the page: read it, saved it (for BibTeX, Zotero)
    CREATE TABLE paper_marks (
        paper_id INTEGER PRIMARY KEY REFERENCES papers (id),
        read_at TEXT,
        saved_at TEXT
    );
    CREATE INDEX paper_marks_saved ON paper_marks (saved_at) WHERE saved_at IS NOT NULL;
    """,
    )


@MIGRATIONS(name="0016_paper_ids_never_reused_skipped_papers")
def _paper_ids(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- the highest paper id ever given: a paper merged away leaves its id unused for good
    -- (PaperRepo.max_id), so no later paper takes an id the search index or a match knew
    CREATE TABLE paper_ids (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        high INTEGER NOT NULL
    );
    INSERT INTO paper_ids VALUES (1, (SELECT coalesce(max(id), 0) FROM papers));
    CREATE TRIGGER paper_ids_high AFTER INSERT ON papers
    WHEN new.id > (SELECT high FROM paper_ids)
    BEGIN
        UPDATE paper_ids SET high = new.id;
    END;
    -- a document stored without some of its papers: why each was left out (JSON list)
    ALTER TABLE documents ADD COLUMN skipped TEXT;
    """,
    )


@MIGRATIONS(name="0017_pubmed_identity")
def _pubmed_identity(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- PubMed's id joins the arXiv id and the DOI as an identifier (daemon.ingest.identity); the
    -- PubMed Central id is a link to the paper's free text
    ALTER TABLE papers ADD COLUMN pmid TEXT;
    ALTER TABLE papers ADD COLUMN pmcid TEXT;
    CREATE UNIQUE INDEX papers_pmid ON papers (pmid) WHERE pmid IS NOT NULL;
    -- the ORCID iDs a source gives for some authors: {"author as written": "iD"} (JSON),
    -- what author watchlists find people by (daemon.language.people)
    ALTER TABLE papers ADD COLUMN orcids TEXT;
    """,
    )


@MIGRATIONS(name="0018_citations")
def _citations(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- papers citing a paper a watchlist follows (`cites`), as Semantic Scholar lists them;
    -- `cited` is the followed paper's id as written in config ("doi:...", "arxiv:...")
    CREATE TABLE citations (
        cited TEXT NOT NULL,
        paper_id INTEGER NOT NULL REFERENCES papers (id),
        first_seen TEXT NOT NULL,
        PRIMARY KEY (cited, paper_id)
    );
    -- a followed paper whose citations were first read: those were there before (no
    -- alert), every one seen after is new
    CREATE TABLE cited_papers (
        cited TEXT PRIMARY KEY,
        known_since TEXT NOT NULL
    );
    """,
    )


@MIGRATIONS(name="0019_config_state")
def _config_state(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- the configuration the daemon runs on (its text, when it was accepted) and the last
    -- edit it rejected (cleared by the next accepted one): `status` and the page say so
    CREATE TABLE config_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        good_text TEXT,
        good_at TEXT,
        rejected_at TEXT,
        rejected_error TEXT
    );
    """,
    )


@MIGRATIONS(name="0020_paper_kind")
def _paper_kind(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
    -- what the page shows and filters on: the paper's categories (JSON list, arXiv's or
    -- a preprint server's) and how it was first announced (new, cross, replace...)
    ALTER TABLE papers ADD COLUMN categories TEXT;
    ALTER TABLE papers ADD COLUMN announce TEXT;
    """,
    )


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; the caller holds the write transaction. A database made
    before sqlite-utils' Migrations keeps its record: those names count as applied."""
    if db.table(_LEGACY_TABLE).exists():
        MIGRATIONS.ensure_migrations_table(db)
        legacy = db.execute(f"SELECT name, applied_at FROM {_LEGACY_TABLE}").fetchall()
        db.table(MIGRATIONS.migrations_table).insert_all(
            {"migration_set": MIGRATIONS.name, "name": name, "applied_at": at}
            for name, at in legacy
        )
        db.table(_LEGACY_TABLE).drop()
    pending = [m.name for m in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db)
    return pending


def up_to_date(db: sqlite_utils.Database) -> bool:
    """Nothing to do: no legacy record to convert and no migration pending (reads only)."""
    return not db.table(_LEGACY_TABLE).exists() and not MIGRATIONS.pending(db)


def applied(db: sqlite_utils.Database) -> list[str]:
    return [m.name for m in MIGRATIONS.applied(db)]
