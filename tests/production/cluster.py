"""Several real Daphne processes sharing one PostgreSQL database and one Redis.

Used by the multi-process tests and by the benchmarks in `bench/`. Each process
is started exactly as the Dockerfile's entrypoint starts it (`python -m
chatsite.serve -b ... -p ... chatsite.asgi:application`: Daphne on uvloop),
with the environment the compose file gives it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from tests.browser.liveserver import (
    REPO,
    USERS,
    _free_port,
    _manage,
    _wait_for_port,
    server_command,
)


def production_urls() -> tuple[str, str] | None:
    """(DATABASE_URL, REDIS_URL) when both point at real servers, else None."""
    database = os.environ.get("DATABASE_URL", "")
    redis = os.environ.get("REDIS_URL", "")
    if database.startswith(("postgres://", "postgresql://")) and redis:
        return database, redis
    return None


needs_production = pytest.mark.skipif(
    production_urls() is None,
    reason="needs PostgreSQL and Redis (DATABASE_URL=postgres://..., REDIS_URL): "
    "separate processes cannot share SQLite's in-memory test database or the "
    "in-memory layer; runs in the production pass of `make test`",
)


@contextmanager
def cluster_running(
    upstream_url: str,
    names: Iterable[str],
    *,
    suffix: str = "cluster",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """A cluster on the production URLs with a process started per name."""
    urls = production_urls()
    assert urls is not None
    cluster = start_cluster(
        upstream_url=upstream_url,
        database_url=urls[0],
        redis_url=urls[1],
        suffix=suffix,
        extra_env=extra_env,
    )
    try:
        for name in names:
            cluster.start(name)
        yield cluster
    finally:
        cluster.stop()


def fresh_database(url: str, suffix: str) -> tuple[str, Callable[[], None]]:
    """A fresh database named after the one `url` names (so parallel runs on
    separate databases do not collide); returns its URL and a dropper."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'qtc'}_{suffix}"
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))

    def run(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql)

    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    run(drop)
    run(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(drop)


@dataclass
class Process:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """Die as a crash would: no cleanup, no final writes."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    env: dict[str, str]
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        return _manage(self.env, *args)

    def shell(self, code: str) -> str:
        # The last line: Django 6's shell may announce its automatic imports first.
        return self.manage("shell", "-c", code).strip().splitlines()[-1]

    def start(self, name: str, extra_env: dict[str, str] | None = None) -> Process:
        port = _free_port()
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                server_command("127.0.0.1", port),
                cwd=REPO,
                env={**self.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started = Process(name, f"http://127.0.0.1:{port}", process, log_path)
        self.processes.append(started)
        try:
            _wait_for_port(port, process, timeout=30)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{started.log()}") from None
        return started

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        for cleanup in reversed(self._cleanups):
            cleanup()

    def thread_create(self, owner: str = "alice") -> str:
        """A new thread of `owner`'s; returns its id."""
        return self.shell(
            "from django.contrib.auth import get_user_model; "
            "from conversations import services; "
            f"u = get_user_model().objects.get(username={owner!r}); "
            "print(services.thread_create(owner=u).pk)"
        )

    def thread_shared(self, role: str = "member") -> str:
        """A thread of alice's shared with a team bob is in, with `role`."""
        return self.shell(
            "from django.contrib.auth import get_user_model; "
            "from conversations import services, teams; "
            "U = get_user_model(); a = U.objects.get(username='alice'); "
            "team = teams.team_create(name='Hydrology', owner=a); "
            "owner = team.memberships.get(user=a); "
            f"teams.member_add(team=team, actor=owner, username='bob', role={role!r}); "
            "t = services.thread_create(owner=a); "
            "teams.thread_share(thread=t, owner=a, team=team); print(t.pk)"
        )

    def threads_create(self, count: int, owner: str = "alice") -> list[str]:
        """`count` new threads of `owner`'s (one process start for all)."""
        out = self.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "from conversations import services; "
            f"u = get_user_model().objects.get(username={owner!r}); "
            f"print(' '.join(str(services.thread_create(owner=u).pk) "
            f"for _ in range({count})))",
        )
        return out.strip().splitlines()[-1].split()

    def reply_state(self, reply_id: int) -> dict[str, Any]:
        """The stored reply, read straight from the shared database."""
        import psycopg

        url = self.env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT status, text, error_category FROM conversations_message "
                "WHERE id = %s",
                (reply_id,),
            ).fetchone()
        assert row is not None, f"no reply {reply_id}"
        return dict(zip(("status", "text", "error_category"), row, strict=True))


