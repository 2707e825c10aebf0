"""PostgreSQL's CPU for the one-second partial-text saves of N streaming
replies (the statement of `services.replies_save_progress`), under each
full-text index the message table has had: migration 0008's, which leaves
streaming replies out; 0006's, over every row; and none, for scale.

    .venv/bin/python bench/checkpoint_saves.py [--replies 300] [--saves 12]

A scratch table with the message table's columns that these statements touch
and its b-tree indexes, 5,000 finished messages of history, and N replies
that grow by ~100 words a save (40 deltas of 2.5 words: one second of a
stream). What is timed is the server backend's CPU, read from /proc, so the
figure is PostgreSQL's alone; `final_saves_ms` is the N replies' final saves,
which put them into the index.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random

import psycopg
from common import DATABASE_URL, cpu_seconds

from tests.production.cluster import fresh_database

# The indexed document is the one the migration creates, word for word.
DOCUMENT = importlib.import_module(
    "conversations.migrations.0008_search_index_skips_streaming"
).DOCUMENT
INDEXES = {
    "0008 (not streaming)": f"USING gin ({DOCUMENT}) WHERE status <> 'streaming'",
    "0006 (every row)": f"USING gin ({DOCUMENT})",
    "none": None,
}
WORDS = ["river", "flows", "through", "the", "city", "while", "models", "stream"]
WORDS += ["tokens", "to", "readers", "and", "teams", "watch", "replies", "arrive"]
SAVE = (
    "UPDATE bench_message SET text = text || %s, heartbeat_at = now(),"
    " first_token_at = now() WHERE id = %s AND status = 'streaming'"
)


def prose(words: int) -> str:
    return " ".join(random.choices(WORDS, k=words)) + " "


def measure(
    url: str, index: str | None, replies: int, saves: int
) -> tuple[float, float]:
    """CPU seconds of PostgreSQL per save, and for the final saves."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS bench_message")
        db.execute(
            "CREATE TABLE bench_message (id serial PRIMARY KEY,"
            " thread_id int NOT NULL, status varchar(16) NOT NULL,"
            " text text NOT NULL DEFAULT '', html text NOT NULL DEFAULT '',"
            " created_at timestamptz NOT NULL DEFAULT now(),"
            " heartbeat_at timestamptz, first_token_at timestamptz)"
        )
        db.execute("CREATE INDEX ON bench_message (thread_id, created_at)")
        db.execute("CREATE INDEX ON bench_message (status, heartbeat_at)")
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO bench_message (thread_id, status, text)"
                " VALUES (%s, 'completed', %s)",
                [(n, prose(300)) for n in range(5000)],
            )
        if index:
            db.execute(f"CREATE INDEX ON bench_message {index}")
        db.execute("VACUUM ANALYZE bench_message")
        ids = [
            row[0]
            for row in db.execute(
                "INSERT INTO bench_message (thread_id, status)"
                " SELECT n, 'streaming' FROM generate_series(1, %s) n RETURNING id",
                (replies,),
            )
        ]
        pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        before = cpu_seconds(pid)
        for _ in range(saves):
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(SAVE, [(prose(100), i) for i in ids])
        per_save = (cpu_seconds(pid) - before) / saves
        before = cpu_seconds(pid)
        with db.transaction(), db.cursor() as cursor:
            cursor.executemany(
                "UPDATE bench_message SET text = text || %s, status = 'completed'"
                " WHERE id = %s",
                [(prose(20), i) for i in ids],
            )
        final = cpu_seconds(pid) - before
        db.execute("DROP TABLE bench_message")
    return per_save, final


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=300)
    parser.add_argument("--saves", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    url, drop = fresh_database(DATABASE_URL, f"saves_{os.getpid()}")
    print(
        f"Partial-text saves of {args.replies} streaming replies, {args.saves} a run"
        f" (each reply ~{args.saves * 100} words at the end); PostgreSQL's CPU"
    )
    print(f"{'full-text index':<22}  {'ms_per_save':>11}  {'final_saves_ms':>14}")
    try:
        for _ in range(args.rounds):
            for name, index in INDEXES.items():
                per_save, final = measure(url, index, args.replies, args.saves)
                print(f"{name:<22}  {per_save * 1000:>11.0f}  {final * 1000:>14.0f}")
    finally:
        drop()


if __name__ == "__main__":
    main()
