"""The chat as a person uses it: a real browser, Daphne, the simulator.

Slow replies come from the simulator's `[[pace:...]]` directive, exact texts
from `[[tokens:N]]` (compared with `simulator.answers.token_answer`).
"""

import itertools
import re
import time

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from conversations.errors import MESSAGES
from conversations.gateway import FailureCategory
from simulator.answers import token_answer
from tests.browser.liveserver import LiveServer, login

pytestmark = pytest.mark.browser

THREAD_URL = re.compile(r"/threads/[0-9a-f-]{36}/$")
# Each of these would run script, load something or navigate somewhere if
# the Markdown renderer let it through.
HOSTILE = (
    "<script>window.__pwned=1</script>\n\n"
    '<img src=x onerror="window.__pwned=1">\n\n'
    "[click](javascript:window.__pwned=1)\n\n"
    "![img](http://127.0.0.1:9/leak)\n\n"
    "[site](https://example.com/)\n\n"
    '<a href="https://example.com/" target="_blank">raw link</a>\n\n'
    '<svg onload="window.__pwned=1"></svg> <iframe src="javascript:1"></iframe>'
)


def expected_tokens(count: int) -> str:
    return "".join(token_answer(count))


def composer(page: Page) -> Locator:
    return page.locator('form[data-testid="composer"] textarea[name="message"]')


def messages(page: Page, role: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-role="{role}"]')


def body(message: Locator) -> Locator:
    return message.locator('[data-testid="message-body"]')


def start_thread(page: Page, text: str) -> Locator:
    """Send the first message from the home page; returns the reply's article."""
    page.goto("/")
    composer(page).fill(text)
    page.click('[data-testid="send"]')
    page.wait_for_url(THREAD_URL)
    return messages(page, "assistant").last


def send(page: Page, text: str) -> Locator:
    """Send over the thread's websocket; returns the new reply's article."""
    replies = messages(page, "assistant")
    before = replies.count()
    composer(page).fill(text)
    composer(page).press("Enter")
    expect(replies).to_have_count(before + 1)
    return replies.last


def wait_until_text(message: Locator, *, minimum: int) -> str:
    """Wait for at least `minimum` words of the reply; returns its text."""
    expect(body(message)).to_have_text(re.compile(rf"^(\S+\s+){{{minimum}}}"))
    return body(message).inner_text()


def test_it_logs_in_to_an_empty_composer(context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    login(page, "alice")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(composer(page)).to_be_visible()
    expect(composer(page)).to_be_focused()


def test_it_shows_a_reply_growing_while_it_streams(alice_page: Page) -> None:
    reply = start_thread(alice_page, "[[pace:ttft=0.1,tps=30]] [[tokens:45]]")

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
    # Each state extends the one before: text is appended, never rewritten.
    assert all(b.startswith(a) for a, b in itertools.pairwise(seen)), seen
    expect(reply).to_have_attribute("data-status", "completed")
    expect(body(reply)).to_have_text(expected_tokens(45))


def test_enter_sends_and_shift_enter_adds_a_newline(alice_page: Page) -> None:
    page = alice_page
    expect(start_thread(page, "[[tokens:3]] hello")).to_have_attribute(
        "data-status", "completed"
    )
    area = composer(page)

    area.fill("first line")
    area.press("Shift+Enter")
    area.press_sequentially("second line")
    expect(area).to_have_value("first line\nsecond line")
    expect(messages(page, "user")).to_have_count(1)

    area.press("Enter")
    expect(messages(page, "user")).to_have_count(2)
    expect(body(messages(page, "user").last)).to_have_text(
        re.compile(r"first line\s+second line")
    )
    expect(area).to_have_value("")
    expect(messages(page, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )


def test_stop_keeps_the_partial_reply(alice_page: Page) -> None:
    page = alice_page
    reply = start_thread(page, "[[pace:ttft=0,tps=20]] [[tokens:200]]")
    wait_until_text(reply, minimum=3)

    reply.locator('[data-testid="stop"]').click()

    expect(reply).to_have_attribute("data-status", "stopped")
    expect(reply.locator('[data-testid="stop"]')).to_have_count(0)
    partial = body(reply).inner_text().strip()
    assert partial
    assert expected_tokens(200).startswith(partial)
    assert len(partial) < len(expected_tokens(200))

    page.reload()
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "stopped")
    expect(body(reply)).to_have_text(partial)


def test_a_reload_mid_stream_picks_the_reply_up_again(alice_page: Page) -> None:
    page = alice_page
    reply = start_thread(page, "[[pace:ttft=0,tps=30]] [[tokens:80]]")
    wait_until_text(reply, minimum=5)
    expect(reply).to_have_attribute("data-status", "streaming")

    page.reload()

    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "streaming")
    # The reply keeps growing on the reloaded page, then completes in full.
    expect(reply).to_have_attribute("data-status", "completed")
    expect(body(reply)).to_have_text(expected_tokens(80))
    page.reload()
    expect(body(messages(page, "assistant").last)).to_have_text(expected_tokens(80))


