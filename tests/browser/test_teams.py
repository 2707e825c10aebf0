"""Two people watching one shared thread in two browsers; a third may only read.

alice builds the team through the Teams pages, shares a thread with it and
sends; bob's page shows her message and the reply growing live; carol, a
viewer, sees it all and has no way to send.
"""

import itertools
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.liveserver import LiveServer, login
from tests.browser.test_chat import (
    THREAD_URL,
    body,
    composer,
    expected_tokens,
    messages,
    send,
    start_thread,
)

pytestmark = pytest.mark.browser

CAROL_PASSWORD = "carol-pass-123"


@pytest.fixture
def carol_page(browser: Browser, app_server: LiveServer) -> Iterator[Page]:
    app_server.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "User = get_user_model(); "
        "User.objects.filter(username='carol').exists() or "
        f"User.objects.create_user('carol', password={CAROL_PASSWORD!r}, "
        "first_name='Carol')",
    )
    context = browser.new_context(
        base_url=app_server.url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    login(page, "carol", CAROL_PASSWORD)
    yield page
    context.close()


def add_member(page: Page, username: str, role: str) -> None:
    page.fill('[data-testid="member-username"]', username)
    page.select_option('[data-testid="member-new-role"]', role)
    page.click('[data-testid="member-add"]')
    expect(
        page.locator(f'[data-testid="member"][data-username="{username}"]')
    ).to_have_attribute("data-role", role)


def presence_names(page: Page) -> list[str]:
    return page.locator('[data-testid="presence-user"]').all_inner_texts()


def test_a_teammate_watches_the_reply_grow_and_a_viewer_cannot_send(
    alice_page: Page, bob_page: Page, carol_page: Page
) -> None:
    alice = alice_page
    # The team, through its pages.
    alice.goto("/teams/")
    alice.fill('[data-testid="team-name"]', "Cartographers")
    alice.click('[data-testid="team-create"]')
    expect(alice.locator('[data-testid="team-title"]')).to_have_text("Cartographers")
    add_member(alice, "bob", "member")
    add_member(alice, "carol", "viewer")
    team_url = alice.url

    # A thread, shared with it from the thread menu.
    first = start_thread(alice, "[[tokens:5]] Welcome, team")
    expect(first).to_have_attribute("data-status", "completed")
    alice.click('[data-testid="thread-menu"]')
    alice.select_option('[data-testid="share-team"]', label="Cartographers")
    alice.click('[data-testid="share-save"]')
    expect(alice.locator('[data-testid="thread-shared"]')).to_contain_text(
        "Cartographers"
    )
    thread_url = alice.url
    assert THREAD_URL.search(thread_url)

    bob_page.goto(team_url)
    bob_page.click('[data-testid="team-thread"]')
    expect(bob_page).to_have_url(thread_url)
    expect(bob_page.locator('[data-testid="shared-marker"]')).to_have_count(1)
    carol_page.goto(thread_url)

    # Everyone sees who is here.
    for page in (alice, bob_page, carol_page):
        expect(page.locator('[data-testid="presence-user"]')).to_have_text(
            ["alice", "bob", "Carol"]
        )

    # alice sends; bob's page shows her message, then the reply growing.
    send(alice, "[[pace:ttft=0.1,tps=25]] [[tokens:60]] Map the rivers")
    theirs = messages(bob_page, "user").last
    expect(body(theirs)).to_contain_text("Map the rivers")
    expect(theirs.locator('[data-testid="message-author"]')).to_have_text("alice")
    reply = messages(bob_page, "assistant").last
    seen: list[str] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, text = reply.evaluate(
            "el => [el.dataset.status,"
            " el.querySelector('[data-testid=message-body]').innerText.trim()]"
        )
        if status != "streaming":
            break
        if text and text not in seen:
            seen.append(text)
    assert len(seen) >= 3, seen
    assert all(b.startswith(a) for a, b in itertools.pairwise(seen)), seen
    expect(reply).to_have_attribute("data-status", "completed")
    expect(body(reply)).to_have_text(expected_tokens(60))

    # carol watched the same reply, and has nothing to send with.
    expect(body(messages(carol_page, "assistant").last)).to_have_text(
        expected_tokens(60)
    )
    expect(carol_page.locator('form[data-testid="composer"]')).to_have_count(0)
    expect(
        carol_page.get_by_text("You can read this thread but not post in it.")
    ).to_be_visible()
    expect(
        messages(carol_page, "assistant").last.locator('[data-testid="regenerate"]')
    ).to_be_hidden()
    expect(
        messages(carol_page, "user").last.locator('[data-testid="edit"]')
    ).to_be_hidden()

    # bob, a member, may answer: alice sees it.
    send(bob_page, "[[tokens:4]] Thanks")
    expect(body(messages(alice, "user").last)).to_contain_text("Thanks")
    expect(messages(alice, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )
    assert composer(bob_page).is_visible()
