"""Save docs/usage-dashboard.png: the admin's usage dashboard over a made-up month.

Starts the app as the browser tests do (Daphne, a fresh database), seeds
`scripts/usage_demo_seed.py`, signs in as a staff user and drives Chromium.

    .venv/bin/python scripts/usage_screenshot.py [output.png]
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from simulator import SimulatorServer  # noqa: E402
from tests.browser.liveserver import launch_chromium, start_live_server  # noqa: E402


def main(output: Path) -> None:
    upstream = SimulatorServer(ttft=0, tps=5000).start()
    server = start_live_server(upstream_url=upstream.base_url)
    playwright = sync_playwright().start()
    try:
        server.manage(
            "shell", "-c", (REPO / "scripts" / "usage_demo_seed.py").read_text()
        )
        browser = launch_chromium(playwright)
        context = browser.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.goto("/admin/login/?next=/admin/usage/")
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", "operator-pass-123")
        page.click("input[type=submit]")
        expect(page.locator('[data-testid="usage-dashboard"]')).to_be_visible()
        output.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(output), full_page=True)
        browser.close()
    finally:
        playwright.stop()
        server.stop()
        upstream.stop()
    print(f"Saved {output}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]).resolve()
        if len(sys.argv) > 1
        else REPO / "docs" / "usage-dashboard.png"
    )
