"""Save docs/chat.png: a thread with a table, a code block and a list.

Starts the app the way the browser tests do (Daphne, a fresh database, the
simulator) and drives Debian's Chromium. Usage:

    .venv/bin/python scripts/screenshot.py [output.png]
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, the repository is not on the path; the helpers live in tests/.
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from simulator import SimulatorServer  # noqa: E402
from tests.browser.liveserver import (  # noqa: E402
    launch_chromium,
    login,
    start_live_server,
)

PROMPTS = (
    "Give me a few tips for clear commit messages",
    "Show me a Python function for the Fibonacci sequence",
    "Compare the hosting options in a table",
)


def wait_for_reply(page: Page, count: int) -> None:
    replies = page.locator('[data-testid="message"][data-role="assistant"]')
    expect(replies).to_have_count(count)
    expect(replies.last).to_have_attribute("data-status", "completed")


def main(output: Path) -> None:
    upstream = SimulatorServer(ttft=0, tps=5000).start()
    server = start_live_server(upstream_url=upstream.base_url)
    playwright = sync_playwright().start()
    try:
        browser = launch_chromium(playwright)
        context = browser.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        login(page, "alice")
        area = page.locator('form[data-testid="composer"] textarea[name="message"]')
        area.fill(PROMPTS[0])
        area.press("Enter")
        page.wait_for_url("**/threads/*/")
        wait_for_reply(page, 1)
        for count, prompt in enumerate(PROMPTS[1:], start=2):
            area.fill(prompt)
            area.press("Enter")
            wait_for_reply(page, count)
        # A fresh load shows the thread as anyone opening it would see it.
        page.reload()
        wait_for_reply(page, len(PROMPTS))
        output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(output))
        browser.close()
    finally:
        playwright.stop()
        server.stop()
        upstream.stop()
    print(
        f"Saved {output.relative_to(REPO) if output.is_relative_to(REPO) else output}"
    )


if __name__ == "__main__":
    main(
        Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "docs" / "chat.png"
    )
