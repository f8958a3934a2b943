"""What a node's matchmaker holds: enrolled patients and the peers allowed to query it.

Kept in the node folder, `matchmaker/patients.json` and `matchmaker/peers.json`, each
rewritten atomically (temporary file + rename), so a failed enrolment leaves the previous
file intact. A patient is enrolled by the custodian for one individual of one dataset, with
an explicit statement that the participant consented to matchmaking and to being contacted
(`consent: "matchmaking+contact"`): there is no DUO term for that, so enrolment is the act
that records it. Withdrawal from the dataset removes the patient from every later match (the
gate's guard applies the withdrawal; see `genomesh.gate.guard`).

Peer tokens (`X-Auth-Token`, one per peer) are stored as SHA-256 hashes only; the token is
shown once, when the peer is added.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError
from genomesh.matchmaker.schema import MatchRequestError, validate_patient

CONSENT_STATEMENT = "matchmaking+contact"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@dataclass(frozen=True)
class EnrolledPatient:
    """One patient available for matching, linked to the individual it describes."""

    patient: dict[str, Any]
    dataset_id: str
    individual_id: str
    test: bool
    enrolled_at: str

    @property
    def id(self) -> str:
        return str(self.patient["id"])


def _folder(node_dir: Path | str) -> Path:
    return Path(node_dir) / "matchmaker"


def _write_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path, key: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data[key])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"unreadable matchmaker file: {exc}", file=str(path)) from exc


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MatchmakerRegistry:
    """The node's enrolled patients and peers, re-read when the files change."""

    def __init__(self, node_dir: Path | str) -> None:
        self.folder = _folder(node_dir)
        self._lock = threading.RLock()  # enrol() re-reads the patients while holding it
        self._stamp: tuple[Any, ...] | None = None
        self._patients: list[EnrolledPatient] = []
        self._peers: list[dict[str, Any]] = []

    @property
    def patients_file(self) -> Path:
        return self.folder / "patients.json"

    @property
    def peers_file(self) -> Path:
        return self.folder / "peers.json"

    def _stamps(self) -> tuple[Any, ...]:
        out: list[tuple[int, int, int] | None] = []
        for path in (self.patients_file, self.peers_file):
            try:
                st = path.stat()
                out.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def _refresh(self) -> None:
        stamp = self._stamps()
        if stamp == self._stamp:
            return
        with self._lock:
            rows = _read(self.patients_file, "patients")
            self._patients = [
                EnrolledPatient(
                    r["patient"],
                    r["dataset"],
                    r["individual"],
                    bool(r.get("test")),
                    r["enrolled_at"],
                )
                for r in rows
            ]
            self._peers = _read(self.peers_file, "peers")
            self._stamp = stamp

    # -------------------------------------------------------------- patients
    def patients(self) -> list[EnrolledPatient]:
        self._refresh()
        return list(self._patients)

    def enrol(
        self,
        patients: list[Any],
        *,
        dataset_id: str,
        known_individuals: frozenset[str],
        individual_of: dict[str, str] | None = None,
        consent: str,
        test: bool = False,
        source: str = "",
    ) -> list[EnrolledPatient]:
        """Add (or replace, by patient id) patients of one dataset; all or nothing. Patients
        flagged `test: true` (as the MME benchmark is), or all with `test=True`, are test data:
        they answer test queries only."""
        if consent != CONSENT_STATEMENT:
            raise InvalidInputError(
                f"enrolment needs the participants' consent to matchmaking and contact: "
                f"state it as consent={CONSENT_STATEMENT!r}",
                field="consent",
            )
        new: list[EnrolledPatient] = []
        now = datetime.now(UTC).isoformat(timespec="seconds")
        seen: set[str] = set()
        for n, patient in enumerate(patients):
            where = f"patients[{n}]"
            try:
                validate_patient(patient, where=where)
            except MatchRequestError as exc:
                raise InvalidInputError(exc.message, file=source or None, field=exc.field) from None
            pid = str(patient["id"])
            if pid in seen:
                raise InvalidInputError(
                    f"patient id {pid!r} appears twice", file=source or None, field=f"{where}.id"
                )
            seen.add(pid)
            individual = (individual_of or {}).get(pid, pid)
            if individual not in known_individuals:
                raise NotFoundError(
                    f"patient {pid!r}: no individual {individual!r} in dataset {dataset_id!r} "
                    "(enrol patients of individuals the node holds)",
                    file=source or None,
                    field=f"{where}.id",
                )
            is_test = test or patient.get("test") is True  # MME test data marks itself
            new.append(EnrolledPatient(dict(patient), dataset_id, individual, is_test, now))
        with self._lock:
            current = [p for p in self.patients() if p.id not in seen]
            rows = [
                {
                    "patient": p.patient,
                    "dataset": p.dataset_id,
                    "individual": p.individual_id,
                    "test": p.test,
                    "enrolled_at": p.enrolled_at,
                    "consent": CONSENT_STATEMENT,
                }
                for p in [*current, *new]
            ]
            _write_atomic(self.patients_file, {"patients": rows})
        self._stamp = None
        return new

    def remove(self, patient_id: str) -> None:
        current = self.patients()
        if not any(p.id == patient_id for p in current):
            raise NotFoundError(f"no enrolled patient {patient_id!r}", field="patient")
        rows = _read(self.patients_file, "patients")
        _write_atomic(
            self.patients_file,
            {"patients": [r for r in rows if str(r["patient"]["id"]) != patient_id]},
        )
        self._stamp = None

    # -------------------------------------------------------------- peers
    def add_peer(self, name: str) -> str:
        """Register a peer; returns its token (shown once, stored hashed)."""
        if not name or not set(name) <= _NAME_CHARS or len(name) > 64:
            raise InvalidInputError(
                "peer name: 1-64 letters, digits, '.', '_' or '-'", field="name"
            )
        self._refresh()
        if any(p["name"] == name for p in self._peers):
            raise ConflictError(f"peer {name!r} exists; remove it first to issue a new token")
        token = "mme_" + secrets.token_urlsafe(32)
        rows = [
            *self._peers,
            {
                "name": name,
                "token_sha256": token_hash(token),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        ]
        _write_atomic(self.peers_file, {"peers": rows})
        self._stamp = None
        return token

    def remove_peer(self, name: str) -> None:
        self._refresh()
        if not any(p["name"] == name for p in self._peers):
            raise NotFoundError(f"no matchmaker peer {name!r}", field="name")
        _write_atomic(self.peers_file, {"peers": [p for p in self._peers if p["name"] != name]})
        self._stamp = None

    def peers(self) -> list[str]:
        self._refresh()
        return [p["name"] for p in self._peers]

    def peer_for_token(self, token: str) -> str | None:
        """The peer a token belongs to (constant-time comparison of the hashes)."""
        self._refresh()
        digest = token_hash(token)
        found = None
        for peer in self._peers:
            if hmac.compare_digest(peer["token_sha256"], digest):
                found = peer["name"]
        return found


__all__ = ["CONSENT_STATEMENT", "EnrolledPatient", "MatchmakerRegistry", "token_hash"]
