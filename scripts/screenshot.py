"""Save the README's screenshots in docs/: the chat on a desktop in the light
and the dark theme, on a phone, and in Chinese.

Starts the app the way the browser tests do (Daphne, a fresh database, the
simulator) and drives Debian's Chromium. Usage:

    .venv/bin/python scripts/screenshot.py [output-directory]
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, the repository is not on the path; the helpers live in tests/.
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from simulator import SimulatorServer  # noqa: E402
from tests.browser.liveserver import (  # noqa: E402
    LiveServer,
    launch_chromium,
    login,
    start_live_server,
)

PROMPTS = (
    "Give me a few tips for clear commit messages",
    "Show me a Python function for the Fibonacci sequence",
    "Compare the hosting options in a table",
)
PROMPTS_ZH = ("用中文介绍一下长江", "用中文写一首关于秋天的短诗")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def wait_for_reply(page: Page, count: int) -> None:
    replies = page.locator('[data-testid="message"][data-role="assistant"]')
    expect(replies).to_have_count(count)
    expect(replies.last).to_have_attribute("data-status", "completed")


def chat(page: Page, prompts: tuple[str, ...]) -> str:
    """Start a thread with `prompts`; returns its URL."""
    page.goto("/")
    area = page.locator('form[data-testid="composer"] textarea[name="message"]')
    area.fill(prompts[0])
    area.press("Enter")
    page.wait_for_url("**/threads/*/")
    wait_for_reply(page, 1)
    for count, prompt in enumerate(prompts[1:], start=2):
        area.fill(prompt)
        area.press("Enter")
        wait_for_reply(page, count)
    return page.url


def shoot(
    browser: Browser,
    server: LiveServer,
    state: dict,
    url: str,
    path: Path,
    *,
    theme: str = "light",
    viewport: dict[str, int] = DESKTOP,
    mobile: bool = False,
) -> None:
    """A fresh load of `url`, as anyone opening it would see it."""
    context = browser.new_context(
        base_url=server.url,
        storage_state=state,
        viewport=viewport,
        is_mobile=mobile,
        has_touch=mobile,
        color_scheme=theme,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(url)
    expect(page.locator('[data-testid="message"]').last).to_have_attribute(
        "data-status", "completed"
    )
    page.screenshot(path=str(path))
    context.close()
    print(f"Saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def main(out: Path) -> None:
    upstream = SimulatorServer(ttft=0, tps=5000).start()
    server = start_live_server(upstream_url=upstream.base_url)
    playwright = sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
        context = browser.new_context(base_url=server.url, viewport=DESKTOP)
        context.set_default_timeout(15_000)
        page = context.new_page()
        login(page, "alice")
        thread = chat(page, PROMPTS)
        # The Chinese UI: the language cookie the switch sets, and a thread
        # written in Chinese.
        page.select_option('[data-testid="language"]', "zh-hans")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        thread_zh = chat(page, PROMPTS_ZH)
        state_zh = context.storage_state()
        page.select_option('[data-testid="language"]', "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        state = context.storage_state()
        context.close()

        out.mkdir(parents=True, exist_ok=True)
        shoot(browser, server, state, thread, out / "chat.png")
        shoot(browser, server, state, thread, out / "chat-dark.png", theme="dark")
        shoot(
            browser,
            server,
            state,
            thread,
            out / "chat-mobile.png",
            viewport=PHONE,
            mobile=True,
        )
        shoot(browser, server, state_zh, thread_zh, out / "chat-zh.png")
        browser.close()
    finally:
        playwright.stop()
        server.stop()
        upstream.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "docs")
