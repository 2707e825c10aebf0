"""Daphne, on uvloop: `python -m chatsite.serve <daphne's arguments>`.

The same server and arguments as the `daphne` command, on a faster event loop:
libuv's socket watching and callbacks in C, where every streamed frame adds
and drops a writer and every upstream delta wakes a reader (200 streams: 70-72 %
of a core against 75-76 % on asyncio's loop, bench/concurrency.py, README
"Benchmarks"). Daphne makes its loop as it is imported, so the loop is chosen
before that. `ASGI_LOOP=asyncio` runs on the standard loop.
"""

import asyncio
import os
import sys

LOOPS = ("uvloop", "asyncio")


def main() -> int:
    loop = os.environ.get("ASGI_LOOP", "uvloop")
    if loop not in LOOPS:
        sys.exit(f"ASGI_LOOP must be one of {', '.join(LOOPS)}, not {loop!r}.")
    if loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from daphne.cli import CommandLineInterface

    return CommandLineInterface.entrypoint()


if __name__ == "__main__":
    sys.exit(main())
