"""Discord's rate limits as the stand-in enforces them: per-route buckets and the global limit.

Discord answers every REST request with the state of the route's bucket (`X-RateLimit-Limit`,
`-Remaining`, `-Reset`, `-Reset-After`, `-Bucket`), and a request over a limit with 429, a JSON
`retry_after` in seconds, `X-RateLimit-Scope` (`user`, or `global` for the global limit, which
also sets `X-RateLimit-Global: true`) and `Retry-After`. discord.py reads these headers: it
waits out a bucket whose `Remaining` is 0 before its next request on that route, and after a
429 waits `retry_after` and tries again. Facts from Discord's documentation
(https://discord.com/developers/docs/topics/rate-limits):

- a bucket is per route and per major parameter (channel, guild, webhook): creating messages in
  one channel does not slow another channel; the stand-in uses 5 per 5 s there, the limit
  bots see for `POST /channels/{id}/messages`;
- the global limit is 50 requests per second per bot; interaction endpoints
  (`/interactions/...`, `/webhooks/{application}/{token}`) are not bound to it.

Windows here are fixed (they begin with the first request after the last one ended), as
Discord's `Reset` header describes them. `RateLimits.clock` is injectable (seconds,
monotonic), apart from the stand-in's clock for interaction windows, since discord.py waits out
a limit on the real clock.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

GLOBAL_PER_SECOND = 50
MESSAGE_CREATE_LIMIT = 5
MESSAGE_CREATE_SECONDS = 5.0
OTHER_ROUTE_LIMIT = 50  # routes the stand-in has no Discord figure for: generous, still a bucket
OTHER_ROUTE_SECONDS = 1.0

_MAJOR = re.compile(r"^/(channels|guilds|webhooks)/(\d+)")
_ID = re.compile(r"/\d+")
_FREE_OF_GLOBAL = re.compile(r"^/(interactions|webhooks)/")


@dataclass
class Window:
    """One fixed window: when it began (clock seconds), how long it lasts, what it allows."""

    limit: int
    seconds: float
    began: float = -1e18
    used: int = 0

    def take(self, now: float) -> float | None:
        """Count one request; None when allowed, else the seconds until the window ends."""
        if now >= self.began + self.seconds:
            self.began, self.used = now, 0
        if self.used >= self.limit:
            return self.began + self.seconds - now
        self.used += 1
        return None

    def reset_after(self, now: float) -> float:
        return max(0.0, self.began + self.seconds - now)


@dataclass(frozen=True)
class Verdict:
    """What a request met: its bucket's headers, and a 429's `retry_after` and scope."""

    headers: dict[str, str]
    retry_after: float | None = None
    scope: str = "user"


@dataclass
class RateLimits:
    """The buckets and the global limit of one stand-in; tests may lower the numbers."""

    global_per_second: int = GLOBAL_PER_SECOND
    message_create_limit: int = MESSAGE_CREATE_LIMIT
    message_create_seconds: float = MESSAGE_CREATE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, Window] = field(default_factory=dict)
    _global: Window | None = None

    def route(self, method: str, path: str) -> tuple[str, int, float]:
        """(bucket key, limit, window seconds) of a request: route template plus its major
        parameter, so each channel has its own bucket for creating messages."""
        major = _MAJOR.match(path)
        template = _ID.sub("/{id}", path)
        key = f"{method} {template} {major[2] if major else ''}"
        if method == "POST" and re.fullmatch(r"/channels/\d+/messages", path):
            return key, self.message_create_limit, self.message_create_seconds
        return key, OTHER_ROUTE_LIMIT, OTHER_ROUTE_SECONDS

    def check(self, method: str, path: str) -> Verdict:
        """Count a request against the global limit and its bucket."""
        now = self.clock()
        if not _FREE_OF_GLOBAL.match(path):
            if self._global is None or self._global.limit != self.global_per_second:
                self._global = Window(self.global_per_second, 1.0)
            wait = self._global.take(now)
            if wait is not None:
                headers = {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
                return Verdict(headers, retry_after=wait, scope="global")
        key, limit, seconds = self.route(method, path)
        bucket = self._buckets.get(key)
        if bucket is None or (bucket.limit, bucket.seconds) != (limit, seconds):
            bucket = self._buckets[key] = Window(limit, seconds)
        wait = bucket.take(now)
        reset_after = bucket.reset_after(now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            # Discord's bucket hash names the route's limit, not the major parameter.
            "X-RateLimit-Bucket": hashlib.sha1(key.rsplit(" ", 1)[0].encode()).hexdigest()[:16],
        }
        if wait is not None:
            headers["X-RateLimit-Scope"] = "user"
            return Verdict(headers, retry_after=wait)
        return Verdict(headers)
