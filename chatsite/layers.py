"""The embedded channel layer, made to scale with the number of sockets."""

import time

from channels.layers import InMemoryChannelLayer


class LocalChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, sweeping expired messages once a second.

    The stock layer walks every channel and group on every send and receive to
    drop what expired, so each message cost grew with the number of open
    sockets, and a thousand sockets joining one thread took minutes
    (bench/idle_memory.py). Messages expire after a minute: a sweep a second
    late changes nothing.
    """

    sweep_every = 1.0
    _swept_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= self.sweep_every:
            self._swept_at = now
            super()._clean_expired()
