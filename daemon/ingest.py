"""The ingest path shared by the CLI, the folder source and the fetchers: parse, then store."""

from __future__ import annotations

import hashlib
from datetime import datetime

from daemon.errors import ParseError
from daemon.parse import parse_document
from daemon.store import ChangeHook, IngestResult, Store


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ingest_bytes(
    store: Store,
    data: bytes,
    *,
    name: str,
    source: str,
    location: str,
    ref_time: datetime,
    now: datetime,
    on_change: ChangeHook | None = None,
) -> IngestResult:
    """Parse and store one document. A ParseError is recorded and re-raised; nothing else
    is written for a document that fails."""
    digest_hash = content_hash(data)
    earlier = store.ingested_document(digest_hash)
    if earlier is not None:
        return earlier
    try:
        digest = parse_document(data, name, ref_time)
    except ParseError as exc:
        store.record_failure(source, location, digest_hash, str(exc), now)
        raise
    return store.ingest(
        digest,
        source=source,
        location=location,
        content_hash=digest_hash,
        now=now,
        on_change=on_change,
    )
