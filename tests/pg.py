"""A throw-away PostgreSQL server for the tests, and a fresh database on it for each test.

Debian's server binaries (``initdb``, ``pg_ctl``: on PATH or in /usr/lib/postgresql/*/bin)
make a cluster in a temporary folder that listens on a free loopback port only, with trust
authentication, except for one user that must give a password (to test a wrong one). The
server is stopped and its folder removed at the end of the session, whatever happened.
PostgreSQL refuses to run as root, so as root (CI) the server runs as ``nobody``.

Tests that use ``pg_url`` skip, saying why, when the binaries or psycopg are missing.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD_USER, PASSWORD = "leti_pw", "right-password"


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then the newest Debian version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    dirs = glob.glob("/usr/lib/postgresql/*/bin")
    dirs.sort(key=lambda d: [int(x) for x in re.findall(r"\d+", d)], reverse=True)
    for d in dirs:
        if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            return Path(d)
    return None


def unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]' installs it)"
    if server_binaries() is None:
        return (
            "PostgreSQL server binaries (initdb, pg_ctl) are not on PATH nor in "
            "/usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: ourselves, or as root an unprivileged user (nobody, or one made
    for it where there is no nobody)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "leti-pg"], check=True)
        return pwd.getpwnam("leti-pg")


@dataclass
class Server:
    bindir: Path
    root: Path
    port: int
    user: pwd.struct_passwd | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        """A server command, as the server's user."""
        kw: dict = {}
        if self.user is not None:
            kw = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        return subprocess.run(
            [str(self.bindir / cmd[0]), *cmd[1:]],
            capture_output=True, text=True, cwd=self.root, timeout=120, **kw,
        )  # fmt: skip

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as c:
            c.execute(sql)

    def start(self) -> None:
        r = self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                     "--no-locale", "-E", "UTF8", "--no-sync")  # fmt: skip
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stderr[-2000:]}")
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        for _ in range(3):  # another process may take the free port before the server does
            self.port = _free_port()
            options = (
                f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            log = self.root / "server.log"
            r = self.run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o", options,
                         "-w", "-t", "60", "start")  # fmt: skip
            if r.returncode == 0:
                break
        else:
            tail = log.read_text()[-2000:] if log.exists() else r.stderr
            raise RuntimeError(f"pg_ctl start failed: {tail}")
        self.admin(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


_server: Server | None = None
_users = 0


def _stop_at_exit() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


atexit.register(_stop_at_exit)  # should the session's teardown never run


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (one for every test module that imports this)."""
    global _server, _users
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    if _server is None:
        user = _server_user()
        root = Path(tempfile.mkdtemp(prefix="leti-pg-"))
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        server = Server(server_binaries(), root, 0, user)
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        _server = server
    _users += 1
    try:
        yield _server
    finally:
        _users -= 1
        if _users == 0:
            _stop_at_exit()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_server.admin(f"CREATE DATABASE {name}")
    try:
        yield pg_server.url(name)
    finally:
        pg_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
