"""A send asks its turn's questions in the query that locks its thread
(`services.turn_facts`): where every answer is "none" its turn is loaded
without a query of its own; where one is not, it is read and acted on."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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


def test_a_turn_with_no_budget_document_or_mcp_server_needs_no_query(
    thread, alice, django_assert_num_queries
):
    # A thread's first turn: later ones read how the last one ended (context.py).
    sent = send(thread, alice)
    with django_assert_num_queries(0):
        turn = generation.turn_load(sent.reply, new=True)
    assert not isinstance(turn, str)
    assert turn.extras.file_ids == ()
    assert sent.reply.settings_used["mcp_servers"] == []


def test_an_authors_budget_is_still_checked(thread, alice):
    UserQuota.objects.create(user=alice, daily_tokens=0)
    refusal = generation.turn_load(send(thread, alice).reply, new=True)
    assert isinstance(refusal, str) and "daily" in refusal


def test_a_teams_budget_is_still_checked(thread, alice):
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


def test_the_threads_mcp_servers_are_still_recorded(thread, alice):
    server = McpServer.objects.create(label="docs-hub", url="https://mcp.test/sse")
    thread.mcp_servers.add(server)
    assert send(thread, alice).reply.settings_used["mcp_servers"] == ["docs-hub"]


def test_a_replay_and_a_send_while_busy_are_still_told_apart(thread, alice):
    first = send(thread, alice, client_id="c1")
    again = send(thread, alice, client_id="c1")
    assert (again.created, again.reply.pk) == (False, first.reply.pk)
    with pytest.raises(services.MessageInvalid):
        send(thread, alice, client_id="c2")
