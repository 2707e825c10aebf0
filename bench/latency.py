"""Added latency per delta: simulator send -> text visible (a) at a websocket
client, (b) in a real browser's DOM (Playwright + Chromium, a MutationObserver).

    .venv/bin/python bench/latency.py [--replies 10] [--words 150] [--frame-ms 50]

One Daphne process (PostgreSQL, in-memory layer), the simulator in its own
process at realistic pacing (TTFT 0.35 s, 40 deltas/s). Each reply echoes a
known text, so each delta's words can be found in what the client sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from common import (
    SeenWords,
    by_response,
    delta_delays,
    start_app,
    start_simulator,
    summary,
    words_text,
)

from tests.browser.liveserver import launch_chromium, login
from tests.production.cluster import Client

OBSERVER = """
(() => {
  window.__seen = [];
  const messages = document.getElementById('messages');
  const count = () => {
    const bodies = messages.querySelectorAll(
      '[data-role="assistant"] [data-testid="message-body"]');
    if (!bodies.length) return;
    const text = bodies[bodies.length - 1].textContent.trim();
    const words = text ? text.split(/\\s+/).length : 0;
    const last = window.__seen[window.__seen.length - 1];
    if (!last || last[1] !== words)
      window.__seen.push([performance.timeOrigin + performance.now(), words]);
  };
  new MutationObserver(count).observe(messages,
    {childList: true, subtree: true, characterData: true});
})();
"""


async def websocket_run(cluster, simulator, threads, words) -> tuple[list, list]:
    process = cluster.processes[0]
    client = await Client(process.url).login("alice")
    first, every = [], []
    try:
        for index, thread in enumerate(threads):
            socket = await client.socket(thread)
            simulator.record()
            marker = f"m{index}"
            await socket.send(
                action="send",
                message="[[echo]]" + words_text(words, marker),
                client_id=marker,
            )
            seen: list[tuple[float, int]] = []
            counter = SeenWords()
            while True:
                text = await socket.receive()
                now = time.time()
                if text.startswith("{"):
                    seen.append((now, counter.apply(json.loads(text))))
                elif 'data-status="completed"' in text and "outerHTML" in text:
                    break
            (rows,) = by_response(simulator.timings()).values()
            delays = delta_delays(rows, seen)
            await socket.close()
            if index == 0:
                continue  # warm-up: the process's first reply loads its modules
            first.append(delays[0])
            every.extend(delays)
    finally:
        await client.close()
    return first, every


def browser_run(cluster, simulator, threads, words) -> tuple[list, list]:
    from playwright.sync_api import sync_playwright

    first, every = [], []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(base_url=cluster.processes[0].url)
        page = context.new_page()
        login(page, "alice")
        for index, thread in enumerate(threads):
            page.goto(f"/threads/{thread}/")
            page.wait_for_function("document.querySelector('[hx-ext]') !== null")
            page.wait_for_timeout(300)  # the websocket connects (not measured)
            page.evaluate(OBSERVER)
            simulator.record()
            marker = f"b{index}"
            page.fill(
                'textarea[name="message"]', "[[echo]]" + words_text(words, marker)
            )
            page.click('[data-testid="send"]')
            page.wait_for_selector(
                '[data-role="assistant"][data-status="completed"]', timeout=60_000
            )
            seen = [(t / 1000, n) for t, n in page.evaluate("window.__seen")]
            (rows,) = by_response(simulator.timings()).values()
            # The user's own message is not an assistant body: no offset needed.
            delays = delta_delays(rows, seen)
            first.append(delays[0])
            every.extend(delays)
        browser.close()
    return first, every


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=10)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--frame-ms", type=int, default=None)
    args = parser.parse_args()
    env = (
        {} if args.frame_ms is None else {"CHAT_FRAME_INTERVAL_MS": str(args.frame_ms)}
    )
    simulator = start_simulator(ttft=0.35, tps=40)
    cluster = None
    try:
        cluster = start_app(simulator, extra_env=env)
        cluster.start("app")
        threads = cluster.threads_create(2 * args.replies + 1)
        ws_first, ws_every = asyncio.run(
            websocket_run(cluster, simulator, threads[: args.replies + 1], args.words)
        )
        br_first, br_every = browser_run(
            cluster, simulator, threads[args.replies + 1 :], args.words
        )
    finally:
        if cluster is not None:
            cluster.stop()
        simulator.stop()
    interval = args.frame_ms if args.frame_ms is not None else "default (20)"
    print(
        f"Added latency, simulator send -> visible; CHAT_FRAME_INTERVAL_MS={interval}"
    )
    print(f"  websocket first delta: {summary(ws_first)}")
    print(f"  websocket every delta: {summary(ws_every)}")
    print(f"  browser   first delta: {summary(br_first)}")
    print(f"  browser   every delta: {summary(br_every)}")


if __name__ == "__main__":
    main()
