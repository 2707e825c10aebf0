"""How long a search takes over many messages: full-text (PostgreSQL, GIN
index) against the substring fallback. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/search.py [messages]

Uses (and fills) the database it is given: point it at a scratch one.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from conversations import search  # noqa: E402
from conversations.models import Message, Thread  # noqa: E402

WORDS = [
    "river",
    "lantern",
    "orbit",
    "meadow",
    "quartz",
    "harbor",
    "velvet",
    "summit",
    "cascade",
    "ember",
    "falcon",
    "garden",
    "horizon",
    "island",
    "jasmine",
    "kernel",
    "ledger",
    "mosaic",
    "signal",
    "noise",
    "deploy",
    "cache",
    "index",
    "query",
    "latency",
    "token",
    "stream",
    "socket",
    "branch",
    "commit",
    "review",
]


def fill(user, count: int) -> None:
    have = Message.objects.filter(thread__owner=user).count()
    rng = random.Random(7)
    threads = [Thread.objects.create(owner=user, model="qwen-plus") for _ in range(50)]
    batch = []
    for n in range(have, count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120)))
        if n % 5000 == 0:
            text += " zanzibar"
        batch.append(Message(thread=threads[n % 50], role="assistant", text=text))
        if len(batch) == 5000:
            Message.objects.bulk_create(batch)
            batch.clear()
    Message.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def timed(user, query: str, runs: int = 5) -> tuple[float, int]:
    times, hits = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        hits = len(search.search(user, query))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), hits


def main(count: int) -> None:
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-search")
    fill(user, count)
    total = Message.objects.filter(thread__owner=user).count()
    print(f"{connection.vendor}: {total:,} messages of one user")
    for query in ["zanzibar", "cascade kernel", "latenc"]:
        ms, hits = timed(user, query)
        print(f"  full text  {query!r:18} {ms:8.1f} ms median, {hits} hits")
        original = search._uses_full_text
        search._uses_full_text = lambda q: False
        try:
            ms, hits = timed(user, query)
        finally:
            search._uses_full_text = original
        print(f"  substring  {query!r:18} {ms:8.1f} ms median, {hits} hits")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
