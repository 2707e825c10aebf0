"""Seed a large history in PostgreSQL and time the operator pages (issue #7).

Scale 1 is 10,000 threads of 50 turns: 500,000 replies (1,000,000 messages)
with one upstream response each, from 200 users over 90 days, in 5 models.
Rows go in with COPY; then each page is requested through Django's test
client (the full middleware and admin stack, no network) and the median of
several runs is printed with its query count.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt7_bench \\
        .venv/bin/python bench/admin_bench.py [--scale 0.1] [--runs 5] [--reset]

The database is migrated first. It must be empty of threads, or be emptied
with --reset (which truncates the app's tables: use a database of its own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from conversations.models import ModelPrice, Thread, UserQuota  # noqa: E402

MODELS = ("qwen3-max", "qwen-plus", "qwen-flash", "qwen3-coder-plus", "qwen-turbo")
USERS = 200
TURNS_PER_THREAD = 50
DAYS = 90
WORDS = [
    "river",
    "delta",
    "glacier",
    "harbour",
    "canyon",
    "lagoon",
    "estuary",
    "meadow",
]


def seed(threads: int) -> None:
    now = timezone.now()
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        user_model(username=f"bench{i:03d}", password="!") for i in range(USERS)
    )
    user_ids = [u.pk for u in users]
    message_id = 0
    response_id = 0
    thread_rows, message_rows, response_rows = [], [], []
    started = time.perf_counter()
    for t in range(threads):
        thread_id = uuid.uuid4()
        owner = user_ids[t % USERS]
        model = MODELS[t % len(MODELS)]
        # Threads start over the last 90 days; turns follow a few minutes apart.
        start = (
            now
            - timedelta(days=DAYS)
            + timedelta(seconds=DAYS * 86400 * t / threads + (t * 7919) % 3600)
        )
        parent = None
        context = 0
        for turn in range(TURNS_PER_THREAD):
            when = start + timedelta(minutes=3 * turn)
            if when > now:
                when = now
            message_id += 1
            question = message_id
            word = WORDS[(t + turn) % len(WORDS)]
            message_rows.append(
                (
                    question,
                    thread_id,
                    parent,
                    "user",
                    owner,
                    f"tell me about the {word} {t}",
                    when,
                )
            )
            message_id += 1
            reply = message_id
            message_rows.append(
                (
                    reply,
                    thread_id,
                    question,
                    "assistant",
                    None,
                    f"the {word} is ...",
                    when,
                )
            )
            parent = reply
            output = 80 + (t * 31 + turn * 17) % 400
            reasoning = output // 3 if model == "qwen-plus" else 0
            context += 40 + output
            cached = context // 2 if turn % 4 else 0
            response_id += 1
            response_rows.append(
                (
                    response_id,
                    reply,
                    f"resp_{response_id}",
                    model,
                    context,
                    output,
                    reasoning,
                    cached,
                    context + output,
                    when,
                    owner,
                )
            )
        thread_rows.append(
            (thread_id, owner, f"Bench thread {t}", model, parent, start, when)
        )
        if len(message_rows) >= 200_000 or t == threads - 1:
            _copy(thread_rows, message_rows, response_rows)
            thread_rows, message_rows, response_rows = [], [], []
            print(
                f"  seeded {t + 1:,} threads, {message_id:,} messages "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    with connection.cursor() as cursor:
        for table in ("conversations_message", "conversations_upstreamresponse"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    for i, model in enumerate(MODELS[:4]):
        ModelPrice.objects.create(
            model=model,
            input_per_million=Decimal("0.4") * (i + 1),
            output_per_million=Decimal("1.2") * (i + 1),
            cached_input_per_million=Decimal("0.08") * (i + 1),
        )
    UserQuota.objects.bulk_create(
        UserQuota(user_id=uid, daily_tokens=5_000_000, monthly_tokens=40_000_000)
        for uid in user_ids[:50]
    )


def _copy(threads: list, messages: list, responses: list) -> None:
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY conversations_thread (id, owner_id, title, model, instructions, "
            "enable_thinking, tools, tool_choice, session_cache, conversation_id, "
            "active_leaf_id, archived, created_at, updated_at, last_activity_at, "
            "summary) "
            "FROM STDIN"
        ) as copy:
            for tid, owner, title, model, _leaf, start, last in threads:
                copy.write_row(
                    (
                        tid,
                        owner,
                        title,
                        model,
                        "",
                        False,
                        "[]",
                        "auto",
                        False,
                        "",
                        None,
                        False,
                        start,
                        last,
                        last,
                        "",
                    )
                )
        with raw.copy(
            "COPY conversations_message (id, thread_id, parent_id, role, author_id, "
            "text, html, status, client_id, error_category, error_message, "
            "context_mode, settings_used, moderated, created_at, first_token_at, "
            "finished_at) FROM STDIN"
        ) as copy:
            for mid, tid, parent, role, author, text, when in messages:
                done = when + timedelta(seconds=4) if role == "assistant" else None
                copy.write_row(
                    (
                        mid,
                        tid,
                        parent,
                        role,
                        author,
                        text,
                        f"<p>{text}</p>",
                        "completed",
                        "",
                        "",
                        "",
                        "conversation" if role == "assistant" else "",
                        "{}",
                        False,
                        when,
                        when + timedelta(milliseconds=400) if done else None,
                        done,
                    )
                )
        with raw.copy(
            "COPY conversations_upstreamresponse (id, message_id, response_id, "
            "previous_response_id, conversation_id, model, status, input_tokens, "
            "output_tokens, reasoning_tokens, cached_tokens, total_tokens, "
            "tool_counts, error_code, created_at, user_id, api) FROM STDIN"
        ) as copy:
            for row in responses:
                rid, mid, resp, model, inp, out, reas, cached, total, when, user = row
                copy.write_row(
                    (
                        rid,
                        mid,
                        resp,
                        "",
                        "",
                        model,
                        "completed",
                        inp,
                        out,
                        reas,
                        cached,
                        total,
                        "{}",
                        "",
                        when,
                        user,
                        "responses",
                    )
                )
        # The active leaf can only point at messages that now exist.
        cursor.execute(
            "UPDATE conversations_thread t SET active_leaf_id = m.id FROM ("
            " SELECT thread_id, max(id) AS id FROM conversations_message"
            " WHERE thread_id = ANY(%s) GROUP BY thread_id) m WHERE m.thread_id = t.id",
            [[row[0] for row in threads]],
        )


def measure(client: Client, label: str, url: str, runs: int) -> None:
    client.get(url)  # warm caches and the session
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    print(
        f"| {label} | `{url}` | {statistics.median(times) * 1000:,.0f} ms "
        f"| {min(times) * 1000:,.0f} ms | {len(queries)} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--reset", action="store_true", help="truncate the app's tables"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the history already seeded"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own.")
    call_command("migrate", verbosity=0)
    threads = max(1, round(10_000 * args.scale))
    if Thread.objects.exists() and args.reuse:
        threads = Thread.objects.count()
        print(f"Reusing the {threads:,} threads already seeded.")
    elif Thread.objects.exists():
        if not args.reset:
            sys.exit("The database has threads: pass --reset to empty it first.")
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE conversations_upstreamresponse, conversations_message, "
                "conversations_thread, conversations_modelprice, "
                "conversations_userquota RESTART IDENTITY CASCADE"
            )
        get_user_model().objects.filter(username__startswith="bench").delete()
    if not args.reuse or not Thread.objects.exists():
        print(
            f"Seeding {threads:,} threads, {threads * TURNS_PER_THREAD:,} replies "
            f"({threads * TURNS_PER_THREAD * 2:,} messages) ...",
            flush=True,
        )
        started = time.perf_counter()
        seed(threads)
        print(f"Seeded in {time.perf_counter() - started:.0f} s.\n")

    from django.test.utils import setup_test_environment

    setup_test_environment()
    admin = get_user_model().objects.create_superuser(
        f"bench-admin-{uuid.uuid4().hex[:6]}", password=None
    )
    client = Client()
    client.force_login(admin)
    thread = Thread.objects.order_by("-last_activity_at").first()
    today = timezone.localdate()
    year_ago = (today - timedelta(days=364)).isoformat()
    print(f"Pages ({args.runs} runs each; times through Django's test client):\n")
    print("| page | URL | median | best | queries |")
    print("|---|---|---|---|---|")
    measure(client, "usage dashboard, last 30 days", "/admin/usage/", args.runs)
    measure(
        client,
        "usage dashboard, a year",
        f"/admin/usage/?start={year_ago}&end={today.isoformat()}",
        args.runs,
    )
    measure(
        client,
        "usage CSV, a year",
        f"/admin/usage/export.csv?start={year_ago}&end={today.isoformat()}",
        args.runs,
    )
    changelist = "/admin/conversations/thread/"
    measure(client, "thread admin list", changelist, args.runs)
    measure(
        client,
        "thread admin, filtered by model",
        changelist + "?model=qwen-plus",
        args.runs,
    )
    page = max(1, threads // 200)
    measure(client, f"thread admin, page {page}", f"{changelist}?p={page}", args.runs)
    measure(
        client,
        "thread admin, search in message text",
        changelist + "?q=glacier+1234",
        args.runs,
    )
    measure(
        client,
        "thread page (50 turns inline)",
        f"/admin/conversations/thread/{thread.pk}/change/",
        args.runs,
    )
    admin.delete()


if __name__ == "__main__":
    main()
