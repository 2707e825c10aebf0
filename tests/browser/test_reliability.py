"""Cut replies, Continue and double clicks as a person meets them in the browser."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_chat import body, composer, messages, start_thread

pytestmark = pytest.mark.browser


def test_a_cut_reply_says_so_and_continue_completes_it(alice_page: Page) -> None:
    page = alice_page
    reply = start_thread(
        page, "[[fault:drop,after=6]] [[pace:ttft=0,tps=60]] Tell me about rivers"
    )
    expect(reply).to_have_attribute("data-status", "interrupted", timeout=15_000)
    expect(reply.locator('[data-testid="message-status-label"]')).to_have_text(
        "Interrupted"
    )
    expect(reply.locator(".message-error")).to_contain_text("broke before")
    expect(reply.locator('[data-testid="regenerate"]')).to_have_text("Retry")
    kept = body(reply).inner_text()
    assert kept

    reply.locator('[data-testid="continue"]').click()
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(messages(page, "assistant")).to_have_count(1)
    grown = body(reply).inner_text()
    assert grown.startswith(kept.rstrip()) and len(grown) > len(kept)
    expect(reply.locator('[data-testid="continue"]')).to_have_count(0)
    page.reload()
    expect(body(messages(page, "assistant").last)).to_have_text(grown)


def test_a_double_click_on_send_makes_one_turn(alice_page: Page) -> None:
    page = alice_page
    first = start_thread(page, "Hello there")
    expect(first).to_have_attribute("data-status", "completed")
    composer(page).fill("Only once, please")
    page.dblclick('[data-testid="send"]')
    expect(messages(page, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )
    expect(messages(page, "user")).to_have_count(2)
    page.reload()
    expect(messages(page, "user")).to_have_count(2)
    expect(messages(page, "assistant")).to_have_count(2)