def descendants(pid: int) -> list[int]:
    """A process's children, theirs, and so on (its send workers, say)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # the thread ended
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def start_cluster(
    *,
    upstream_url: str,
    database_url: str,
    redis_url: str,
    suffix: str = "cluster",
    extra_env: dict[str, str] | None = None,
) -> Cluster:
    """Migrate a fresh database and create alice and bob; start no process yet."""
    workdir = Path(tempfile.mkdtemp(prefix="qtc-cluster-"))
    url, drop = fresh_database(database_url, suffix)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_URL"}
    }
    env.update(
        DATABASE_URL=url,
        # Empty: the in-memory channel layer (one process only).
        REDIS_URL=redis_url,
        DB_CONN_MAX_AGE="60",
        DASHSCOPE_BASE_URL=upstream_url,
        DASHSCOPE_API_KEY="sk-simulator",
        DEBUG="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    cluster = Cluster(env, workdir, _cleanups=[drop])
    cluster.manage("migrate", "--noinput")
    cluster.shell(
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        + "; ".join(
            f"U.objects.create_user({n!r}, password={p!r})" for n, p in USERS.items()
        )
    )
    return cluster


class Client:
    """A signed-in person's browser, reduced to HTTP and the thread websocket."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            base_url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            # aiohttp's default of 100 connections would queue the 101st
            # websocket of a benchmark until another one closed.
            connector=aiohttp.TCPConnector(limit=0),
        )

    async def login(self, username: str) -> Client:
        async with self.session.get("/accounts/login/") as response:
            page = await response.text()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, "no CSRF token on the login page"
        async with self.session.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": USERS[username],
            },
            headers={"Referer": self.base_url + "/accounts/login/"},
            allow_redirects=False,
        ) as response:
            assert response.status == 302, f"login failed: {response.status}"
        return self

    async def socket(
        self, thread_id: str, *, via: str | None = None, language: str = "en"
    ) -> Socket:
        """The thread's websocket on this client's server (or `via`, another one
        of the cluster: the session is in the shared database)."""
        base = via or self.base_url
        cookies = "; ".join(f"{c.key}={c.value}" for c in self.session.cookie_jar)
        ws = await self.session.ws_connect(
            "ws" + base.removeprefix("http") + f"/ws/threads/{thread_id}/",
            headers={"Origin": base, "Cookie": cookies, "Accept-Language": language},
            max_msg_size=0,
        )
        return Socket(ws)

    async def close(self) -> None:
        await self.session.close()


TERMINAL = ("completed", "stopped", "failed", "interrupted")


class Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[str] = []

    async def send(self, **content: Any) -> None:
        await self.ws.send_str(json.dumps(content))

    async def receive(self, wait: float = 30) -> str:
        message = await self.ws.receive(timeout=wait)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"websocket closed: {message.type!r}")
        self.received.append(message.data)
        return message.data

    async def until(self, predicate: Callable[[str], bool], wait: float = 30) -> str:
        async with asyncio.timeout(wait):
            while True:
                text = await self.receive(wait)
                if predicate(text):
                    return text

    async def until_final(self, wait: float = 30) -> str:
        return await self.until(
            lambda t: (
                'hx-swap-oob="outerHTML"' in t
                and any(f'data-status="{s}"' in t for s in TERMINAL)
            ),
            wait,
        )

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(t) for t in self.received if t.startswith("{")]

    async def close(self) -> None:
        await self.ws.close()
