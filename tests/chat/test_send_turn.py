"""What a send's turn is loaded with (`generation.turn_load` on a new send):
the author's and the team's budgets, the thread's documents and MCP servers;
and what a send is told apart by under the thread's lock: a replay, a reply
still being written, also when it waited for the lock while one was stored."""

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction

from conversations import attachments, generation, services, teams
from conversations.models import McpServer, TeamQuota, UserQuota
from tests import turns

pytestmark = pytest.mark.django_db


def send(thread, author, text="Where do rivers go?", client_id=""):
    sent = services.message_send(
        thread=thread, author=author, text=text, client_id=client_id
    )
    attachments.known_none(sent.user_message)  # as a send without attachments
    return sent


def test_an_authors_budget_is_checked(thread, alice):
    UserQuota.objects.create(user=alice, daily_tokens=0)
    refusal = generation.turn_load(send(thread, alice).reply, new=True)
    assert isinstance(refusal, str) and "daily" in refusal


def test_a_teams_budget_is_checked(thread, alice):
    team = teams.team_create(name="Hydrology", owner=alice)
    teams.thread_share(thread=thread, owner=alice, team=team)
    TeamQuota.objects.create(team=team, daily_tokens=0)
    refusal = generation.turn_load(send(thread, alice).reply, new=True)
    assert isinstance(refusal, str) and "Hydrology" in refusal


@pytest.mark.usefixtures("upstream")
def test_a_document_of_an_earlier_turn_goes_with_the_next(thread, alice):
    doc = attachments.attachment_upload(
        thread=thread,
        uploader=alice,
        upload=SimpleUploadedFile("plan.txt", b"The budget is forty euros.\n"),
    )
    first = services.message_send(thread=thread, author=alice, text="Read this")
    attachments.attachments_claim(
        thread=thread, message=first.user_message, ids=[doc.pk], uploader=alice
    )
    turns.finish(first, "Read.")
    turn = generation.turn_load(send(thread, alice).reply, new=True)
    assert turn.extras.file_ids == (doc.upstream_file_id,)


def test_the_threads_mcp_servers_are_recorded(thread, alice):
    server = McpServer.objects.create(label="docs-hub", url="https://mcp.test/sse")
    thread.mcp_servers.add(server)
    assert send(thread, alice).reply.settings_used["mcp_servers"] == ["docs-hub"]


def test_a_replay_and_a_send_while_busy_are_told_apart(thread, alice):
    first = send(thread, alice, client_id="c1")
    again = send(thread, alice, client_id="c1")
    assert (again.created, again.reply.pk) == (False, first.reply.pk)
    with pytest.raises(services.MessageInvalid):
        send(thread, alice, client_id="c2")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: SQLite takes its write lock as a transaction begins",
)
@pytest.mark.django_db(transaction=True)
def test_a_send_that_waited_for_the_lock_sees_the_reply_written_meanwhile(alice):
    thread = services.thread_create(owner=alice)
    outcome: dict[str, object] = {}

    def second_send() -> None:
        try:
            outcome["sent"] = send(thread, alice, text="Me too")
        except services.MessageInvalid as exc:
            outcome["refused"] = str(exc)
        finally:
            connections.close_all()

    waiter = threading.Thread(target=second_send)
    with transaction.atomic():
        # A first send, its transaction still open: the thread stays locked.
        send(thread, alice, client_id="c1")
        waiter.start()
        assert _until_a_lock_is_awaited(), "the second send never waited"
    waiter.join(timeout=10)
    assert outcome == {"refused": str(services.REPLY_IN_PROGRESS)}


def _until_a_lock_is_awaited(timeout: float = 10) -> bool:
    """Poll PostgreSQL's live lock table until some backend waits for a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)  # a poll interval: the wait is on the condition
    return False
