"""SQL of source_state: each source's last poll, failures, backoff and HTTP validators."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import sqlite_utils

from daemon.store.rows import SourceState

_TABLE = "source_state"


class ConfigStateRepo:
    """config_state: the configuration the daemon runs on, and the last edit it refused."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def accepted(self, text: str, at: str) -> None:
        self.db.execute(
            "INSERT INTO config_state (id, good_text, good_at) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET good_text = excluded.good_text, "
            "good_at = excluded.good_at, rejected_at = NULL, rejected_error = NULL",
            [text, at],
        )

    def rejected(self, error: str, at: str) -> None:
        self.db.execute(
            "INSERT INTO config_state (id, rejected_at, rejected_error) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET rejected_at = excluded.rejected_at, "
            "rejected_error = excluded.rejected_error",
            [at, error],
        )

    def get(self) -> dict[str, Any]:
        try:
            rows = list(self.db.execute("SELECT * FROM config_state WHERE id = 1").fetchall())
        except sqlite3.OperationalError:  # a reader of a database not migrated yet
            rows = []
        if not rows:
            return {"good_text": None, "good_at": None, "rejected_at": None, "rejected_error": None}
        good_text, good_at, rejected_at, error = rows[0][1:]
        return {
            "good_text": good_text,
            "good_at": good_at,
            "rejected_at": rejected_at,
            "rejected_error": error,
        }


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
