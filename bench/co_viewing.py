"""How a reply fans out to everyone watching a shared thread.

N teammates have the thread open (real consumer, in-memory channel layer,
the simulator over real HTTP). One of them sends; for each N this prints the
time from the send until every viewer has the final reply, the spread between
the first and last viewer to get it, and the frames each viewer received.

    .venv/bin/python bench/co_viewing.py [--viewers 1,5,20,50] [--tokens 300]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.pop("REDIS_URL", None)
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from chatsite.asgi import application  # noqa: E402
from conversations import services, teams  # noqa: E402
from simulator import SimulatorServer  # noqa: E402


def setup(viewers: int):
    User = get_user_model()
    users = [
        User.objects.create_user(f"u{viewers}-{i}-{time.monotonic_ns()}")
        for i in range(viewers)
    ]
    team = teams.team_create(name=f"bench {viewers}", owner=users[0])
    owner = team.memberships.get()
    for user in users[1:]:
        teams.member_add(team=team, actor=owner, username=user.username, role="member")
    thread = services.thread_create(owner=users[0])
    teams.thread_share(thread=thread, owner=users[0], team=team)
    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies.append(f"{name}={client.cookies[name].value}".encode())
    return thread, cookies


async def run(viewers: int, tokens: int) -> None:
    thread, cookies = await sync_to_async(setup)(viewers)
    sockets = []
    for cookie in cookies:
        ws = WebsocketCommunicator(
            application,
            f"/ws/threads/{thread.pk}/",
            headers=[
                (b"cookie", cookie),
                (b"origin", b"http://localhost"),
                (b"host", b"localhost"),
            ],
        )
        assert (await ws.connect())[0]
        sockets.append(ws)
    connected = time.perf_counter()

    async def settle(ws) -> None:
        # Until this page's "Viewing now" lists everyone.
        while True:
            text = await ws.receive_from(timeout=60)
            if (
                text.startswith('<div id="presence"')
                and text.count('data-testid="presence-user"') == viewers
            ):
                return

    await asyncio.gather(*(settle(ws) for ws in sockets))
    settled = time.perf_counter() - connected

    async def watch(ws) -> tuple[float, int]:
        frames = 0
        while True:
            text = await ws.receive_from(timeout=60)
            if text.startswith("{") and json.loads(text)["t"] == "frame":
                frames += 1
            elif (
                'hx-swap-oob="outerHTML"' in text and 'data-status="completed"' in text
            ):
                return time.perf_counter(), frames

    watchers = [asyncio.create_task(watch(ws)) for ws in sockets]
    start = time.perf_counter()
    await sockets[0].send_to(
        text_data=json.dumps(
            {"action": "send", "message": f"[[tokens:{tokens}]] go", "client_id": "b"}
        )
    )
    results = await asyncio.gather(*watchers)
    ends = [end - start for end, _ in results]
    frames = [n for _, n in results]
    print(
        f"viewers={viewers:3d}  all final after {max(ends) * 1000:7.1f} ms  "
        f"spread {(max(ends) - min(ends)) * 1000:6.1f} ms  "
        f"frames/viewer median {statistics.median(frames):.0f} (min {min(frames)})  "
        f"presence settled {settled * 1000:6.1f} ms after the last join"
    )
    for ws in sockets:
        await ws.disconnect()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", default="1,5,20,50")
    parser.add_argument("--tokens", type=int, default=300)
    args = parser.parse_args()
    await sync_to_async(call_command)("migrate", verbosity=0)
    server = SimulatorServer(ttft=0.05, tps=400).start()
    settings.DASHSCOPE_BASE_URL = server.base_url
    settings.DASHSCOPE_API_KEY = "sk-simulator"
    print(f"reply of {args.tokens} tokens at 400 tokens/s, in-memory channel layer")
    try:
        await run(2, 20)  # warm-up: the client, the first conversation
        print("---")
        for n in (int(v) for v in args.viewers.split(",")):
            await run(n, args.tokens)
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
