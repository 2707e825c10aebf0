"""A per-user token bucket for websocket frames: floods are refused, not served.

The bucket lives in Django's cache, so every socket of a user shares it (and
every process too, when the cache is shared); the default local-memory cache
makes it per process, which still caps what one process does for one user.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

TOO_FAST = _("You are sending too fast. Wait a few seconds, then try again.")


def frame_allowed(user_id: object, *, now: float | None = None) -> bool:
    """Take one token from the user's bucket; False when it is empty."""
    burst = settings.CHAT_RATE_LIMIT_BURST
    per_second = settings.CHAT_RATE_LIMIT_PER_MINUTE / 60
    now = time.monotonic() if now is None else now
    key = f"chat-rate:{user_id}"
    tokens, stamp = cache.get(key) or (float(burst), now)
    tokens = min(float(burst), tokens + (now - stamp) * per_second)
    allowed = tokens >= 1
    if allowed:
        tokens -= 1
    # Not atomic across processes: a race lets a frame or two more through,
    # which is harmless for a flood guard.
    cache.set(key, (tokens, now), timeout=max(60, int(burst / per_second) + 1))
    return allowed
