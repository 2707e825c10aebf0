"""Markdown frames: the CPU of one streamed frame (`StreamingMarkdown.feed`)
while a reply writes prose, a tight and a loose list, and a long code block,
fed in deltas of a word as the simulator sends them; and, in the same run,
what a frame of the code block cost when the open block was highlighted on
every frame.

    .venv/bin/python bench/markdown_frames.py [--lines 120]

In-process (no server): the rendering alone, as every reply pays it per frame.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")


def documents(lines: int) -> dict[str, str]:
    prose = " ".join(f"word{i} and some more text," for i in range(lines * 2))
    items = "\n".join(
        f"- point {i}: a short item with *emphasis*" for i in range(lines)
    )
    code = "\n".join(
        f"    result_{i} = compute(value_{i}, factor={i}) + offset  # step {i}"
        for i in range(lines)
    )
    return {
        "prose": f"Here is the answer.\n\n{prose}",
        "list": f"The points:\n\n{items}",
        # Blank lines between items: a loose list is rendered whole per frame.
        "loose list": f"The points:\n\n{items.replace(chr(10), chr(10) * 2)}",
        "code block": f"Here is the code:\n\n```python\ndef run():\n{code}",
    }


def frames(text: str, feed) -> list[float]:
    words = text.split(" ")
    times, shown = [], ""
    for i, word in enumerate(words):
        shown += (" " if i else "") + word
        started = time.perf_counter()
        feed(shown)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=120)
    args = parser.parse_args()
    import django

    django.setup()
    from conversations.rendering import StreamingMarkdown, render_markdown

    print(f"Markdown frames: {args.lines} lines per document, one word per delta")
    print("document                      frames  median_us  last_100_us  total_s")
    docs = documents(args.lines)
    for name, text in docs.items():
        times = frames(text, StreamingMarkdown().feed)
        print(
            f"{name:<28}  {len(times):>6}  {statistics.median(times):>9.0f}"
            f"  {statistics.mean(times[-100:]):>11.0f}  {sum(times) / 1e6:>7.2f}"
        )
    # The same open code block highlighted on every frame (before streaming
    # frames left it unhighlighted): only the last 100 frames, it is slow.
    code = docs["code block"]
    words = code.split(" ")
    last = [" ".join(words[:n]) for n in range(len(words) - 100, len(words))]
    started = time.perf_counter()
    for text in last:
        render_markdown(text)
    each = (time.perf_counter() - started) / len(last) * 1e6
    print(f"{'code block, highlighted':<28}  {len(last):>6}  {'':>9}  {each:>11.0f}")


if __name__ == "__main__":
    main()
