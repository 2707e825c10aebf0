"""The app as a real Daphne process on a loopback port, for browsers to drive.

Used by the browser tests' fixture and by `scripts/screenshot.py`. The process
gets its own database (a fresh PostgreSQL database when DATABASE_URL points at
PostgreSQL, otherwise a temporary SQLite file), so nothing leaks between runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The entrypoint's command: Daphne's command line, on uvloop (chatsite/serve.py),
# "python" being the venv's. The Dockerfile's CMD and compose.yaml's `command`
# are checked against it by tests/production/test_deploy_files.py.
SERVER_COMMAND = [
    "python",
    *("-m", "chatsite.serve"),
    *("-b", "{host}", "-p", "{port}", "chatsite.asgi:application"),
]


def server_command(host: str, port: int) -> list[str]:
    """The entrypoint as the tests run it: this interpreter, this port."""
    command = [a.format(host=host, port=port) for a in SERVER_COMMAND]
    return [sys.executable, *command[1:]]


REPO = Path(__file__).resolve().parents[2]
BROWSER_DATABASE = "qtc_browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERS = {"alice": "alice-pass-123", "bob": "bob-pass-123"}


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    workdir: Path
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def log(self) -> str:
        return (self.workdir / "daphne.log").read_text(errors="replace")

    def manage(self, *args: str) -> str:
        return _manage(self.env, *args)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for cleanup in reversed(self._cleanups):
            cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def _postgres_database(url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database beside the one `url` names; returns its URL and a dropper.

    The browser server runs in another process, so it cannot share pytest-django's
    test database; a separate one is dropped first in case a run was killed.
    """
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    # Named after the database `url` names, so runs against different
    # databases (parallel checkouts) do not drop each other's.
    name = f"{parts.path.strip('/') or 'postgres'}_{BROWSER_DATABASE}"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    run(drop)
    run(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(drop)


def _wait_for_port(
    port: int, process: subprocess.Popen[bytes], *, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"daphne did not listen on port {port} within {timeout} s")


def start_live_server(
    *, upstream_url: str, extra_env: dict[str, str] | None = None
) -> LiveServer:
    """Migrate a fresh database, create alice and bob, start Daphne on a free port."""
    workdir = Path(tempfile.mkdtemp(prefix="qtc-browser-"))
    cleanups: list[Callable[[], None]] = []
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")):
        database_url, drop = _postgres_database(database_url)
        cleanups.append(drop)
    else:
        database_url = f"sqlite:///{workdir / 'db.sqlite3'}"
    env.update(
        DATABASE_URL=database_url,
        DASHSCOPE_BASE_URL=upstream_url,
        DASHSCOPE_API_KEY="sk-simulator",
        DEBUG="true",
        CHAT_FRAME_INTERVAL_MS="30",
        PYTHONUNBUFFERED="1",
        MEDIA_ROOT=str(workdir / "media"),
        **(extra_env or {}),
    )
    _manage(env, "migrate", "--noinput")
    create_users = "; ".join(
        [
            "from django.contrib.auth import get_user_model",
            "User = get_user_model()",
            *(
                f"User.objects.create_user({name!r}, password={password!r})"
                for name, password in USERS.items()
            ),
        ]
    )
    _manage(env, "shell", "-c", create_users)

    port = _free_port()
    with (workdir / "daphne.log").open("wb") as log:
        process = subprocess.Popen(
            server_command("127.0.0.1", port),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", env, process, workdir, cleanups)
    try:
        _wait_for_port(port, process, timeout=30)
    except RuntimeError as exc:
        log_text = server.log()
        server.stop()
        raise RuntimeError(f"{exc}\n{log_text}") from None
    return server


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def login(page, username: str, password: str | None = None) -> None:
    """Log in through the form and wait for the home page."""
    page.goto("/accounts/login/")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password or USERS[username])
    page.click('[data-testid="login"]')
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
