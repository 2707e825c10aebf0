"""The full-text index leaves out replies still being written.

A streaming reply's text is saved once a second (conversations/checkpoints.py).
While the index covered every row, each save made PostgreSQL parse the reply's
whole text again and insert its words into the index: at 300 streams, 141 ms
of PostgreSQL's CPU a second where the same saves cost 41 ms without it
(bench/checkpoint_saves.py). A reply now enters the index once, as it ends;
search leaves out replies still being written (`search.text_matches`), which
lets the planner use this index.

Built concurrently and outside a transaction, so that a deployment with a large
history keeps taking writes while it is built.
"""

from django.db import migrations

OLD = "message_text_fts"
NEW = "message_text_fts_done"
DOCUMENT = "to_tsvector('simple'::regconfig, COALESCE(text, ''))"


def _on_postgresql(*statements: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("conversations", "0007_team_quotas")]

    operations = [
        migrations.RunPython(
            _on_postgresql(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NEW} ON conversations_message"
                f" USING gin ({DOCUMENT}) WHERE status <> 'streaming'",
                f"DROP INDEX CONCURRENTLY IF EXISTS {OLD}",
            ),
            _on_postgresql(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD} ON conversations_message"
                f" USING gin ({DOCUMENT})",
                f"DROP INDEX CONCURRENTLY IF EXISTS {NEW}",
            ),
            elidable=False,
        )
    ]
