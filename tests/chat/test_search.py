"""Search over the threads a user may read; long threads shown newest first."""

import pytest
from django.db import connection
from django.urls import reverse

from conversations import search, selectors, services
from conversations.models import Message
from tests.chat.test_exports import finish

pytestmark = pytest.mark.django_db


def say(thread, author, text: str, answer: str) -> services.Sent:
    sent = services.message_send(thread=thread, author=author, text=text)
    finish(sent.reply, answer)
    return sent


@pytest.fixture
def rivers(alice):
    thread = services.thread_create(owner=alice)
    services.thread_rename(thread=thread, title="Rivers of Europe")
    say(thread, alice, "Which river flows through Vienna?", "The **Danube** does.")
    say(thread, alice, "And through Paris?", "The Seine <b>flows</b> through Paris.")
    return thread


@pytest.fixture
def chinese(alice):
    thread = services.thread_create(owner=alice)
    say(thread, alice, "用中文介绍长江", "长江是中国最长的河流。全长约六千三百公里。")
    return thread


@pytest.fixture
def bobs(bob):
    thread = services.thread_create(owner=bob)
    say(thread, bob, "My secret Danube plan", "Danube secrets stay with Bob.")
    return thread


def test_it_finds_message_text_with_the_match_marked(alice, rivers, bobs):
    hits = search.search(alice, "danube")
    assert [(h.thread, h.message.role) for h in hits] == [(rivers, "assistant")]
    assert "<mark>Danube</mark>" in hits[0].snippet
    assert hits[0].url == (
        f"{rivers.get_absolute_url()}?msg={hits[0].message.pk}#msg-{hits[0].message.pk}"
    )


def test_it_matches_the_start_of_words_and_every_term(alice, rivers):
    assert [h.message.text for h in search.search(alice, "flow paris")] == [
        "The Seine <b>flows</b> through Paris."
    ]
    assert search.search(alice, "danube paris") == []


def test_snippets_escape_the_text_around_the_marks(alice, rivers):
    (hit,) = search.search(alice, "seine")
    assert str(hit.snippet) == (
        "The <mark>Seine</mark> &lt;b&gt;flows&lt;/b&gt; through Paris."
    )


def test_a_hostile_query_is_escaped_and_not_read_as_syntax(alice, rivers):
    for query in ["<script>", "a' | b", "\\", "!:*&", '"unclosed']:
        for hit in search.search(alice, query):
            assert "<script>" not in hit.snippet


def test_titles_match_too(alice, rivers):
    hits = search.search(alice, "europe")
    assert [(h.thread, h.message) for h in hits] == [(rivers, None)]
    assert str(hits[0].snippet) == "Rivers of <mark>Europe</mark>"


def test_chinese_text_is_found_inside_a_run_of_characters(alice, chinese):
    hits = search.search(alice, "河流")
    assert len(hits) == 1
    assert "<mark>河流</mark>" in hits[0].snippet


def test_other_peoples_threads_stay_out_of_results(bob, rivers, bobs):
    assert {h.thread for h in search.search(bob, "danube")} == {bobs}
    assert [h.thread for h in search.search(bob, "vienna")] == []


def test_the_search_page_lists_results(client, alice, rivers, bobs):
    client.force_login(alice)
    response = client.get(reverse("search"), {"q": "Danube"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="search-result"') == 1
    assert "The **<mark>Danube</mark>** does." in page
    assert "Bob" not in page


def test_the_search_page_without_a_query_lists_nothing(client, alice, rivers):
    client.force_login(alice)
    response = client.get(reverse("search"))
    assert response.status_code == 200
    assert 'data-testid="search-result"' not in response.content.decode()


def test_search_needs_a_login(client):
    response = client.get(reverse("search"), {"q": "x"})
    assert response.status_code == 302


def test_a_reply_is_found_once_it_ends_not_while_it_is_written(alice):
    """Its partial text is saved every second; the search index takes it in
    once, at its end (migration 0008)."""
    thread = services.thread_create(owner=alice)
    sent = services.message_send(thread=thread, author=alice, text="Name a river")
    services.replies_save_progress(
        progress=[services.Progress(sent.reply.pk, "The Danube flows", None)]
    )
    assert search.search(alice, "danube") == []
    finish(sent.reply, "The Danube flows east.")
    assert [h.message.pk for h in search.search(alice, "danube")] == [sent.reply.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_postgresql_full_text_search_can_use_its_index(rivers):
    """The filter's expression is the indexed one (a tiny table would be
    scanned anyway, so sequential scans are ruled out for the EXPLAIN)."""
    sql, params = (
        search.text_matches(Message.objects.all(), "danube")
        .values("pk")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "Bitmap Index Scan on message_text_fts_done" in plan


# --- long threads ------------------------------------------------------------


@pytest.fixture
def long_thread(alice, settings):
    settings.CHAT_PAGE_MESSAGES = 4
    thread = services.thread_create(owner=alice)
    for n in range(5):
        say(thread, alice, f"question {n}", f"answer {n}")
    thread.refresh_from_db()
    return thread


def test_a_long_thread_opens_on_its_newest_messages(client, alice, long_thread):
    client.force_login(alice)
    page = client.get(long_thread.get_absolute_url()).content.decode()
    assert page.count('data-testid="message"') == 4
    assert "question 3" in page and "answer 4" in page and "answer 2" not in page
    assert 'data-testid="load-older"' in page


def test_older_messages_load_in_pages_until_the_first(client, alice, long_thread):
    client.force_login(alice)
    path = selectors.thread_path(long_thread)
    url = reverse("thread-older", args=[long_thread.pk])
    older = client.get(url, {"before": path[6].pk}).content.decode()
    assert [m.text for m in path[2:6] if m.text in older] == [
        "question 1",
        "answer 1",
        "question 2",
        "answer 2",
    ]
    assert f"before={path[2].pk}" in older
    first = client.get(url, {"before": path[2].pk}).content.decode()
    assert "question 0" in first and "answer 0" in first
    assert 'data-testid="load-older"' not in first


def test_a_linked_message_is_on_the_page_however_old(client, alice, long_thread):
    client.force_login(alice)
    first = Message.objects.get(thread=long_thread, text="question 0")
    page = client.get(long_thread.get_absolute_url(), {"msg": first.pk})
    assert f'id="msg-{first.pk}"' in page.content.decode()


def test_older_messages_of_someone_elses_thread_are_a_404(client, bob, long_thread):
    client.force_login(bob)
    response = client.get(reverse("thread-older", args=[long_thread.pk]), {"before": 1})
    assert response.status_code == 404


def test_a_page_of_a_branched_path_is_the_path_s_newest_messages(
    alice, long_thread, django_assert_num_queries
):
    """The window loads only its own rows, yet shows what the whole path does:
    the same messages in order, each with its place among its alternatives."""
    edited = Message.objects.get(thread=long_thread, text="question 3")
    services.message_edit(
        thread=long_thread, message=edited, author=alice, text="question 3, again"
    )
    long_thread.refresh_from_db()
    whole = selectors.thread_path(long_thread)

    with django_assert_num_queries(3):
        window, has_older = selectors.thread_path_window(long_thread, size=3)

    assert has_older
    assert [(m.pk, m.branch) for m in window] == [(m.pk, m.branch) for m in whole[-3:]]
    assert window[1].text == "question 3, again" and window[1].branch.count == 2
