"""A real Daphne process, a real simulator and Debian's Chromium.

The sync Playwright API refuses to run inside an event loop, so every browser
test is a plain function, and none asks for pytest-django's `db`: the live
server has its own database (see `liveserver.py`).
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from simulator import SimulatorServer
from tests.browser.liveserver import LiveServer, launch_chromium, login, start_live_server


@pytest.fixture(scope="session")
def app_server(upstream_server: SimulatorServer) -> Iterator[LiveServer]:
    server = start_live_server(upstream_url=upstream_server.base_url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    playwright = sync_playwright().start()
    browser = launch_chromium(playwright)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def context(browser: Browser, app_server: LiveServer) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=app_server.url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture(autouse=True)
def _clean_faults(upstream_server: SimulatorServer) -> Iterator[None]:
    upstream_server.faults.clear()
    yield
    upstream_server.faults.clear()


@pytest.fixture
def alice_page(context: BrowserContext) -> Page:
    page = context.new_page()
    login(page, "alice")
    return page


@pytest.fixture
def bob_page(browser: Browser, app_server: LiveServer) -> Iterator[Page]:
    # Bob has his own context: his own cookies, beside alice's.
    context = browser.new_context(base_url=app_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    login(page, "bob")
    yield page
    context.close()
