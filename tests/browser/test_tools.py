"""Tools and thinking in the browser: shown as they happen, the same after reload."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_chat import THREAD_URL, body, composer, messages

pytestmark = pytest.mark.browser

# Records, in the page, the order in which the new reply's parts first appear:
# an observer sees every intermediate DOM state, so the order is exact.
WATCH_ORDER = """
before => {
  window.__order = [];
  const seen = new Set();
  const mark = (key, present) => {
    if (present && !seen.has(key)) { seen.add(key); window.__order.push(key); }
  };
  new MutationObserver(() => {
    const reply = document.querySelectorAll(
      '[data-testid=message][data-role=assistant]')[before];
    if (!reply) return;
    mark('reasoning', reply.querySelector('[data-testid=reasoning]'));
    for (const kind of ['web_search_call', 'web_extractor_call']) {
      mark(kind, reply.querySelector(
        `[data-testid=tool-call][data-tool-type=${kind}]`));
    }
    const text = reply.querySelector('[data-testid=message-body]');
    mark('answer', text && text.textContent.trim());
  }).observe(document.getElementById('messages'),
             {childList: true, subtree: true, characterData: true});
}
"""


def cards(page: Page) -> list[tuple[str, str]]:
    reply = messages(page, "assistant").last
    return reply.locator(
        "[data-testid=reasoning], [data-testid=tool-call]"
    ).evaluate_all(
        "els => els.map(e => [e.dataset.toolType || 'reasoning',"
        " e.textContent.replace(/\\s+/g, ' ').trim()])"
    )


def test_thinking_and_tool_cards_appear_before_the_answer_and_after_reload(
    alice_page: Page,
) -> None:
    page = alice_page
    page.goto("/")
    composer(page).fill("[[tokens:3]] hello")
    page.click('[data-testid="send"]')
    page.wait_for_url(THREAD_URL)
    expect(messages(page, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )

    page.click('[data-testid="settings-toggle"]')
    form = page.locator('[data-testid="settings-form"]')
    form.locator('input[name="tools"][value="web_search"]').check()
    form.locator('input[name="tools"][value="web_extractor"]').check()
    form.locator('input[name="enable_thinking"]').check()
    form.locator('button[type="submit"]').click()
    page.wait_for_url(THREAD_URL)

    page.evaluate(WATCH_ORDER, messages(page, "assistant").count())
    composer(page).fill(
        "[[pace:ttft=0.2,tps=30]] Search the latest news and extract "
        "https://example.org/report"
    )
    composer(page).press("Enter")
    expect(messages(page, "assistant")).to_have_count(2)
    reply = messages(page, "assistant").last
    expect(reply).to_have_attribute("data-status", "completed")

    order = page.evaluate("window.__order")
    assert order.index("answer") == len(order) - 1, order
    assert set(order) == {
        "reasoning",
        "web_search_call",
        "web_extractor_call",
        "answer",
    }
    assert order.index("web_search_call") < order.index("web_extractor_call")

    search = reply.locator("[data-testid=tool-call][data-tool-type=web_search_call]")
    extract = reply.locator(
        "[data-testid=tool-call][data-tool-type=web_extractor_call]"
    )
    # Folded once the answer is there; a click opens a card.
    expect(search).not_to_have_attribute("open", "")
    extract.locator("summary").click()
    expect(extract.locator('a[href="https://example.org/report"]')).to_be_visible()
    expect(body(reply)).to_contain_text("I searched the web for")

    live = cards(page)
    assert [kind for kind, _ in live] == [
        "reasoning",
        "web_search_call",
        "reasoning",
        "web_extractor_call",
    ]
    page.reload()
    expect(messages(page, "assistant").last).to_have_attribute(
        "data-status", "completed"
    )
    assert cards(page) == live
    assert re.search(r"^Thinking", live[0][1])
