"""Server-side portal sessions behind a signed, HttpOnly cookie.

The cookie holds only a random session id signed with itsdangerous (so a forged or tampered id
is refused before any lookup); everything else - the DAC session token, a participant's token,
the CSRF token, flash messages - stays on the server in a small SQLite table. A session idles
out after `IDLE_SECONDS`; logging in rotates the id (no session fixation).

SQLite, not process memory, because the hub may run several uvicorn workers.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "genomesh_portal"
IDLE_SECONDS = 8 * 3600
SECRET_FILE = "portal-secret.key"
SESSIONS_FILE = "portal-sessions.sqlite"


def load_or_create_secret(directory: Path) -> str:
    """The portal's cookie-signing secret, created (mode 0600) on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SECRET_FILE
    if not path.exists():
        secret = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(secret)
    return path.read_text().strip()


@dataclass
class Session:
    """One browser's session: a dict of JSON-able values plus bookkeeping."""

    id: str
    data: dict[str, Any] = field(default_factory=dict)
    new: bool = False
    dirty: bool = False
    rotated_from: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.dirty = True

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            self.dirty = True
        return self.data.pop(key, default)

    def rotate(self) -> None:
        """A fresh id for the same data (at login; the old id stops working)."""
        self.rotated_from = self.rotated_from or self.id
        self.id = secrets.token_urlsafe(32)
        self.data["csrf"] = secrets.token_urlsafe(32)
        self.dirty = True

    def clear(self) -> None:
        """Forget everything (logout): a new id and a new CSRF token."""
        self.data = {}
        self.rotate()

    @property
    def csrf_token(self) -> str:
        token = self.data.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            self.set("csrf", token)
        return str(token)


class SessionStore:
    """Sessions in SQLite (`path`), or in a private in-memory database when `path` is None."""

    def __init__(self, path: Path | None, secret: str, *, idle_seconds: int = IDLE_SECONDS):
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS portal_sessions "
            "(id TEXT PRIMARY KEY, data TEXT NOT NULL, seen REAL NOT NULL)"
        )
        self._lock = threading.Lock()
        self._signer = URLSafeSerializer(secret, salt="genomesh-portal-session")
        self.idle_seconds = idle_seconds

    def cookie_value(self, session: Session) -> str:
        return self._signer.dumps(session.id)

    def load(self, cookie: str | None) -> Session:
        """The session named by a signed cookie, or a new one (bad signature, unknown, idle)."""
        if cookie:
            try:
                session_id = str(self._signer.loads(cookie))
            except BadSignature:
                session_id = ""
            if session_id:
                with self._lock:
                    row = self._db.execute(
                        "SELECT data, seen FROM portal_sessions WHERE id = ?", (session_id,)
                    ).fetchone()
                if row is not None and time.time() - row[1] < self.idle_seconds:
                    session = Session(session_id, json.loads(row[0]))
                    self._touch(session)
                    return session
        return Session(secrets.token_urlsafe(32), new=True)

    def _touch(self, session: Session) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE portal_sessions SET seen = ? WHERE id = ?", (time.time(), session.id)
            )

    def save(self, session: Session) -> None:
        """Write a new or changed session; drop the id it rotated from and idle sessions."""
        now = time.time()
        with self._lock:
            if session.rotated_from:
                self._db.execute(
                    "DELETE FROM portal_sessions WHERE id = ?", (session.rotated_from,)
                )
                session.rotated_from = None
            self._db.execute(
                "INSERT OR REPLACE INTO portal_sessions (id, data, seen) VALUES (?, ?, ?)",
                (session.id, json.dumps(session.data), now),
            )
            if session.new:
                self._db.execute(
                    "DELETE FROM portal_sessions WHERE seen < ?", (now - self.idle_seconds,)
                )
        session.new = session.dirty = False

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["COOKIE_NAME", "Session", "SessionStore", "load_or_create_secret"]
