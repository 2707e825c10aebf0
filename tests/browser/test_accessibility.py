"""An automated accessibility check (axe-core, shipped by the
axe-playwright-python package) of the main pages, in both themes."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.test_chat import send, start_thread

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}


def serious_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return sorted(
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_main_pages_have_no_serious_violations(
    alice_page: Page, context: BrowserContext, theme: str
) -> None:
    page = alice_page
    page.emulate_media(color_scheme=theme)
    reply = start_thread(page, "Compare the hosting options in a table")
    expect(reply).to_have_attribute("data-status", "completed")
    reply = send(page, "Show me a Python function for the Fibonacci sequence")
    expect(reply).to_have_attribute("data-status", "completed")
    thread_url = page.url

    found: dict[str, list[str]] = {}
    for url in ["/", thread_url, "/search/?q=python", "/archived/", "/threads/import/"]:
        page.goto(url)
        found[url] = serious_violations(page)
    page.goto(thread_url)
    page.click('[data-testid="shortcuts"]')
    found["shortcuts dialog"] = serious_violations(page)

    anonymous = context.new_page()
    anonymous.emulate_media(color_scheme=theme)
    for url in ["/accounts/login/", "/accounts/signup/"]:
        anonymous.goto(url)
        found[url] = serious_violations(anonymous)

    assert {url: v for url, v in found.items() if v} == {}


def test_the_checker_reports_what_it_should(context: BrowserContext) -> None:
    """A page with an unlabelled image and button fails: the scan is live."""
    page = context.new_page()
    page.set_content(
        "<!doctype html><html lang=en><title>t</title>"
        "<main><img src=a.png><button></button></main></html>"
    )
    found = serious_violations(page)
    assert [v.split(" ")[0] for v in found] == ["button-name", "image-alt"]
