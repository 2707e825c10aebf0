"""The channel layer's Redis restarts while a reply streams (production setup).

Runs only when REDIS_URL is set (the PostgreSQL + Redis pass); a private
`redis-server` on a free port is restarted, never the shared one.
"""

import asyncio
import os
import shutil
import socket
import subprocess

import pytest
from channels.db import database_sync_to_async

from conversations.live import running

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="needs the Redis channel layer (the production pass sets REDIS_URL)",
    ),
    pytest.mark.skipif(
        shutil.which("redis-server") is None, reason="redis-server is not installed"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                subprocess.run(["sleep", "0.02"], check=False)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def private_redis(settings):
    redis = PrivateRedis()
    redis.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{redis.port}/0"]},
        }
    }
    yield redis
    redis.stop()


async def test_replies_end_and_pages_recover_after_a_redis_restart(
    connect, thread, alice, private_redis
):
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=40]] [[tokens:60]] go",
        client_id="c1",
    )
    await viewer.until(lambda t: t.startswith("{"))
    await asyncio.to_thread(private_redis.stop)
    await asyncio.to_thread(private_redis.start)

    # The reply ends and is stored whatever became of its frames.
    for live in list(running.values()):
        if live.task is not None:
            await live.task
    messages = await database_sync_to_async(list)(thread.messages.order_by("id"))
    assert [m.status for m in messages] == ["completed", "completed"]
    assert len(messages[1].text.split()) == 60

    # A page that reconnects (as htmx does) is brought up to date.
    again = await connect(alice, thread)
    assert again.connected
    await again.send(action="sync", after="")
    page = await again.until(lambda t: f'id="msg-{messages[1].pk}"' in t)
    assert 'data-status="completed"' in page
    assert messages[1].html in page