def test_hostile_markdown_renders_inert(alice_page: Page) -> None:
    page = alice_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # Slow enough that the payload also passes through several streamed frames.
    reply = start_thread(page, "[[echo]] [[pace:ttft=0,tps=60]]\n\n" + HOSTILE)
    expect(reply).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(body(reply)).to_contain_text("window.__pwned=1")
    page.reload()
    expect(messages(page, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )

    # evaluate runs under the page's CSP too: prove it can see a page global.
    assert page.evaluate("() => { window.__probe = 1; return window.__probe; }") == 1
    assert page.evaluate("() => window.__pwned") is None
    bodies = page.locator('[data-testid="message-body"]')
    for forbidden in ("script", "img", "svg", "iframe", "[onerror]", "[onload]"):
        expect(bodies.locator(forbidden)).to_have_count(0)
    links = bodies.locator("a[href]")
    expect(links.first).to_be_attached()
    for href, rel in links.evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.getAttribute('rel')])"
    ):
        assert href.startswith(("http://", "https://")), href
        assert {"noopener", "noreferrer"} <= set((rel or "").split()), (href, rel)
    assert not [url for url in requests if "127.0.0.1:9/" in url]


def test_another_user_cannot_see_or_join_the_thread(
    alice_page: Page, bob_page: Page, app_server: LiveServer
) -> None:
    expect(start_thread(alice_page, "[[tokens:3]] private")).to_have_attribute(
        "data-status", "completed"
    )
    path = alice_page.url.removeprefix(app_server.url)
    socket_path = "/ws" + path

    response = bob_page.goto(path)
    assert response is not None
    assert response.status == 404
    expect(bob_page.locator('[data-testid="message"]')).to_have_count(0)

    # A socket opened by hand with bob's cookies is closed before it opens;
    # alice's, from the same kind of page, opens (so the check can fail).
    open_socket = """path => new Promise(resolve => {
        const ws = new WebSocket(location.origin.replace(/^http/, "ws") + path);
        ws.onopen = () => { ws.close(); resolve("open"); };
        ws.onclose = () => resolve("refused");
    })"""
    bob_page.goto("/")
    assert bob_page.evaluate(open_socket, socket_path) == "refused"
    assert alice_page.evaluate(open_socket, socket_path) == "open"


def test_it_remembers_the_name_given_earlier(alice_page: Page) -> None:
    page = alice_page
    first = start_thread(page, "Hello! My name is John.")
    expect(first).to_have_attribute("data-status", "completed")

    second = send(page, "What is my name?")

    expect(second).to_have_attribute("data-status", "completed")
    expect(body(second)).to_contain_text("John")


def test_an_interrupted_reply_can_be_retried(alice_page: Page) -> None:
    page = alice_page
    # `times=1`: the simulator drops the first attempt only, not the retry.
    reply = start_thread(page, "[[fault:drop,after=3,times=1]] [[tokens:12]]")

    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(reply.locator(".message-error")).to_have_text(
        str(MESSAGES[FailureCategory.NETWORK])
    )
    # What arrived before the drop is kept.
    expect(body(reply)).to_have_text(expected_tokens(3))
    retry = reply.locator('[data-testid="regenerate"]')
    expect(retry).to_have_text("Retry")

    retry.click()

    retried = messages(page, "assistant").last
    expect(retried).to_have_attribute("data-status", "completed")
    expect(body(retried)).to_have_text(expected_tokens(12))


def test_an_over_long_message_is_refused_and_kept(alice_page: Page) -> None:
    page = alice_page
    expect(start_thread(page, "[[tokens:3]] short")).to_have_attribute(
        "data-status", "completed"
    )
    area = composer(page)
    limit = int(area.get_attribute("maxlength") or 0)
    assert limit > 0
    # The browser would cut a typed text at maxlength; a script need not.
    area.evaluate(
        "(el, n) => { el.removeAttribute('maxlength'); el.value = 'x'.repeat(n); }",
        limit + 1,
    )

    page.click('[data-testid="send"]')

    expect(page.locator('[data-testid="composer-error"]')).to_have_text(
        f"Messages are limited to {limit:,} characters; this one has {limit + 1:,}."
    )
    expect(messages(page, "user")).to_have_count(1)
    assert len(area.input_value()) == limit + 1
    page.reload()
    expect(messages(page, "user")).to_have_count(1)
