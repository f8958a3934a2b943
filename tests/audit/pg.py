"""A throwaway PostgreSQL 15 server for the state contract tests (initdb + pg_ctl, loopback)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> list[str]:
    """Prefix to run server binaries as a non-root user (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server in a temp dir; yields the admin URL `postgresql+psycopg://...`."""
    root = Path(tempfile.mkdtemp(prefix="genomesh-pg-", dir="/tmp"))
    data, log = root / "data", root / "server.log"
    prefix = _as_user()
    if prefix:
        shutil.chown(root, user="postgres")
    port = _free_port()
    try:
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                opts,
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def require_postgres() -> None:
    """Skip (with the reason) when the PostgreSQL 15 server binaries are not installed."""
    if not (PG_BIN / "initdb").is_file():
        pytest.skip(
            f"PostgreSQL 15 binaries not installed in {PG_BIN} (make sysdeps installs them)"
        )


def create_database(admin_url: str, name: str) -> str:
    """(Re)create database `name` on the server behind `admin_url`; return its URL."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A throwaway server with one fresh database `name`; yields that database's URL."""
    require_postgres()
    with postgres_server() as admin_url:
        yield create_database(admin_url, name)
