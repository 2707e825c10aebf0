"""Everyday comforts in a real browser: search, long threads, shortcuts,
small screens, themes, following a reply."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.liveserver import LiveServer
from tests.browser.test_chat import (
    composer,
    send,
    start_thread,
)

pytestmark = pytest.mark.browser

HOME = re.compile(r"^https?://[^/]+/$")
NO_HORIZONTAL_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"
FOLLOWING = (
    "() => { const b = document.getElementById('messages');"
    " return b.scrollHeight - b.scrollTop - b.clientHeight < 80; }"
)


def test_search_finds_a_message_and_links_to_it(alice_page: Page) -> None:
    page = alice_page
    expect(start_thread(page, "Where do quokkas live?")).to_have_attribute(
        "data-status", "completed"
    )
    expect(send(page, "[[tokens:5]] thanks")).to_have_attribute(
        "data-status", "completed"
    )
    page.fill('[data-testid="search"]', "QUOKKAS")
    page.press('[data-testid="search"]', "Enter")

    results = page.locator('[data-testid="search-result"]')
    # The thread's title (its first message) comes first, then messages.
    expect(results.first).to_have_text("Where do quokkas live?")
    expect(results.locator("mark").first).to_have_text("quokkas")
    mine = results.filter(has_text="alice")
    expect(mine).to_have_count(1)
    mine.locator("a").click()

    page.wait_for_url(re.compile(r"/threads/[0-9a-f-]{36}/\?msg=\d+#msg-\d+$"))
    linked = page.locator("[data-testid=message].is-linked")
    expect(linked).to_have_attribute("data-role", "user")
    expect(linked).to_contain_text("Where do quokkas live?")
    expect(linked).to_be_in_viewport()


def test_search_does_not_show_other_peoples_threads(
    alice_page: Page, bob_page: Page
) -> None:
    expect(start_thread(bob_page, "Bob's private wombat notes")).to_have_attribute(
        "data-status", "completed"
    )
    alice_page.goto("/search/?q=wombat")
    expect(alice_page.locator("[data-testid=search-count]")).to_have_text("0 results")
    expect(alice_page.locator('[data-testid="search-result"]')).to_have_count(0)


def _long_thread(app_server: LiveServer, turns: int) -> str:
    """A thread of alice's with `turns` finished turns; returns its URL."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from conversations import services\n"
        "alice = get_user_model().objects.get(username='alice')\n"
        "thread = services.thread_create(owner=alice)\n"
        f"for n in range({turns}):\n"
        "    sent = services.message_send(thread=thread, author=alice,"
        " text=f'question {n}')\n"
        "    services.reply_finish(reply_id=sent.reply.pk, text=f'answer {n}',"
        " status='completed', first_token_at=None, context_mode='new',"
        " responses=[])\n"
        "print('URL', thread.get_absolute_url())\n"
    )
    output = app_server.manage("shell", "-c", code)
    return re.search(r"URL (\S+)", output).group(1)


def test_a_long_thread_loads_older_turns_while_scrolling_up(
    alice_page: Page, app_server: LiveServer
) -> None:
    page = alice_page
    page.goto(_long_thread(app_server, 30))
    bodies = page.locator("[data-testid=message-body]")
    # The newest 40 messages (20 turns) first, the newest at the bottom.
    expect(bodies).to_have_count(40)
    expect(bodies.first).to_have_text("question 10")
    expect(bodies.last).to_have_text("answer 29")
    expect(bodies.last).to_be_in_viewport()

    page.eval_on_selector("#messages", "box => { box.scrollTop = 0; }")
    expect(bodies).to_have_count(60)
    expect(bodies.first).to_have_text("question 0")
    # The reader stays where they were: the message that was at the top is
    # still on screen, not pushed down by the older ones.
    expect(
        page.locator("#messages [data-testid=message-body]", has_text="question 10")
    ).to_be_in_viewport()
    expect(page.locator('[data-testid="load-older"]')).to_have_count(0)


def test_keyboard_shortcuts(alice_page: Page) -> None:
    page = alice_page
    expect(start_thread(page, "[[tokens:4]] hi")).to_have_attribute(
        "data-status", "completed"
    )

    page.keyboard.press("Control+/")
    dialog = page.locator('[data-testid="shortcuts-dialog"]')
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New thread")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("Control+k")
    expect(page.locator('[data-testid="search"]')).to_be_focused()
    page.keyboard.press("Shift+Escape")
    expect(composer(page)).to_be_focused()

    # Escape in the composer stops the reply being written.
    reply = send(page, "[[pace:ttft=0,tps=5]] [[tokens:200]]")
    expect(reply.locator("[data-testid=message-body]")).not_to_be_empty()
    composer(page).press("Escape")
    expect(reply).to_have_attribute("data-status", "stopped")

    page.keyboard.press("Control+Shift+O")
    page.wait_for_url(HOME)
    expect(page.locator('[data-testid="thread-title"]')).to_have_text("New thread")

    page.click('[data-testid="shortcuts"]')
    expect(dialog).to_be_visible()
    page.click('[data-testid="shortcuts-close"]')
    expect(dialog).to_be_hidden()


