"""Rate limits, pauses and back-off shared by every process that talks to one remote API.

Both HTTP clients (sevDesk, Billbee) take a `RateLimiter`. Its state lives in Redis when the
project runs with Redis, so every web and worker process sees the same limits and the same
pause after a 429; without Redis (the embedded set-up: SQLite, file-system broker) it lives in
this process. The rate itself is a moving window from the `limits` library; pauses and
back-off counters are plain keys with a time to live next to it.

Keys name what is limited, never a secret: callers hash tokens with `secret_digest`, e.g.
``sevdesk:<digest of token>`` or ``billbee:<digest of key and user>:GET /orders``.

If Redis cannot be reached the limiter carries on within this process (and says so in the
log) rather than failing an export, and tries Redis again a little later.

No Django in here: the clients using it are Django-free. `limiter_from_settings` is the one
place that reads the settings.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import TypeVar

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MEMORY = "memory://"
KEY_PREFIX = "billbee-sevdesk:ratelimit"

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
BACKOFF_JITTER = 0.25  # up to a quarter longer, so processes that failed together part ways
# How long a run of 429s is remembered: longer than the pauses between the attempts.
BACKOFF_MEMORY_SECONDS = 3600
# No pause is longer than a day, whatever a Retry-After header says.
MAX_PAUSE_SECONDS = 24 * 3600
# After Redis failed, how long this process limits on its own before trying Redis again.
SHARED_RETRY_SECONDS = 30.0
# `wait` sleeps in steps between these, re-checking the shared window after each.
MIN_STEP_SECONDS = 0.01
MAX_STEP_SECONDS = 0.25
# Short timeouts: an unreachable Redis must not hold up an export for long.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}

T = TypeVar("T")


def secret_digest(*secrets: str) -> str:
    """A short, stable name for credentials, fit for a key or a log line."""
    return hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]


# --- Where the state lives -----------------------------------------------------------------


class _ProcessState:
    """Windows, pauses and back-off counters of this process only."""

    def __init__(self) -> None:
        self.windows = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._pauses: dict[str, float] = {}  # key → monotonic end of the pause
        self._failures: dict[str, tuple[int, float]] = {}  # key → (count, monotonic expiry)

    def pause(self, key: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        with self._lock:
            if until > self._pauses.get(key, 0.0):  # a shorter pause never cuts a longer one
                self._pauses[key] = until

    def paused_for(self, key: str) -> float:
        with self._lock:
            until = self._pauses.get(key)
            if until is None:
                return 0.0
            remaining = until - time.monotonic()
            if remaining <= 0:
                del self._pauses[key]
                return 0.0
            return remaining

    def count_failure(self, key: str, remember_for: int) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._failures.get(key, (0, 0.0))
            count = count + 1 if expires > now else 1
            self._failures[key] = (count, now + remember_for)
            return count

    def forget_failures(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class _RedisState:
    """The same in Redis: a pause is a key with a TTL, a back-off a counter with a TTL."""

    # Sets the pause unless a longer one is already running (PTTL: -2 missing, -1 no TTL).
    _PAUSE_SCRIPT = """
local ms = tonumber(ARGV[1])
if redis.call('pttl', KEYS[1]) < ms then
    redis.call('set', KEYS[1], '1', 'PX', ms)
