"""Images, documents and search by meaning, as a person uses them (issue #11)."""

import base64
import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_chat import body, composer, messages, start_thread

pytestmark = pytest.mark.browser

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEklEQVR4nGP4z8DAwMDAxAAAFhYBA5u5jE8AAAAASUVORK5CYII="
)
DOC = (
    b"Project Heron: the launch is planned for March.\n"
    b"The budget is forty thousand euros.\n"
)


def a_thread(page: Page) -> None:
    expect(start_thread(page, "[[tokens:3]] hello")).to_have_attribute(
        "data-status", "completed"
    )


def pick(page: Page, name: str, data: bytes, mime: str) -> None:
    page.set_input_files(
        '[data-testid="attach-input"]',
        files=[{"name": name, "mimeType": mime, "buffer": data}],
    )


def test_an_attached_image_gets_a_streamed_answer(alice_page: Page) -> None:
    page = alice_page
    a_thread(page)
    pick(page, "pixel.png", PNG, "image/png")
    chip = page.locator('[data-testid="pending-attachment"]')
    expect(chip).to_have_text(re.compile("pixel.png"))
    expect(chip).to_have_attribute("data-id", re.compile(r"\d+"))

    composer(page).fill("What is in this picture?")
    composer(page).press("Enter")

    user = messages(page, "user").last
    expect(user.locator('[data-testid="message-attachment"] img')).to_be_visible()
    reply = messages(page, "assistant").nth(1)
    expect(reply).to_have_attribute("data-status", "completed")
    expect(body(reply)).to_contain_text("I see a PNG image of 3x2 pixels.")
    expect(chip).to_have_count(0)

    # The thread goes on as usual afterwards.
    composer(page).fill("[[tokens:4]] thanks")
    composer(page).press("Enter")
    expect(messages(page, "assistant")).to_have_count(3)
    expect(messages(page, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )


def test_a_dropped_file_of_the_wrong_type_is_refused_clearly(alice_page: Page) -> None:
    page = alice_page
    a_thread(page)
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          data.items.add(
            new File(["MZ"], "setup.exe", {type: "application/octet-stream"}));
          const target = document.querySelector(
            'form[data-testid="composer"] textarea');
          target.dispatchEvent(new DragEvent(
            "drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }"""
    )
    expect(page.locator('[data-testid="composer-error"]')).to_have_text(
        "“setup.exe” cannot be attached: attach PNG, JPEG, GIF or WebP images, "
        "or PDF, DOCX, TXT or Markdown documents."
    )
    expect(page.locator('[data-testid="pending-attachment"]')).to_have_count(0)


def test_a_pasted_image_is_attached(alice_page: Page) -> None:
    page = alice_page
    a_thread(page)
    page.evaluate(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "clip.png", {type: "image/png"}));
          const target = document.querySelector(
            'form[data-testid="composer"] textarea');
          target.dispatchEvent(new ClipboardEvent(
            "paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        base64.b64encode(PNG).decode(),
    )
    expect(page.locator('[data-testid="pending-attachment"]')).to_have_attribute(
        "data-id", re.compile(r"\d+")
    )


def test_ask_about_an_attached_document_then_remove_it(alice_page: Page) -> None:
    page = alice_page
    a_thread(page)
    pick(page, "heron.txt", DOC, "text/plain")
    expect(page.locator('[data-testid="pending-attachment"]')).to_have_attribute(
        "data-id", re.compile(r"\d+")
    )
    composer(page).fill("What is the budget of the project?")
    composer(page).press("Enter")
    reply = messages(page, "assistant").nth(1)
    expect(reply).to_have_attribute("data-status", "completed")
    expect(body(reply)).to_contain_text("The budget is forty thousand euros.")

    page.reload()
    files = page.locator('[data-testid="thread-file"]')
    expect(files).to_have_count(1)
    expect(files).to_contain_text("heron.txt")
    files.locator('[data-testid="remove-file"]').click()
    expect(page.locator('[data-testid="thread-file"]')).to_have_count(0)
    expect(page.locator(".flash")).to_contain_text("Removed “heron.txt”.")


def test_search_by_meaning_finds_a_message_sharing_no_words(alice_page: Page) -> None:
    page = alice_page
    expect(
        start_thread(
            page, "[[tokens:3]] My sedan makes a strange noise; who can mend it?"
        )
    ).to_have_attribute("data-status", "completed")
    results = page.locator('[data-testid="semantic-result"]')
    # Embedding runs in the background after the reply is stored: look again
    # (a fresh request each time) until it is indexed.
    deadline = time.monotonic() + 15
    while True:
        page.goto("/search/similar/?q=automobile+repair")
        if results.count() or time.monotonic() > deadline:
            break
    expect(results.first).to_contain_text("My sedan makes a strange noise")
    expect(page.locator('[data-testid="search-result"]')).to_have_count(0)
