"""A real Daphne process, a real simulator and Debian's Chromium.

The sync Playwright API refuses to run inside an event loop, so every browser
test is a plain function, and none asks for pytest-django's `db`: the live
server has its own database (see `liveserver.py`).
"""

from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    StorageState,
    sync_playwright,
)

from simulator import SimulatorServer
from tests.browser.liveserver import (
    LiveServer,
    launch_chromium,
    login,
    start_live_server,
)


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


def _new_context(
    browser: Browser, app_server: LiveServer, **options: Any
) -> BrowserContext:
    context = browser.new_context(
        base_url=app_server.url, viewport={"width": 1280, "height": 800}, **options
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser: Browser, app_server: LiveServer) -> Iterator[BrowserContext]:
    context = _new_context(browser, app_server)
    yield context
    context.close()


@pytest.fixture(scope="session")
def signed_in(browser: Browser, app_server: LiveServer) -> Callable[[str], Page]:
    """Pages already logged in as a persona, each in a context of its own.

    Logging in hashes a password (about a second), so each persona logs in
    through the form once and later contexts reuse its cookies.
    """
    states: dict[str, StorageState] = {}

    def page_for(username: str) -> Page:
        if username not in states:
            context = _new_context(browser, app_server)
            login(context.new_page(), username)
            states[username] = context.storage_state()
            context.close()
        context = _new_context(browser, app_server, storage_state=states[username])
        return context.new_page()

    return page_for


# Where the server's log stood when a test started.
LOG_START = pytest.StashKey[tuple[LiveServer, int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # A failing browser test shows what the server logged while it ran.
    if report.failed and LOG_START in item.stash:
        app_server, start = item.stash[LOG_START]
        report.sections.append(("daphne log", app_server.log()[start:]))
    return report


@pytest.fixture(autouse=True)
def _per_test(
    request: pytest.FixtureRequest,
    upstream_server: SimulatorServer,
    app_server: LiveServer,
) -> Iterator[None]:
    upstream_server.faults.clear()
    request.node.stash[LOG_START] = (app_server, len(app_server.log()))
    yield
    upstream_server.faults.clear()


@pytest.fixture
def alice_page(signed_in: Callable[[str], Page]) -> Iterator[Page]:
    page = signed_in("alice")
    yield page
    page.context.close()


@pytest.fixture
def bob_page(signed_in: Callable[[str], Page]) -> Iterator[Page]:
    page = signed_in("bob")
    yield page
    page.context.close()