end
return 1
"""

    def __init__(self, storage_uri: str) -> None:
        storage = storage_from_string(
            storage_uri, key_prefix=f"{KEY_PREFIX}:window", wrap_exceptions=True, **REDIS_OPTIONS
        )
        if not isinstance(storage, RedisStorage):
            raise ValueError("rate limits are shared through Redis only (redis:// or rediss://)")
        self.windows = MovingWindowRateLimiter(storage)
        self._redis = storage.get_connection()
        self._pause_script = self._redis.register_script(self._PAUSE_SCRIPT)

    def pause(self, key: str, seconds: float) -> None:
        milliseconds = max(1, math.ceil(seconds * 1000))
        self._pause_script(keys=[f"{KEY_PREFIX}:pause:{key}"], args=[milliseconds])

    def paused_for(self, key: str) -> float:
        milliseconds = int(self._redis.pttl(f"{KEY_PREFIX}:pause:{key}"))
        return max(milliseconds, 0) / 1000

    def count_failure(self, key: str, remember_for: int) -> int:
        name = f"{KEY_PREFIX}:backoff:{key}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, remember_for)
        count, _ = pipe.execute()
        return int(count)

    def forget_failures(self, key: str) -> None:
        self._redis.delete(f"{KEY_PREFIX}:backoff:{key}")

    def clear(self) -> None:
        for name in self._redis.scan_iter(match=f"{KEY_PREFIX}:*", count=500):
            self._redis.delete(name)


_State = _ProcessState | _RedisState


# --- The limiter ---------------------------------------------------------------------------


class RateLimiter:
    """One rate limit, pause and back-off per key, shared through `storage_uri`.

    `storage_uri` is ``memory://`` (this process only) or a Redis URL (every process using
    the same Redis). `sleep` and `jitter` (a number in [0, 1)) exist for tests.
    """

    def __init__(
        self,
        storage_uri: str = MEMORY,
        *,
        sleep: Callable[[float], object] = time.sleep,
        jitter: Callable[[], float] = random.random,
        backoff_base: float = BACKOFF_BASE_SECONDS,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
    ):
        self._local = _ProcessState()
        self._shared = None if storage_uri.startswith(MEMORY) else _RedisState(storage_uri)
        self._shared_down_until = 0.0
        self._sleep = sleep
        self._jitter = jitter
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    def __repr__(self) -> str:  # never the URI: it may hold Redis' password
        return f"<RateLimiter {'shared' if self._shared else 'in-process'}>"

    @property
    def is_shared(self) -> bool:
        """True while the state lives in Redis (False without Redis, or while it is down)."""
        return self._current() is self._shared

    def wait(self, key: str, per_second: float | None) -> None:
        """Block until `key` may send another request; `per_second=None` (or 0): no limit."""
        if not per_second:
            return
        rate = _rate(per_second)
        while not self._call(lambda state: state.windows.hit(rate, key)):
            reset_at = self._call(lambda state: state.windows.get_window_stats(rate, key)[0])
            self._sleep(min(max(reset_at - time.time(), MIN_STEP_SECONDS), MAX_STEP_SECONDS))

    def pause(self, key: str, seconds: float) -> None:
        """Nobody sends for `key` during the next `seconds` (a longer pause stays)."""
        if not seconds > 0:  # also refuses NaN
            return
        seconds = min(seconds, MAX_PAUSE_SECONDS)
        self._call(lambda state: state.pause(key, seconds))

    def paused_for(self, key: str) -> float:
        """Seconds until the pause of `key` ends; 0 when there is none."""
        return self._call(lambda state: state.paused_for(key))

    def backoff(self, key: str, *, base: float | None = None) -> float:
        """For a 429 without Retry-After: pause `key` for 2, 4, 8 … (at most 300) seconds.

        Each further failure within the hour doubles the pause, with a little jitter; returns
        the pause set. `base` overrides the first step (Billbee's window is one second).
        """
        failures = self._call(lambda state: state.count_failure(key, BACKOFF_MEMORY_SECONDS))
        first = self._backoff_base if base is None else base
        doubled = first * 2 ** min(failures - 1, 32)
        seconds = min(self._backoff_cap, doubled * (1 + BACKOFF_JITTER * self._jitter()))
        self.pause(key, seconds)
        return seconds

    def reset_backoff(self, key: str) -> None:
        """After a success: the next 429 of `key` starts the back-off afresh."""
        self._call(lambda state: state.forget_failures(key))

    def clear(self) -> None:
        """Forget every window, pause and back-off (in Redis too): for tests and operators."""
        self._local = _ProcessState()
        self._shared_down_until = 0.0
        if self._shared is not None:
            self._call(lambda state: state.clear() if state is self._shared else None)

    # --- Falling back to this process ---

    def _current(self) -> _State:
        if self._shared is None or time.monotonic() < self._shared_down_until:
            return self._local
        return self._shared

    def _call(self, operation: Callable[[_State], T]) -> T:
        state = self._current()
        if state is self._local:
            return operation(state)
        try:
            return operation(state)
        except (StorageError, RedisError) as exc:
            self._shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
            logger.warning(
                "Redis for rate limits unreachable (%s); limiting within this process only "
                "for the next %d seconds",
                type(getattr(exc, "storage_error", exc)).__name__,
                SHARED_RETRY_SECONDS,
            )
            return operation(self._local)


@functools.lru_cache(maxsize=32)
def _rate(per_second: float) -> RateLimitItem:
    """`per_second` as a window of whole seconds: 5 → 5 per 1 s, 2.5 → 5 per 2 s."""
    if not (per_second > 0 and math.isfinite(per_second)):
        raise ValueError(f"a rate must be a positive number, not {per_second!r}")
    share = Fraction(per_second).limit_denominator(60)
    if share == 0:  # slower than one request a minute
        return RateLimitItemPerSecond(1, round(1 / per_second))
    return RateLimitItemPerSecond(share.numerator, share.denominator)


# --- Building one --------------------------------------------------------------------------


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(storage_uri: str) -> RateLimiter:
    """The limiter of this process for `storage_uri` (one, so all clients share its state)."""
    with _limiters_lock:
        if storage_uri not in _limiters:
            _limiters[storage_uri] = RateLimiter(storage_uri)
        return _limiters[storage_uri]


def limiter_reset() -> None:
    """Forget what the limiters of this process (and the Redis they share) remember.

    For tests, so one test's 429 does not pause the next one's token.
    """
    with _limiters_lock:
        limiters = list(_limiters.values())
    for limiter in limiters:
        limiter.clear()


def memory_limiter() -> RateLimiter:
    """The in-process limiter, shared by every client of this process that was given none."""
    return limiter_for(MEMORY)


def limiter_from_settings() -> RateLimiter:
    """Shared through Redis when the project runs with Redis (`REDIS_URL`), else in-process."""
    # Imported here so that importing this module (as the Django-free clients do) needs no
    # Django settings.
    from django.conf import settings

    return limiter_for(settings.REDIS_URL or MEMORY)
