"""Long threads: server time to open a thread of 1,000 turns (2,000 messages).

    .venv/bin/python bench/long_thread.py [--turns 1000]

Measured in-process with Django's test client against PostgreSQL (the view,
its queries and its template; no network), median of 7 requests after one
warm-up. Paging of older turns belongs to issue #10's UI: where the page still
renders every turn, the figure says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common import start_app, start_simulator

NO_PAGING = " (all: no paging of older turns yet)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    simulator = start_simulator()
    cluster = None
    try:
        cluster = start_app(simulator)
        os.environ.update(
            DATABASE_URL=cluster.env["DATABASE_URL"],
            ALLOWED_HOSTS="testserver",
            LOG_LEVEL="WARNING",
            DASHSCOPE_BASE_URL=simulator.base_url,
            DASHSCOPE_API_KEY="sk-simulator",
        )
        os.environ.pop("REDIS_URL", None)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.test import Client

        from conversations import services
        from conversations.models import Message, Thread
        from conversations.rendering import render_markdown

        alice = get_user_model().objects.get(username="alice")
        thread = services.thread_create(owner=alice)
        parent = None
        answer = "A reply with **some** Markdown and a list:\n\n- one\n- two\n"
        answer_html = render_markdown(answer)
        for turn in range(args.turns):
            question = Message.objects.create(
                thread=thread,
                parent=parent,
                role="user",
                author=alice,
                text=f"Question {turn}?",
                html=f"<p>Question {turn}?</p>",
            )
            parent = Message.objects.create(
                thread=thread,
                parent=question,
                role="assistant",
                text=answer,
                html=answer_html,
                status="completed",
            )
        Thread.objects.filter(pk=thread.pk).update(active_leaf=parent)
        client = Client()
        client.force_login(alice)
        url = f"/threads/{thread.pk}/"
        client.get(url)
        times, size = [], 0
        for _ in range(7):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            size = len(response.content)
            assert response.status_code == 200
        shown = response.content.decode().count('data-testid="message"')
    finally:
        if cluster is not None:
            cluster.stop()
        simulator.stop()
    print(
        f"Long thread: {args.turns} turns; GET {url.split('/')[1]}/<id>/ server time "
        f"median {statistics.median(times):.0f} ms (min {min(times):.0f}, "
        f"max {max(times):.0f}); page {size / 1024:.0f} KB with {shown} messages "
        f"rendered{NO_PAGING if shown >= 2 * args.turns else ''}"
    )


if __name__ == "__main__":
    main()
