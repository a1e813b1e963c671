"""Real Redis and PostgreSQL servers for tests: on free ports of 127.0.0.1, in temp dirs.

Each starts as a child process, answers before the helper yields its URL, keeps nothing once
stopped (no persistence, its folder is the test's), and is stopped by its pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import programs

_START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"server did not listen on {port} within {_START_TIMEOUT} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A redis-server on a free port, no RDB or AOF; yields ``redis://127.0.0.1:PORT/0``."""
    binary = programs.redis_server()
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "redis.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    args += ["--save", "", "--appendonly", "no", "--logfile", str(log), "--daemonize", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@contextmanager
def _cluster_home(folder: Path) -> Iterator[tuple[Path, list[str]]]:
    """Where the cluster lives, and the prefix that runs its programs.

    PostgreSQL refuses to run as root: then it runs as nobody, in a folder of its own directly
    under /tmp, removed afterwards. Not in pytest's temp folder: every pytest session starting
    makes that tree 0700 again, and other sessions run beside this one.
    """
    if os.geteuid() != 0:
        yield folder, []
        return
    home = Path(tempfile.mkdtemp(prefix="importer-postgres-"))
    try:
        shutil.chown(home, "nobody", "nogroup")
        yield home, ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def postgres_server(folder: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port; yields a ``postgresql://`` URL.

    Trust authentication on 127.0.0.1 only, fsync off (nothing here needs to survive a crash),
    the unix socket in the cluster's own folder, the log in ``folder``.
    """
    initdb = programs.postgres_bin("initdb")
    postgres = programs.postgres_bin("postgres")
    folder.mkdir(parents=True, exist_ok=True)
    with _cluster_home(folder) as (home, as_user):
        data = home / "data"
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-U", "importer", "--auth=trust", "-E", "UTF8"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = free_port()
        log = folder / "postgres.log"
        where = ["-p", str(port), "-h", "127.0.0.1", "-k", str(home)]
        settings = ["-c", "fsync=off", "-c", "full_page_writes=off"]
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [*as_user, postgres, "-D", str(data), *where, *settings],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_port(port, process, log)
            _wait_for_ready(port)
            yield f"postgresql://importer@127.0.0.1:{port}/postgres"
        finally:
            _stop(process)


def _wait_for_ready(port: int) -> None:
    """The port opens before the server takes queries; ask until it answers."""
    import psycopg

    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            with psycopg.connect(f"postgresql://importer@127.0.0.1:{port}/postgres") as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def fresh_database(url: str) -> str:
    """A new, empty database on the server at ``url``; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}"
