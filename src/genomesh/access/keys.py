"""Signing keys of a visa issuer: generation, persistence, rotation and the public JWKS.

A `KeyStore` holds ES256 (default) or RS256 keys, each with a `kid` (its RFC 7638
thumbprint). Exactly one key is *active* and signs new tokens. `rotate()` makes a fresh key
active; the old key stops signing but its public half stays in `jwks()` until the last token
it signed has expired (the store records the latest `exp` each key signed, rounded up to
the minute), so tokens in flight keep verifying while nodes pick up the new key. `remove()` drops a key at once (for
a compromised key: every token it signed stops verifying on the next JWKS refresh).

On disk (`KeyStore.open(folder)`):

    folder/                 mode 0700
      keys.json             metadata: active kid, per key alg / created / retired / max_exp
      <kid>.pem             PKCS#8 private key, mode 0600
      .keys.lock            flock'd around every change of keys.json

Several processes (hub workers, the CLI) may share one folder: every read-modify-write of
keys.json holds an exclusive `fcntl.flock` on `.keys.lock`, re-reads keys.json under it,
and replaces the file atomically (temporary file, fsync, `os.replace`), so concurrent
rotations and expiry records never lose one another. A signature rewrites keys.json only
when its `exp` passes the recorded (minute-rounded) latest expiry: about once a minute
under steady signing, not once per token.

`KeyStore.ephemeral()` keeps everything in memory (tests, demos).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from genomesh.core.errors import ConflictError, InvalidInputError, NotFoundError, StoreError

SigningAlg = Literal["ES256", "RS256"]
SIGNING_ALGORITHMS: tuple[SigningAlg, ...] = ("ES256", "RS256")
METADATA_NAME = "keys.json"
LOCK_NAME = ".keys.lock"
# `max_exp` is recorded rounded up to this many seconds, so a stream of tokens with a fixed
# lifetime rewrites keys.json once per EXP_GRANULARITY, not once per token. Rounding *up*
# keeps a retired key in the JWKS (and unpruned) at least until its last token expires.
EXP_GRANULARITY = 60
AnyKey = ECKey | RSAKey


@dataclass
class KeyRecord:
    """Metadata of one key (the private key itself lives in `<kid>.pem`)."""

    kid: str
    alg: SigningAlg
    created: int
    retired: int | None = None  # when it stopped signing
    max_exp: int = 0  # the latest `exp` of any token it signed


def _round_up_exp(exp: int) -> int:
    return -(-exp // EXP_GRANULARITY) * EXP_GRANULARITY


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns)


def generate_key(alg: SigningAlg = "ES256") -> AnyKey:
    """A fresh private key for `alg`, its `kid` set to the RFC 7638 thumbprint."""
    if alg == "ES256":
        key: AnyKey = ECKey.generate_key("P-256", private=True)
    elif alg == "RS256":
        key = RSAKey.generate_key(2048, private=True)
    else:
        raise InvalidInputError(f"unsupported signing algorithm {alg!r}; use ES256 or RS256")
    return _with_kid(key, key.thumbprint())


def _with_kid(key: AnyKey, kid: str) -> AnyKey:
    pem = key.as_pem(private=True)
    cls = ECKey if isinstance(key, ECKey) else RSAKey
    return cls.import_key(pem, {"kid": kid})


def public_jwk(key: AnyKey, alg: str) -> dict[str, Any]:
    """The public JWK of `key` with `kid`, `alg` and `use: sig`."""
    data: dict[str, Any] = dict(key.as_dict(private=False))
    data.update({"kid": key.kid, "alg": alg, "use": "sig"})
    return data


class KeyStore:
    """The issuer's keys; see the module docstring for rotation and persistence."""

    def __init__(self, *, folder: Path | None = None, rotate_after: float | None = None) -> None:
        self.folder = folder
        self.rotate_after = rotate_after  # seconds; the active key is replaced when older
        self._records: dict[str, KeyRecord] = {}
        self._keys: dict[str, AnyKey] = {}
        self._active: str | None = None
        self._lock = threading.RLock()
        self._mtime: tuple[int, int] | None = None  # keys.json (inode, mtime) last seen
        self._depth = 0  # nesting of `_transaction` in the thread holding `_lock`

    # -- construction -------------------------------------------------------------------
    @classmethod
    def ephemeral(cls, *, alg: SigningAlg = "ES256") -> KeyStore:
        """An in-memory store with one fresh active key."""
        store = cls()
        store.rotate(alg=alg)
        return store

    @classmethod
    def open(
        cls,
        folder: Path | str,
        *,
        alg: SigningAlg = "ES256",
        create: bool = True,
        rotate_after: float | None = None,
    ) -> KeyStore:
        """Load the store in `folder`; with `create`, make it (with one key) if it is empty.

        With `rotate_after` (seconds), signing or serving the JWKS first rotates an active
        key older than that, and prunes retired keys whose tokens have all expired.
        """
        folder = Path(folder)
        store = cls(folder=folder, rotate_after=rotate_after)
        meta = folder / METADATA_NAME
        if meta.is_file():
            store._load(meta)
        elif create:
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
            with store._transaction():  # another process may be creating it right now
                if store._active is None:
                    store._rotate(alg)
        else:
            raise NotFoundError(f"no key store at {folder} (missing {METADATA_NAME})")
        return store

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Hold the thread lock and (for a folder) the cross-process flock, re-reading
        keys.json on entry: the body's read-modify-write cannot lose another's write."""
        with self._lock:
            if self.folder is None or self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StoreError(
                    f"cannot lock the key store: {exc}", file=str(self.folder)
                ) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                meta = self.folder / METADATA_NAME
                if meta.is_file():
                    self._load(meta)  # always: a (inode, mtime) stamp can repeat within a tick
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
            finally:
                os.close(fd)  # releases the flock

    def _load(self, meta: Path) -> None:
        records: dict[str, KeyRecord] = {}
        keys: dict[str, AnyKey] = {}
        try:
            mtime = _stamp(meta)
            data = json.loads(meta.read_text())
            active = data["active"]
            for raw in data["keys"]:
                record = KeyRecord(**raw)
                records[record.kid] = record
                if record.kid in self._keys:  # a kid is the key's thumbprint: same key
                    keys[record.kid] = self._keys[record.kid]
                    continue
                pem = (meta.parent / f"{record.kid}.pem").read_bytes()
                cls = ECKey if record.alg == "ES256" else RSAKey
                keys[record.kid] = cls.import_key(pem, {"kid": record.kid})
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"key store unreadable: {exc}", file=str(meta)) from exc
        if active not in keys:
            raise StoreError(f"active key {active!r} is missing", file=str(meta))
        self._records, self._keys, self._active, self._mtime = records, keys, active, mtime

    def _refresh(self) -> None:
        """Re-read the folder if another KeyStore (or process) changed it, e.g. rotated."""
        if self.folder is None:
            return
        meta = self.folder / METADATA_NAME
        try:
            mtime = _stamp(meta)
        except OSError:
            return
        if mtime != self._mtime:
            self._load(meta)

    def _save(self) -> None:
        """Write keys.json atomically; callers hold `_transaction()`."""
        if self.folder is None:
            return
        assert self._depth, "keys.json is written only inside _transaction()"
        data = {"active": self._active, "keys": [asdict(r) for r in self._records.values()]}
        tmp = self.folder / f".{METADATA_NAME}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(json.dumps(data, indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / METADATA_NAME)
        self._mtime = _stamp(self.folder / METADATA_NAME)

    def _write_private(self, key: AnyKey) -> None:
        if self.folder is None:
            return
        path = self.folder / f"{key.kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.as_pem(private=True))
        os.chmod(path, 0o600)

    # -- use ----------------------------------------------------------------------------
    @property
    def active_kid(self) -> str:
        self._refresh()
        if self._active is None:
            raise NotFoundError("the key store has no active key")
        return self._active

    @property
    def active_alg(self) -> SigningAlg:
        return self._records[self.active_kid].alg

    def kids(self) -> list[str]:
        """Every kid held, oldest first."""
        self._refresh()
        return sorted(self._records, key=lambda kid: self._records[kid].created)

    def record(self, kid: str) -> KeyRecord:
        if kid not in self._records:
            raise NotFoundError(f"no key with kid {kid!r}")
        return self._records[kid]

    def rotate(self, *, alg: SigningAlg | None = None) -> str:
        """Make a fresh key active (same algorithm unless given); returns its kid."""
        with self._transaction():
            return self._rotate(alg)

    def _rotate(self, alg: SigningAlg | None) -> str:
        alg = alg or (self.active_alg if self._active else "ES256")
        key = generate_key(alg)
        kid = key.kid
        assert kid is not None  # generate_key sets it
        now = int(time.time())
        if self._active is not None:
            self._records[self._active].retired = now
        self._write_private(key)
        self._keys[kid] = key
        self._records[kid] = KeyRecord(kid=kid, alg=alg, created=now)
        self._active = kid
        self._save()
        return kid

    def remove(self, kid: str) -> None:
        """Drop a retired key now (e.g. compromised): its tokens stop verifying."""
        with self._transaction():
            if kid == self._active:
                raise ConflictError("cannot remove the active key; rotate first")
            self.record(kid)
            del self._records[kid], self._keys[kid]
            self._save()  # before the .pem goes, so no reader finds a kid without its key
            if self.folder is not None:
                (self.folder / f"{kid}.pem").unlink(missing_ok=True)

    def prune(self, *, now: int | None = None) -> list[str]:
        """Remove retired keys whose every signed token has expired; returns their kids."""
        now = int(time.time()) if now is None else now
        with self._transaction():
            gone = [
                kid
                for kid, rec in self._records.items()
                if kid != self._active and rec.retired is not None and rec.max_exp < now
            ]
            for kid in gone:
                self.remove(kid)
        return gone

    def sign(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        """Sign `claims` as a compact JWT with the active key (`alg`, `kid` set here)."""
        with self._lock:
            return self._sign(claims, header)

    def rotate_if_due(self, *, now: int | None = None) -> str | None:
        """Rotate (and prune) when the active key is older than `rotate_after`; new kid or None."""
        if not self.rotate_after:
            return None
        now = int(time.time()) if now is None else now
        with self._lock:
            if now - self._records[self.active_kid].created < self.rotate_after:
                return None
            with self._transaction():  # re-read: another worker may have just rotated
                if now - self._records[self.active_kid].created < self.rotate_after:
                    return None
                kid = self._rotate(None)
                self.prune(now=now)
                return kid

    def _sign(self, claims: dict[str, Any], header: dict[str, Any] | None) -> str:
        self.rotate_if_due()
        kid = self.active_kid
        record = self._records[kid]
        full_header = {**(header or {}), "alg": record.alg, "kid": kid}
        token = jwt.encode(full_header, claims, self._keys[kid], algorithms=[record.alg])
        exp = claims.get("exp")
        if isinstance(exp, int) and exp > record.max_exp:
            self._record_exp(kid, exp)
        return token

    def _record_exp(self, kid: str, exp: int) -> None:
        """Raise `kid`'s recorded latest expiry to cover `exp` (rounded up to the minute)."""
        with self._transaction():
            record = self._records.get(kid)
            if record is None:  # removed meanwhile (compromised): nothing to keep published
                return
            if exp > record.max_exp:
                record.max_exp = _round_up_exp(exp)
                self._save()

    def stamp(self) -> tuple[Any, ...]:
        """Changes whenever the key set does (rotation here or by another process, a removal):
        what a cache of `jwks()` is keyed on, at the cost of one stat of keys.json."""
        self._refresh()
        self.rotate_if_due()
        return (self._mtime, self._active, tuple(self._records))

    def jwks(self, *, now: int | None = None) -> dict[str, Any]:
        """The public JWK Set: the active key plus retired keys with unexpired tokens."""
        self._refresh()
        self.rotate_if_due()
        now = int(time.time()) if now is None else now
        keys = [
            public_jwk(self._keys[kid], rec.alg)
            for kid, rec in sorted(
                self._records.items(), key=lambda kv: (kv[0] != self._active, -kv[1].created)
            )
            if kid == self._active or rec.max_exp >= now
        ]
        return {"keys": keys}

    def private_key(self, kid: str) -> AnyKey:
        """The private key (tests use it to build deliberately bad tokens)."""
        self.record(kid)
        return self._keys[kid]


__all__ = [
    "EXP_GRANULARITY",
    "SIGNING_ALGORITHMS",
    "KeyRecord",
    "KeyStore",
    "SigningAlg",
    "generate_key",
    "public_jwk",
]
