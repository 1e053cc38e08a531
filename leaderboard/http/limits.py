"""Request rate limits: token buckets per client address and per team.

These classes keep their state in this process; the server keeps it in its database instead
(:mod:`leaderboard.http.shared_limits`), so that several server processes share one limit.

A bucket holds at most ``burst`` requests and refills at ``per_minute`` a minute; a request
that finds it empty is refused with 429 and a ``Retry-After`` saying when one is back. Buckets
are bounded in number (the least recently used are forgotten first, which only ever forgives).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from leaderboard.http.errors import ApiError


@dataclass(frozen=True)
class Rate:
    """A limit: ``burst`` requests at once, refilled at ``per_minute`` a minute."""

    per_minute: float
    burst: int

    def __str__(self) -> str:
        return f"{self.per_minute:g} a minute (bursts of {self.burst})"


class Buckets:
    """Token buckets by key for one :class:`Rate` (thread-safe, at most ``max_keys`` kept)."""

    def __init__(self, rate: Rate, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.max_keys, self.clock = rate, max_keys, clock
        self._lock = threading.Lock()
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket; return 0 when allowed, else the seconds to
        wait for the next one (nothing taken)."""
        now = self.clock()
        per_s = self.rate.per_minute / 60.0
        with self._lock:
            level, at = self._state.get(key, (float(self.rate.burst), now))
            level = min(float(self.rate.burst), level + (now - at) * per_s)
            if level >= 1.0:
                self._state[key] = (level - 1.0, now)
                wait = 0.0
            else:
                self._state[key] = (level, now)
                wait = (1.0 - level) / per_s if per_s > 0 else 3600.0
            self._state.move_to_end(key)
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
        return wait

    def wait(self, key: str) -> float:
        """Return the seconds until ``key``'s bucket holds a request again (0: it holds one now);
        nothing is taken."""
        now = self.clock()
        per_s = self.rate.per_minute / 60.0
        with self._lock:
            level, at = self._state.get(key, (float(self.rate.burst), now))
        level = min(float(self.rate.burst), level + (now - at) * per_s)
        if level >= 1.0:
            return 0.0
        return (1.0 - level) / per_s if per_s > 0 else 3600.0

    def check(self, key: str, what: str) -> None:
        """Take one request from ``key``'s bucket or raise ApiError 429 with ``Retry-After``."""
        wait = self.take(key)
        if wait > 0:
            raise too_many(what, str(self.rate), wait)


def too_many(what: str, limit: str, wait_s: float, code: str = "rate_limited") -> ApiError:
    """Return the 429 refusal for ``what`` over ``limit``, retry after ``wait_s`` seconds."""
    after = max(1, math.ceil(wait_s))
    return ApiError(
        429,
        code,
        f"too many {what}: at most {limit}; retry in {after} s",
        headers={"Retry-After": str(after)},
        retry_after=after,
    )


@dataclass
class Limiter:
    """Every rate limit of one server process."""

    token_checks_per_address: Buckets
    failed_tokens_per_address: Buckets
    token_checks_per_team: Buckets
    uploads_per_address: Buckets
    uploads_per_team: Buckets
    max_concurrent_uploads: int

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._uploading: dict[int, int] = {}

    def start_upload(self, team_id: int) -> int | None:
        """Count an upload of ``team_id`` in progress, or raise 429 when it has its cap already;
        return what :meth:`end_upload` is given back (nothing here)."""
        with self._lock:
            n = self._uploading.get(team_id, 0)
            if n >= self.max_concurrent_uploads:
                raise too_many("uploads at once", f"{self.max_concurrent_uploads} per team", 1, code="too_many_uploads")
            self._uploading[team_id] = n + 1
        return None

    def end_upload(self, team_id: int, slot: int | None = None) -> None:
        """Count an upload of ``team_id`` as finished (``slot``: what start_upload returned)."""
        with self._lock:
            n = self._uploading.get(team_id, 0) - 1
            if n > 0:
                self._uploading[team_id] = n
            else:
                self._uploading.pop(team_id, None)
