"""Soak: many users, threads and concurrent streams under random faults.

    .venv/bin/python bench/soak.py --minutes 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt9 \
    REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/soak.py --minutes 3

The app runs as real Daphne processes (two when REDIS_URL is set, one on
SQLite) against the simulator, with a fresh database (`<name>_soak` beside the
one DATABASE_URL names, or a temporary SQLite file). With REDIS_URL the channel
layer uses a private `redis-server` on a free port, so it can be restarted
mid-run without touching anyone else's Redis.

Faults injected at random: upstream 429/500 before the first token (retried),
429 past the retry budget (reported), drops and streams with no terminal
event mid-reply, `response.failed`, `response.incomplete`, output moderation,
error events, a hung upstream (cut by UPSTREAM_TIMEOUT); clients that drop
their socket mid-reply, reconnect and replay their send, double sends, Stop,
Continue and Retry; Redis restarts and (on PostgreSQL) database outages.

Then it checks invariants over the whole database and prints counts:
no lost user message, no duplicate turn, no reply left streaming, stored
text equal to what clients last saw for completed replies, usage equal to
what the upstream reported, and every page back in step after reconnecting.
Exit status 1 when any invariant is violated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from simulator import SimulatorServer  # noqa: E402

TERMINAL = {"completed", "stopped", "failed", "interrupted"}
ARTICLE = re.compile(
    r'<article id="msg-(\d+)" class="[^"]*" data-testid="message" '
    r'data-role="(\w+)" data-status="(\w+)" data-id="\d+"(?: data-client-id="([^"]*)")?'
)
ERROR = re.compile(r'data-testid="composer-error">([^<]*)</div>')

# (name, weight, directive or queued fault); queued faults match a unique token.
UPSTREAM_FAULTS = [
    ("none", 45, None),
    ("drop", 8, "[[fault:drop,after={after}]]"),
    ("stop", 6, "[[fault:stop,after={after}]]"),
    ("failed", 4, "[[fault:failed,after={after}]]"),
    ("incomplete", 4, "[[fault:incomplete,after={after}]]"),
    ("moderation_output", 3, "[[fault:moderation_output,after={after}]]"),
    ("error_event", 3, "[[fault:error_event,after={after}]]"),
    ("moderation", 2, "[[fault:moderation]]"),
    ("hang", 2, "[[fault:hang]]"),
    ("429_retried", 6, ("429", 1)),
    ("500_retried", 6, ("500", 1)),
    ("429_reported", 3, ("429", 5)),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


# --- the processes --------------------------------------------------------------------


class Redis:
    """A private redis-server: restarted mid-run without touching a shared one."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly",
             "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Database:
    """A fresh database: PostgreSQL beside DATABASE_URL's, or a SQLite file."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.postgres = url.startswith(("postgres://", "postgresql://"))
        if self.postgres:
            parts = urlsplit(url)
            self.name = parts.path.lstrip("/") + "_soak"
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            self.admin = urlunsplit(
                parts._replace(scheme="postgresql", path="/postgres")
            )
            self.run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.run(f'CREATE DATABASE "{self.name}"')
        else:
            self.name = "sqlite"
            self.url = f"sqlite:///{workdir / 'soak.sqlite3'}"

    def run(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)

    def outage(self, on: bool) -> None:
        """Refuse every new connection and cut the open ones (or end that)."""
        allow = "false" if on else "true"
        self.run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {allow}')
        if on:
            self.run(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
            )

    def drop(self) -> None:
        if self.postgres:
            self.outage(False)
            self.run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def start_daphne(
    env: dict[str, str], workdir: Path, n: int
) -> tuple[int, subprocess.Popen]:
    port = free_port()
    log = (workdir / f"daphne-{n}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p",
         str(port), "chatsite.asgi:application"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_for_port(port)
    return port, process


# --- the clients ----------------------------------------------------------------------


@dataclass
class Stats:
    counts: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)


@dataclass
class Turn:
    client_id: str
    text: str
    thread: str
    acked: bool = False
    user_id: int | None = None
    reply_id: int | None = None


class Client:
    """One browser tab on one thread, as htmx and chat.js would behave."""

    def __init__(self, soak: Soak, session: str, thread: str, rng: random.Random):
        self.soak = soak
        self.cookie = f"sessionid={session}"
        self.thread = thread
        self.rng = rng
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        # What this tab last saw of each message: (status, role, article html).
        self.seen: dict[int, tuple[str, str, str]] = {}
        self.by_client_id: dict[str, int] = {}
        self.order: list[int] = []
        self.errors: list[str] = []
        self.heard_at = time.monotonic()

    async def connect(self, http: aiohttp.ClientSession) -> None:
        while True:
            port = self.rng.choice(self.soak.ports)
            try:
                self.ws = await http.ws_connect(
                    f"ws://127.0.0.1:{port}/ws/threads/{self.thread}/",
                    headers={
                        "Origin": f"http://127.0.0.1:{port}",
                        "Cookie": self.cookie,
                    },
                    max_msg_size=0,
                    heartbeat=None,
                )
                await self.ws.send_str(json.dumps({"action": "sync", "after": ""}))
                return
            except (TimeoutError, aiohttp.ClientError, OSError):
                self.soak.stats.counts["connect_retries"] += 1
                await asyncio.sleep(0.3 + self.rng.random())

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()

    def absorb(self, text: str) -> None:
        if text.startswith("{"):
            self.soak.stats.counts["frames"] += 1
            return
        for error in ERROR.findall(text):
            if error.strip():
                self.errors.append(error)
        chunks = text.split("<article ")[1:]
        for chunk in chunks:
            match = ARTICLE.match("<article " + chunk)
            if not match:
                continue
            pk, role, status, client_id = match.groups()
            pk = int(pk)
            self.seen[pk] = (status, role, "<article " + chunk)
            if client_id:
                self.by_client_id[client_id] = pk
            if pk not in self.order:
                self.order.append(pk)

    async def receive(self, http: aiohttp.ClientSession, wait: float) -> str:
        """Absorb one message; on a broken socket, reconnect and resync.

        Like chat.js, a page with a reply shown streaming and nothing heard
        for 10 s asks for a sync.
        """
        assert self.ws is not None
        try:
            message = await asyncio.wait_for(self.ws.receive(), wait)
        except TimeoutError:
            if time.monotonic() - self.heard_at > 10 and any(
                s[0] == "streaming" for s in self.seen.values()
            ):
                self.heard_at = time.monotonic()
                self.soak.stats.counts["watchdog_syncs"] += 1
                await self.ws.send_str(json.dumps({"action": "sync", "after": ""}))
            return "timeout"
        if message.type == aiohttp.WSMsgType.TEXT:
            self.heard_at = time.monotonic()
            self.absorb(message.data)
            return "text"
        self.soak.stats.counts["sockets_lost"] += 1
        await self.connect(http)
        return "lost"

    def reply_after(self, user_id: int) -> int | None:
        if user_id not in self.order:
            return None
        following = self.order[self.order.index(user_id) + 1 :]
        for pk in following:
            if self.seen[pk][1] == "assistant":
                return pk
        return None

    async def wait_terminal(
        self, http: aiohttp.ClientSession, pick, *, resend=None, limit: float = 60
    ) -> int | None:
        """Receive until `pick()` names a reply seen in a terminal state."""
        deadline = time.monotonic() + limit
        disrupted = False
        while time.monotonic() < deadline:
            reply = pick()
            if reply is not None and self.seen[reply][0] in TERMINAL:
                return reply
            if (
                not disrupted
                and reply is not None
                and self.rng.random() < self.soak.disconnect_rate
            ):
                # A tab that loses its socket mid-reply (network, laptop lid).
                disrupted = True
                self.soak.stats.faults["client_disconnect"] += 1
                await self.close()
                await self.connect(http)
                if resend is not None and self.rng.random() < 0.5:
                    # htmx replays queued sends after a reconnect.
                    self.soak.stats.faults["replayed_send"] += 1
                    await resend()
                continue
            if self.errors:
                error = self.errors.pop()
                if (
                    resend is not None
                    and reply is None
                    and ("still being written" in error or "could not reach" in error)
                ):
                    # The draft stayed in the box; the person sends it again.
                    self.soak.stats.counts["resent_after_refusal"] += 1
                    await asyncio.sleep(0.5)
                    await resend()
                    continue
            if await self.receive(http, 1.0) == "lost" and reply is None and resend:
                # The draft is still in the composer: the person sends again.
                self.soak.stats.counts["resent_after_lost_socket"] += 1
                await resend()
        self.soak.stats.counts["waits_timed_out"] += 1
        return None

    def upstream_fault(self, token: str) -> str:
        names = [f[0] for f in UPSTREAM_FAULTS]
        weights = [f[1] for f in UPSTREAM_FAULTS]
        name = self.rng.choices(names, weights)[0]
        spec = dict((f[0], f[2]) for f in UPSTREAM_FAULTS)[name]
        if name != "none":
            self.soak.stats.faults[f"upstream_{name}"] += 1
        if spec is None:
            return ""
        if isinstance(spec, tuple):
            kind, times = spec
            self.soak.simulator.faults.push(
                kind, times=times, retry_after=0.05, match=token
            )
            return ""
        return spec.format(after=self.rng.randint(1, 12))

    async def send_turn(self, http: aiohttp.ClientSession) -> None:
        token = uuid.uuid4().hex[:10]
        fault = self.upstream_fault(token)
        tokens = self.rng.randint(5, 80)
        text = f"soak {token} [[tokens:{tokens}]] [[pace:ttft=0.05,tps=150]] {fault}"
        turn = Turn(client_id=uuid.uuid4().hex, text=text, thread=self.thread)
        self.soak.turns.append(turn)
        payload = json.dumps(
            {"action": "send", "message": text, "client_id": turn.client_id}
        )

        async def resend() -> None:
            if self.ws is not None and not self.ws.closed:
                await self.ws.send_str(payload)

        assert self.ws is not None
        await self.ws.send_str(payload)
        self.soak.stats.counts["sends"] += 1
        if self.rng.random() < 0.1:
            self.soak.stats.faults["double_send"] += 1
            await self.ws.send_str(payload)

        def pick() -> int | None:
            user_id = self.by_client_id.get(turn.client_id)
            if user_id is None:
                return None
            turn.acked, turn.user_id = True, user_id
            turn.reply_id = self.reply_after(user_id)
            return turn.reply_id

        stop_at = self.rng.random() < 0.06
        if stop_at:
            # Stop once the first text arrives (or close to it).
            for _ in range(20):
                if pick() is not None:
                    break
                await self.receive(http, 0.5)
            if turn.reply_id is not None and self.ws is not None and not self.ws.closed:
                self.soak.stats.faults["stop"] += 1
                await self.ws.send_str(
                    json.dumps({"action": "stop", "reply": turn.reply_id})
                )
        await self.wait_terminal(http, pick, resend=resend)

    async def follow_up(self, http: aiohttp.ClientSession) -> None:
        """Retry or Continue the last reply of the path, as a person might."""
        assistants = [pk for pk in self.order if self.seen[pk][1] == "assistant"]
        if not assistants:
            return
        last = assistants[-1]
        status, _, html = self.seen[last]
        if status == "streaming":
            return
        action = None
        if 'data-testid="continue"' in html and self.rng.random() < 0.7:
            action = "continue"
        elif status != "completed" or self.rng.random() < 0.05:
            action = "regenerate"
        if action is None:
            return
        self.soak.stats.faults[action] += 1
        if action == "regenerate":
            self.soak.regenerated.add(last)
        known = set(self.seen)
        assert self.ws is not None
        await self.ws.send_str(json.dumps({"action": action, "reply": last}))

        def pick() -> int | None:
            if action == "continue":
                # The same reply goes back to streaming, then ends again.
                return last
            new = [pk for pk in self.order if pk not in known]
            replies = [pk for pk in new if self.seen[pk][1] == "assistant"]
            return replies[-1] if replies else None

        if action == "continue":
            # Wait to see it streaming (or already done) before waiting for its end.
            for _ in range(10):
                if self.seen[last][0] == "streaming":
                    break
                await self.receive(http, 0.5)
        await self.wait_terminal(http, pick)

    async def run(self, http: aiohttp.ClientSession, until: float) -> None:
        await self.connect(http)
        while time.monotonic() < until:
            await self.send_turn(http)
            if self.rng.random() < 0.35:
                await self.follow_up(http)
            await asyncio.sleep(self.rng.random() * 0.5)
        await self.close()

    async def final_sync(self, http: aiohttp.ClientSession) -> None:
        """Open the page again: what does it show after all the faults?"""
        self.seen.clear()
        self.order.clear()
        await self.connect(http)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.order:
            await self.receive(http, 1.0)
        await self.close()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stats = Stats()
        self.turns: list[Turn] = []
        self.regenerated: set[int] = set()
        self.ports: list[int] = []
        self.disconnect_rate = 0.04
        self.simulator = SimulatorServer(ttft=0.05, tps=150).start()

    async def chaos(self, until: float, redis: Redis | None, db: Database) -> None:
        """Restart Redis and take the database away now and then."""
        rng = random.Random(self.args.seed + 1)
        outages = 0
        while time.monotonic() < until - 10:
            await asyncio.sleep(rng.uniform(15, 30))
            if time.monotonic() >= until - 10:
                break
            kinds = [k for k, on in (("redis", redis), ("database", db.postgres)) if on]
            if not kinds:
                continue
            # Take turns, so a short run sees each kind of outage.
            choice = kinds[outages % len(kinds)]
            outages += 1
            if choice == "redis" and redis is not None:
                self.stats.faults["redis_restart"] += 1
                await asyncio.to_thread(redis.stop)
                await asyncio.sleep(rng.uniform(0.5, 2))
                await asyncio.to_thread(redis.start)
            elif choice == "database" and db.postgres:
                self.stats.faults["database_outage"] += 1
                await asyncio.to_thread(db.outage, True)
                await asyncio.sleep(rng.uniform(1, 3))
                await asyncio.to_thread(db.outage, False)

    async def drive(
        self, sessions: list[dict], redis: Redis | None, db: Database
    ) -> list[Client]:
        rng = random.Random(self.args.seed)
        clients = [
            Client(self, user["session"], thread, random.Random(rng.random()))
            for user in sessions
            for thread in user["threads"]
        ]
        until = time.monotonic() + self.args.minutes * 60
        timeout = aiohttp.ClientTimeout(total=None, connect=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await asyncio.gather(
                self.chaos(until, redis, db),
                *(client.run(http, until) for client in clients),
            )
        return clients


# --- setup and invariants -------------------------------------------------------------


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()


def create_people(users: int, threads: int) -> list[dict]:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from conversations import services

    people = []
    for n in range(users):
        user = get_user_model().objects.create_user(f"soak{n}", password=None)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        people.append(
            {
                "session": session.session_key,
                "threads": [
                    str(services.thread_create(owner=user).pk) for _ in range(threads)
                ],
            }
        )
    return people


def wait_until_settled(limit: float = 90) -> int:
    from django.db import connections

    from conversations.models import Message

    # The outages cut this process's connection too.
    connections.close_all()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        streaming = Message.objects.filter(status="streaming").count()
        if not streaming:
            return 0
        time.sleep(0.5)
    return Message.objects.filter(status="streaming").count()


def check(soak: Soak, clients: list[Client], before_sync: dict[int, tuple]) -> dict:
    from django.db.models import Count

    from conversations.models import Message, UpstreamResponse

    violations: Counter = Counter()
    messages = {m.pk: m for m in Message.objects.all()}
    users = [m for m in messages.values() if m.role == "user"]
    replies = [m for m in messages.values() if m.role == "assistant"]
    stored_ids = {(str(m.thread_id), m.client_id) for m in users}

    # No lost user message: every send a page showed as stored is stored.
    for turn in soak.turns:
        if turn.acked and (turn.thread, turn.client_id) not in stored_ids:
            violations["lost_user_message"] += 1
    # No duplicate turn: one user message per client id, one reply per user
    # message unless the person pressed Retry on it.
    per_id = Counter((str(m.thread_id), m.client_id) for m in users)
    violations["duplicate_user_message"] += sum(n - 1 for n in per_id.values() if n > 1)
    children = Counter(r.parent_id for r in replies)
    regenerated_parents = {
        messages[pk].parent_id for pk in soak.regenerated if pk in messages
    }
    for user in users:
        expected_one = user.pk not in regenerated_parents
        if children[user.pk] == 0 or (expected_one and children[user.pk] > 1):
            violations["duplicate_or_missing_reply"] += 1
    # No reply left streaming.
    violations["reply_left_streaming"] = sum(r.status == "streaming" for r in replies)
    # Stored text equals what clients last saw for completed replies.
    compared = 0
    for pk, (status, role, html) in before_sync.items():
        if role != "assistant" or status != "completed":
            continue
        compared += 1
        stored = messages.get(pk)
        if stored is None or stored.status != "completed" or stored.html not in html:
            violations["seen_differs_from_stored"] += 1
    # Usage equals what the upstream reported, response by response.
    upstream = soak.simulator.state.responses
    usage_checked = 0
    for row in UpstreamResponse.objects.filter(status="completed"):
        reported = (upstream.get(row.response_id) or {}) and (
            upstream[row.response_id].body.get("usage") or {}
        )
        if not reported:
            violations["usage_unknown_response"] += 1
            continue
        usage_checked += 1
        if (row.input_tokens, row.output_tokens, row.total_tokens) != (
            reported.get("input_tokens"),
            reported.get("output_tokens"),
            reported.get("total_tokens"),
        ):
            violations["usage_mismatch"] += 1
    completed_without_usage = (
        Message.objects.filter(role="assistant", status="completed")
        .annotate(n=Count("responses"))
        .filter(n=0)
        .count()
    )
    violations["completed_without_usage"] += completed_without_usage
    # Pages recover on reconnect: a fresh sync shows every message as stored.
    recovered = 0
    for client in clients:
        for pk, (status, _, _html) in client.seen.items():
            recovered += 1
            stored = messages.get(pk)
            if stored is None or stored.status != status:
                violations["page_out_of_step_after_reconnect"] += 1
    statuses = Counter(r.status for r in replies)
    return {
        "user_messages": len(users),
        "replies": len(replies),
        "reply_statuses": dict(statuses),
        "upstream_responses": UpstreamResponse.objects.count(),
        "completed_replies_compared": compared,
        "usage_rows_checked": usage_checked,
        "messages_checked_after_reconnect": recovered,
        # Sends still waiting when the run ended: their text stays in the
        # composer until the page shows them stored, so none is lost.
        "sends_unacknowledged_stored": sum(
            not t.acked and (t.thread, t.client_id) in stored_ids for t in soak.turns
        ),
        "sends_unacknowledged_not_stored": sum(
            not t.acked and (t.thread, t.client_id) not in stored_ids
            for t in soak.turns
        ),
        "violations": {k: v for k, v in violations.items() if v},
        "violations_total": sum(violations.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="threads per user")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="qtc-soak-"))
    db = Database(os.environ.get("DATABASE_URL", ""), workdir)
    redis = Redis(workdir) if os.environ.get("REDIS_URL") else None
    processes: list[subprocess.Popen] = []
    soak = Soak(args)
    try:
        if redis is not None:
            redis.start()
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            DATABASE_URL=db.url,
            DASHSCOPE_BASE_URL=soak.simulator.base_url,
            DASHSCOPE_API_KEY="sk-simulator",
            DEBUG="true",
            LOG_LEVEL="WARNING",
            DB_CONN_MAX_AGE="0",
            UPSTREAM_TIMEOUT="3",
            UPSTREAM_MAX_RETRIES="2",
            CHAT_RATE_LIMIT_BURST="100000",
            CHAT_SAVE_INTERVAL_MS="300",
            PYTHONUNBUFFERED="1",
        )
        env.pop("REDIS_URL", None)
        if redis is not None:
            env["REDIS_URL"] = redis.url
        setup_django(db.url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        people = create_people(args.users, args.threads)
        for n in range(2 if redis is not None else 1):
            port, process = start_daphne(env, workdir, n)
            soak.ports.append(port)
            processes.append(process)

        started = time.monotonic()
        clients = asyncio.run(soak.drive(people, redis, db))
        left = wait_until_settled()
        before_sync = {}
        for client in clients:
            before_sync.update(client.seen)

        async def resync_all() -> None:
            async with aiohttp.ClientSession() as http:
                await asyncio.gather(*(c.final_sync(http) for c in clients))

        asyncio.run(resync_all())
        result = check(soak, clients, before_sync)
        result.update(
            minutes=round((time.monotonic() - started) / 60, 2),
            backend=("postgresql" if db.postgres else "sqlite")
            + (" + redis" if redis else " + in-memory layer"),
            daphne_processes=len(processes),
            clients=len(clients),
            streaming_after_drain=left,
            faults_injected=sum(soak.stats.faults.values()),
            faults=dict(sorted(soak.stats.faults.items())),
            counts=dict(sorted(soak.stats.counts.items())),
        )
        print(json.dumps(result, indent=2))
        errors = sum(
            (workdir / f"daphne-{n}.log").read_text(errors="replace").count("Traceback")
            for n in range(len(processes))
        )
        print(f"tracebacks in daphne logs: {errors} (logs in {workdir})")
        return 1 if result["violations_total"] else 0
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if redis is not None:
            redis.stop()
        soak.simulator.stop()
        from django.db import connections

        connections.close_all()
        db.drop()
        if os.environ.get("SOAK_KEEP_LOGS") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
