"""Alternatives in the browser: regenerate, edit, switch, and reload the path."""

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_chat import body, messages, send, start_thread

pytestmark = pytest.mark.browser


def completed(reply: Locator) -> None:
    expect(reply).to_have_attribute("data-status", "completed")


def position(message: Locator) -> Locator:
    return message.locator('[data-testid="branch-position"]')


PATH_JS = """() =>
  Array.from(document.querySelectorAll("#messages [data-testid=message]")).map((m) => [
    m.dataset.role,
    m.querySelector("[data-testid=message-body]").innerText.trim(),
    (m.querySelector("[data-testid=branch-position]") || {}).innerText || "",
  ])"""


def visible_path(page: Page) -> list[tuple[str, str, str]]:
    """(role, text, "i/n" or "") of each message on screen, in order."""
    return page.evaluate(PATH_JS)


def test_regenerate_edit_switch_and_reload_keep_one_path(alice_page: Page) -> None:
    page = alice_page
    completed(start_thread(page, "My name is John, please remember it."))
    completed(send(page, "My favourite colour is blue."))

    # Regenerate the last reply: a sibling, shown as the second of two.
    first_reply = messages(page, "assistant").last
    first_id = first_reply.get_attribute("data-id")
    first_reply.locator('[data-testid="regenerate"]').click()
    regenerated = page.locator(
        f'[data-testid="message"][data-role="assistant"]:not([data-id="{first_id}"])'
    ).last
    completed(regenerated)
    expect(position(messages(page, "assistant").last)).to_have_text("2/2")
    expect(messages(page, "assistant")).to_have_count(2)

    # Back to the first alternative, and forward again.
    messages(page, "assistant").last.locator('[data-testid="branch-prev"]').click()
    expect(messages(page, "assistant").last).to_have_attribute("data-id", first_id)
    expect(position(messages(page, "assistant").last)).to_have_text("1/2")
    messages(page, "assistant").last.locator('[data-testid="branch-next"]').click()
    expect(position(messages(page, "assistant").last)).to_have_text("2/2")

    # Edit the second message: a new branch from that point.
    blue = messages(page, "user").last
    blue.locator('[data-testid="edit"]').click()
    editor = blue.locator('[data-testid="edit-form"] textarea')
    expect(editor).to_be_focused()
    editor.fill("My favourite colour is green.")
    editor.press("Enter")
    expect(body(messages(page, "user").last)).to_have_text(
        "My favourite colour is green."
    )
    expect(position(messages(page, "user").last)).to_have_text("2/2")
    completed(messages(page, "assistant").last)
    expect(page.locator("#messages")).not_to_contain_text("blue")

    # The next message continues the path on screen.
    completed(send(page, "What do you know about me?"))
    before = visible_path(page)
    assert [role for role, _, _ in before] == ["user", "assistant"] * 3
    assert "blue" not in " ".join(text for _, text, _ in before)

    page.reload()
    expect(messages(page, "assistant")).to_have_count(3)
    assert visible_path(page) == before

    # Switching back to "blue" shows that branch as it was left.
    messages(page, "user").nth(1).locator('[data-testid="branch-prev"]').click()
    expect(body(messages(page, "user").nth(1))).to_have_text(
        "My favourite colour is blue."
    )
    expect(messages(page, "assistant")).to_have_count(2)
    expect(position(messages(page, "assistant").last)).to_have_text("2/2")


def test_cancelling_an_edit_changes_nothing(alice_page: Page) -> None:
    page = alice_page
    completed(start_thread(page, "Keep this as it is."))
    message = messages(page, "user").last
    message.locator('[data-testid="edit"]').click()
    message.locator('[data-testid="edit-form"] textarea').fill("Something else")
    message.locator('[data-testid="edit-form"] textarea').press("Escape")
    expect(message.locator('[data-testid="edit-form"]')).to_be_hidden()
    expect(body(message)).to_have_text("Keep this as it is.")
    expect(message.locator('[data-testid="edit"]')).to_be_focused()
    page.reload()
    expect(messages(page, "user")).to_have_count(1)
    expect(position(messages(page, "user").last)).to_have_count(0)
