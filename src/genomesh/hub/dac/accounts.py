"""Local accounts: argon2 password hashes, opaque bearer sessions, roles and DAC membership.

Passwords are hashed with argon2id (argon2-cffi); weak or default passwords are refused.
A login returns a random opaque token; only its SHA-256 is stored, with an expiry, so a
stolen database does not yield usable sessions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from genomesh.core.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from genomesh.hub.dac.db import Clock
from genomesh.hub.dac.models import Account, Dataset, Membership, SessionToken

MIN_PASSWORD_LENGTH = 12
# Defaults and the most common passwords: refused whatever their length.
_WEAK = {
    "password", "password1", "password123", "passw0rd", "123456789012", "changeme", "change-me",
    "admin", "administrator", "admin123", "root", "secret", "letmein", "qwerty", "qwertyuiop",
    "genomesh", "genomesh-admin", "default", "welcome", "iloveyou", "111111111111",
    "000000000000", "abcdefghijkl", "correcthorse",
}  # fmt: skip
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
DEFAULT_HASHER = PasswordHasher()  # argon2id, argon2-cffi's default (RFC 9106) parameters


def token_digest(token: str) -> str:
    """SHA-256 hex of a bearer token or node secret (what the database stores)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str, *, username: str | None = None) -> None:
    """Refuse short, default, common or username-derived passwords (InvalidInputError)."""
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            f"password too short: at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    stripped = lowered.rstrip("0123456789!?.")
    if lowered in _WEAK or stripped in _WEAK or any(w in lowered for w in ("password", "changeme")):
        raise InvalidInputError("password is a default or common password", field="password")
    if username and username.lower() in lowered:
        raise InvalidInputError("password must not contain the username", field="password")
    if len(set(password)) < 5:
        raise InvalidInputError("password has too few distinct characters", field="password")


def hash_password(password: str, *, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """The argon2id hash of a password."""
    return hasher.hash(password)


def verify_password(
    password_hash: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """True when `password` matches `password_hash`."""
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_username(username: str) -> str:
    """The username, validated: lowercase letters, digits, `.`, `_`, `-`; 2–63 characters."""
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInputError(
            "username must be 2-63 lowercase letters, digits, '.', '_' or '-'", field="username"
        )
    return username


def create_account(
    session: Session,
    username: str,
    password: str,
    *,
    clock: Clock,
    role: str = "researcher",
    full_name: str = "",
    email: str = "",
    institution: str = "",
    affiliation_role: str = "member",
    country: str | None = None,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> Account:
    """A new account with a strong password; ConflictError if the username is taken."""
    check_username(username)
    check_password_strength(password, username=username)
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidInputError("country must be an ISO 3166-1 alpha-2 code", field="country")
    if session.scalar(select(Account).where(Account.username == username)) is not None:
        raise ConflictError(f"username {username!r} is already registered", field="username")
    account = Account(
        username=username,
        subject=f"urn:genomesh:user:{uuid.uuid4()}",
        password_hash=hash_password(password, hasher=hasher),
        role=role,
        full_name=full_name,
        email=email,
        institution=institution,
        affiliation_role=affiliation_role,
        country=country,
        created_at=clock(),
    )
    session.add(account)
    session.flush()
    return account


def login(
    session: Session,
    username: str,
    password: str,
    *,
    clock: Clock,
    ttl: timedelta,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> tuple[str, SessionToken]:
    """Check the password and open a session; returns (token, session row).

    A hash made with older argon2 parameters is replaced on a successful login.
    """
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        hasher.hash(password)  # same work as a real check: no timing hint that the name is free
        raise AuthenticationError("wrong username or password")
    if account.disabled or not verify_password(account.password_hash, password, hasher=hasher):
        raise AuthenticationError("wrong username or password")
    if hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(password)
    token = secrets.token_urlsafe(32)
    now = clock()
    row = SessionToken(
        token_hash=token_digest(token), account_id=account.id, created_at=now, expires_at=now + ttl
    )
    session.add(row)
    session.flush()
    return token, row


def change_password(
    session: Session,
    account: Account,
    current: str,
    new: str,
    *,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> None:
    """Replace the password (the current one must be right; the new one strong) and end
    every session of the account."""
    if not verify_password(account.password_hash, current, hasher=hasher):
        raise AuthenticationError("the current password is wrong")
    if current == new:
        raise InvalidInputError("the new password must differ from the current one", field="new")
    check_password_strength(new, username=account.username)
    account.password_hash = hasher.hash(new)
    for row in session.scalars(select(SessionToken).where(SessionToken.account_id == account.id)):
        session.delete(row)
    session.flush()


def logout(session: Session, token: str) -> None:
    """End the session of `token` (no error if it is unknown)."""
    row = session.scalar(select(SessionToken).where(SessionToken.token_hash == token_digest(token)))
    if row is not None:
        session.delete(row)


def authenticate(session: Session, token: str, *, clock: Clock) -> Account:
    """The account of a valid, unexpired session token (AuthenticationError otherwise)."""
    row = session.scalar(select(SessionToken).where(SessionToken.token_hash == token_digest(token)))
    if row is None:
        raise AuthenticationError("unknown or ended session token; log in again")
    if row.expires_at <= clock():
        session.delete(row)
        session.commit()  # the clean-up stays although the request fails
        raise AuthenticationError("session expired; log in again")
    if row.account.disabled:
        raise AuthenticationError("account disabled")
    return row.account


def get_account(session: Session, username: str) -> Account:
    """The account called `username` (NotFoundError otherwise)."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise NotFoundError(f"no account {username!r}", field="username")
    return account


def require_admin(account: Account) -> None:
    """AccessDeniedError unless `account` is a hub admin."""
    if account.role != "admin":
        raise AccessDeniedError("only a hub admin may do this")


def add_member(
    session: Session, account: Account, *, dataset_url: str | None, committee: str | None
) -> Membership:
    """Make `account` a DAC member of one dataset or of a committee (exactly one of the two)."""
    if (dataset_url is None) == (committee is None):
        raise InvalidInputError("give exactly one of dataset or committee", field="dataset")
    existing = session.scalar(
        select(Membership).where(
            Membership.account_id == account.id,
            Membership.dataset_url.is_(None)
            if dataset_url is None
            else Membership.dataset_url == dataset_url,
            Membership.committee.is_(None)
            if committee is None
            else Membership.committee == committee,
        )
    )
    if existing is not None:
        return existing
    membership = Membership(account_id=account.id, dataset_url=dataset_url, committee=committee)
    session.add(membership)
    session.flush()
    return membership


def is_member(session: Session, account: Account, dataset: Dataset) -> bool:
    """True when `account` sits on the DAC of `dataset` (directly or via its committee)."""
    conditions = [Membership.dataset_url == dataset.url]
    if dataset.committee:
        conditions.append(Membership.committee == dataset.committee)
    found = session.scalar(
        select(Membership.id).where(Membership.account_id == account.id, or_(*conditions))
    )
    return found is not None


def memberships(session: Session, account: Account) -> list[Membership]:
    """Every DAC membership of `account`."""
    return list(session.scalars(select(Membership).where(Membership.account_id == account.id)))


__all__ = [
    "DEFAULT_HASHER",
    "MIN_PASSWORD_LENGTH",
    "add_member",
    "authenticate",
    "change_password",
    "check_password_strength",
    "check_username",
    "create_account",
    "get_account",
    "hash_password",
    "is_member",
    "login",
    "logout",
    "memberships",
    "require_admin",
    "token_digest",
    "verify_password",
]
