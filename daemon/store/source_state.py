"""SQL of source_state: each source's last poll, failures, backoff and HTTP validators."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from daemon.store.rows import SourceState

_TABLE = "source_state"


class SourceStateRepo:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def get(self, name: str) -> SourceState:
        rows = list(self.db.table(_TABLE).rows_where("name = ?", [name]))
        return SourceState.of(rows[0]) if rows else SourceState(name)

    def save(self, name: str, **values: Any) -> None:
        """Set these columns (`details` a dict, stored as JSON)."""
        if isinstance(values.get("details"), dict):
            values["details"] = json.dumps(values["details"])
        self.db.table(_TABLE).upsert({"name": name, **values}, pk="name")
