"""Worker processes for database work that would take the streaming GIL.

A send is ~10 ms of Django ORM work. On the process that streams, it holds the
GIL its event loop needs: 300 sends in a second delayed every live stream's
frames by as much (bench/concurrency.py, README "Benchmarks"). In a worker
process it takes none of that GIL, and at a lower CPU priority the streams
come first wherever cores are short.

The workers are the same program: they read the same settings from the same
environment. A call's function must be importable by name, and its arguments,
result and exceptions picklable.
"""

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import translation

logger = logging.getLogger(__name__)

# Niceness of a worker: its sends wait while the streams need the cores.
NICE = 10
# What the calls need, imported as a worker starts: unpickling the first call
# imported it, the openai SDK with it, ~1 s of that send (py-spy of a worker).
PRELOAD = ("conversations.sends",)

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def enabled() -> bool:
    return settings.CHAT_SEND_WORKERS > 0


def warm() -> None:
    """Start the workers now, not on the first send: a worker takes a second
    or two to import Django. Cheap to repeat."""
    if enabled() and _pool is None:
        pool = _executor()
        for _ in range(settings.CHAT_SEND_WORKERS):
            pool.submit(_ready)


async def run[T](func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` in a worker, in the caller's language. A worker that died
    (killed, out of memory) breaks the pool: a new one takes the call once
    more, so `func` must be safe to run twice."""
    language = translation.get_language()
    loop = asyncio.get_running_loop()
    pool = _executor()
    try:
        return await loop.run_in_executor(pool, _call, language, func, args)
    except BrokenProcessPool:
        logger.warning("A worker process died; starting new ones.")
        _discard(pool)
        return await loop.run_in_executor(_executor(), _call, language, func, args)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                settings.CHAT_SEND_WORKERS,
                # Not fork: this process has threads (the database's, the
                # event loop's) whose locks a forked child would inherit held.
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_start,
                initargs=(os.getpid(),),
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:  # unless another call has replaced it already
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _start(server: int) -> None:
    os.nice(NICE)
    _exit_with(server)
    import django

    django.setup()
    for module in PRELOAD:
        import_module(module)


def _exit_with(server: int) -> None:
    """A server killed outright cannot stop its workers, and a worker waiting
    for work never hears that it is gone: each watches for itself."""
    try:
        gone = os.pidfd_open(server)  # readable once the server has exited
    except (AttributeError, OSError):  # not Linux 5.3+: ask every second
        gone = None

    def watch() -> None:
        if gone is not None:
            select.select([gone], [], [])
        else:
            while _exists(server):
                time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _ready() -> None:
    pass


def _call[T](language: str | None, func: Callable[..., T], args: tuple) -> T:
    # As database_sync_to_async does around each call: a connection past its
    # CONN_MAX_AGE or broken is replaced, not used.
    close_old_connections()
    try:
        with translation.override(language):
            return func(*args)
    finally:
        close_old_connections()
