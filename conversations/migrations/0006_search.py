"""A GIN index for full-text search over message text, on PostgreSQL only.

The indexed expression is exactly what `conversations.search` filters on
(`SearchVector("text", config="simple")` compiles to it), so the planner can
use the index. SQLite has no GIN indexes; search there is a substring match.
"""

from django.db import migrations

INDEX = "message_text_fts"


def create_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON conversations_message "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))"
    )


def drop_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("conversations", "0005_tools")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
