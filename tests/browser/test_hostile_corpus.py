"""The hostility corpus in a real browser: nothing runs, nothing loads elsewhere.

Each batch is sent with `[[echo]]`, so the same payloads arrive as the user's
message and as the model's reply (streamed in frames, then final), and are
checked again after a reload. Images in model output are never fetched: they
become links the reader may choose to follow.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.liveserver import LiveServer
from tests.security.corpus import BROWSER_CORPUS

pytestmark = pytest.mark.browser

BATCH = 14
LOADING_TAGS = (
    "script, img, svg, iframe, object, embed, video, audio, source, picture, "
    "link, meta, style, base, form, input, math, marquee, noscript"
)
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def batches() -> list[str]:
    return [
        "[[echo]] [[pace:ttft=0,tps=300]]\n\n"
        + "\n\n".join(BROWSER_CORPUS[i : i + BATCH])
        for i in range(0, len(BROWSER_CORPUS), BATCH)
    ]


def test_the_corpus_neither_executes_nor_loads_anything_from_elsewhere(
    alice_page: Page, app_server: LiveServer
) -> None:
    page = alice_page
    origin = urlsplit(app_server.url).netloc
    foreign: list[str] = []
    dialogs: list[str] = []
    page.on(
        "request",
        lambda r: (
            foreign.append(r.url)
            if urlsplit(r.url).netloc != origin and not r.url.startswith("data:")
            else None
        ),
    )
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(WATCH)

    page.goto("/")
    replies = page.locator('[data-testid="message"][data-role="assistant"]')
    for n, text in enumerate(batches()):
        area = page.locator('form[data-testid="composer"] textarea[name="message"]')
        area.fill(text)
        if n == 0:
            page.click('[data-testid="send"]')
            page.wait_for_url(re.compile(r"/threads/[0-9a-f-]{36}/$"))
        else:
            area.press("Enter")
        expect(replies).to_have_count(n + 1)
        expect(replies.last).to_have_attribute(
            "data-status", "completed", timeout=30_000
        )
        expect(replies.last.locator('[data-testid="message-body"]')).to_contain_text(
            re.compile(r"__pwned|evil\.invalid")
        )

    def assert_inert() -> None:
        bodies = page.locator('[data-testid="message-body"]')
        expect(bodies.first).to_be_attached()
        expect(bodies.locator(LOADING_TAGS)).to_have_count(0)
        for attr in ("onerror", "onload", "onclick", "onfocus", "style", "src", "ping"):
            expect(bodies.locator(f"[{attr}]")).to_have_count(0)
        hrefs = bodies.locator("a[href]").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs)
        # Remote images are shown as links with their alt text, never loaded.
        expect(bodies.locator("a.md-image").first).to_be_attached()
        assert page.evaluate("() => window.__pwned") is None
        assert page.evaluate("() => window.__violations") == []
        assert re.search(r"/threads/[0-9a-f-]{36}/$", page.url)

    assert_inert()
    page.reload()
    expect(replies.last).to_have_attribute("data-status", "completed")
    assert_inert()
    assert dialogs == []
    assert foreign == []
    # The probe works: a page global set by the test is visible to it.
    assert page.evaluate("() => { window.__probe = 1; return window.__probe; }") == 1