def test_the_view_follows_a_reply_until_the_reader_scrolls_away(
    alice_page: Page,
) -> None:
    page = alice_page
    page.set_viewport_size({"width": 1000, "height": 500})
    expect(start_thread(page, "[[tokens:150]] first")).to_have_attribute(
        "data-status", "completed"
    )
    jump = page.locator('[data-testid="jump-latest"]')
    reply = send(page, "[[pace:ttft=0,tps=40]] [[tokens:400]]")
    expect(reply.locator("[data-testid=message-body]")).to_contain_text(
        re.compile(r"(\S+\s+){20}")
    )
    page.wait_for_function(FOLLOWING)
    expect(jump).to_be_hidden()

    page.hover("#messages")
    page.mouse.wheel(0, -3000)
    expect(jump).to_be_visible()
    jump.click()
    page.wait_for_function(FOLLOWING)
    expect(jump).to_be_hidden()
    expect(reply).to_have_attribute("data-status", "completed", timeout=20_000)
    page.wait_for_function(FOLLOWING)
    # The end of a reply is announced once, politely, for screen readers.
    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text("Reply finished.")


def test_a_phone_sized_screen(
    browser: Browser, app_server: LiveServer, signed_in: Callable[[str], Page]
) -> None:
    desktop = signed_in("alice")
    state = desktop.context.storage_state()
    desktop.context.close()
    context = browser.new_context(
        base_url=app_server.url,
        storage_state=state,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        # Wide content: a table and a long code line must scroll inside
        # themselves, not the page.
        reply = start_thread(
            page, "Compare the hosting options in a table [[tokens:5]]"
        )
        expect(reply).to_have_attribute("data-status", "completed")
        reply = send(page, "Show me a Python function " + "x" * 300)
        expect(reply).to_have_attribute("data-status", "completed")
        assert page.evaluate(NO_HORIZONTAL_SCROLL)

        sidebar = page.locator("#sidebar")
        toggle = page.locator('[data-testid="sidebar-toggle"]')
        expect(sidebar).to_be_hidden()
        expect(composer(page)).to_be_in_viewport()
        toggle.click()
        expect(sidebar).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        assert page.evaluate(NO_HORIZONTAL_SCROLL)
        page.locator('[data-testid="new-thread"]').click()
        page.wait_for_url(HOME)
        expect(page.locator("#sidebar")).to_be_hidden()

        for url in ["/", "/search/?q=hosting", "/archived/", "/threads/import/"]:
            page.goto(url)
            assert page.evaluate(NO_HORIZONTAL_SCROLL), url
    finally:
        context.close()


def test_the_theme_switch_persists(alice_page: Page) -> None:
    page = alice_page
    page.emulate_media(color_scheme="light")
    page.goto("/")
    html = page.locator("html")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.select_option('[data-testid="theme"]', "dark")
    expect(html).to_have_attribute("data-theme", "dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark != light

    page.reload()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(page.locator('[data-testid="theme"]')).to_have_value("dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark

    # "System" follows the operating system's setting again.
    page.select_option('[data-testid="theme"]', "system")
    page.reload()
    expect(html).not_to_have_attribute("data-theme", re.compile("."))
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == light
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == dark


def test_the_language_switch(alice_page: Page) -> None:
    page = alice_page
    page.goto("/")
    switch = page.locator('[data-testid="language"]')
    expect(switch).to_have_value("en")
    page.select_option('[data-testid="language"]', "zh-hans")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator('[data-testid="new-thread"]')).to_have_text("+ 新对话")
    expect(page.locator('[data-testid="language"]')).to_have_value("zh-hans")
    # What the websocket sends comes in the same language.
    reply = start_thread(page, "[[tokens:3]] 你好")
    expect(reply).to_have_attribute("data-status", "completed")
    expect(reply.locator('[data-testid="regenerate"]')).to_have_text("重新生成")
    reply = send(page, "[[tokens:3]] 再来")
    expect(reply.locator('[data-testid="regenerate"]')).to_have_text("重新生成")
    expect(page.locator('[data-testid="send"]')).to_have_text("发送")

    page.select_option('[data-testid="language"]', "en")
    expect(page.locator('[data-testid="send"]')).to_have_text("Send")
    expect(page.locator("html")).to_have_attribute("lang", "en")
