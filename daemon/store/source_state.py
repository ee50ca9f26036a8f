"""SQL of source_state: each source's last poll, failures, backoff and HTTP validators."""

from __future__ import annotations

from typing import Any

import sqlite_utils

_TABLE = "source_state"


class SourceStateRepo:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def get(self, name: str) -> dict[str, Any]:
        rows = list(self.db.table(_TABLE).rows_where("name = ?", [name]))
        return rows[0] if rows else {"name": name, "consecutive_failures": 0, "failure_alerted": 0}

    def save(self, name: str, **values: Any) -> None:
        self.db.table(_TABLE).upsert({"name": name, **values}, pk="name")
