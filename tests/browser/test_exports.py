"""Export a thread from the browser and import the file back."""

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_chat import THREAD_URL, body, messages, send, start_thread

pytestmark = pytest.mark.browser


def bodies(page: Page, role: str) -> Locator:
    return messages(page, role).locator('[data-testid="message-body"]')


def test_an_exported_thread_imports_back_the_same(alice_page: Page) -> None:
    page = alice_page
    expect(start_thread(page, "Name a river.")).to_have_attribute(
        "data-status", "completed"
    )
    expect(send(page, "And a sea?")).to_have_attribute("data-status", "completed")
    original_url = page.url
    texts = bodies(page, "assistant").all_inner_texts()

    page.click('[data-testid="thread-menu"]')
    with page.expect_download() as markdown:
        page.click('[data-testid="export-markdown"]')
    exported_md = Path(markdown.value.path()).read_text(encoding="utf-8")
    assert exported_md.startswith("# Name a river.")
    assert "## alice" in exported_md and "And a sea?" in exported_md

    with page.expect_download() as download:
        page.click('[data-testid="export-json"]')
    assert download.value.suggested_filename == "name-a-river.json"

    page.click('[data-testid="import-link"]')
    page.set_input_files('input[type="file"]', download.value.path())
    page.click('[data-testid="import"]')
    page.wait_for_url(THREAD_URL)
    assert page.url != original_url
    expect(page.locator('[data-testid="thread-title"]')).to_have_text("Name a river.")
    expect(bodies(page, "user")).to_have_text(["Name a river.", "And a sea?"])
    assert bodies(page, "assistant").all_inner_texts() == texts
    # The original stays; the copy sits beside it in the sidebar.
    expect(
        page.locator('[data-testid="thread-link"]', has_text="Name a river.")
    ).to_have_count(2)

    # The imported thread goes on like any other.
    reply = send(page, "And a lake?")
    expect(reply).to_have_attribute("data-status", "completed")
    expect(body(reply)).not_to_be_empty()
