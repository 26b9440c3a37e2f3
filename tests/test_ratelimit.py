"""The rate limiter both clients share: windows, pauses and back-off, in-process and in Redis."""

import logging
import os
import time
import uuid

import pytest
import redis
import responses

from connections.sevdesk_client import SevdeskClient, SevdeskRateLimited
from core import ratelimit
from core.ratelimit import (
    KEY_PREFIX,
    RateLimiter,
    limiter_from_settings,
    memory_limiter,
    secret_digest,
)

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (runs in CI with Redis)")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
BASE = "https://sevdesk.test/api/v1"


class RecordedSleep:
    """Sleeps for real (the windows run on the wall clock) and records each step."""

    def __init__(self) -> None:
        self.steps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.steps.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"


# --- In this process ------------------------------------------------------------------------


def test_wait_lets_the_rate_through_and_then_blocks_until_the_window_moves(key):
    sleep = RecordedSleep()
    limiter = RateLimiter(sleep=sleep)
    started = time.monotonic()

    limiter.wait(key, 2)
    limiter.wait(key, 2)
    assert sleep.steps == []
    limiter.wait(key, 2)

    assert time.monotonic() - started >= 0.95
    assert sleep.steps and max(sleep.steps) <= ratelimit.MAX_STEP_SECONDS  # in small steps


def test_wait_without_a_rate_never_blocks(key):
    sleep = RecordedSleep()
    limiter = RateLimiter(sleep=sleep)

    for _ in range(50):
        limiter.wait(key, None)
        limiter.wait(key, 0)

    assert sleep.steps == []


def test_a_rate_below_one_per_second_is_kept_in_a_longer_window(key):
    sleep = RecordedSleep()
    limiter = RateLimiter(sleep=sleep)

    limiter.wait(key, 0.5)  # 1 per 2 seconds

    assert ratelimit._rate(0.5).get_expiry() == 2
    assert (ratelimit._rate(2.5).amount, ratelimit._rate(2.5).get_expiry()) == (5, 2)
    with pytest.raises(ValueError, match="positive"):
        limiter.wait(key, -1)


def test_a_pause_is_remembered_and_a_shorter_one_does_not_cut_it(key):
    limiter = RateLimiter()

    limiter.pause(key, 30)
    limiter.pause(key, 5)

    assert 29 < limiter.paused_for(key) <= 30
    assert limiter.paused_for(key + ":other") == 0.0


def test_a_pause_ends_by_itself(key):
    limiter = RateLimiter()

    limiter.pause(key, 0.05)
    time.sleep(0.06)

    assert limiter.paused_for(key) == 0.0


@pytest.mark.parametrize("seconds", [0, -3, float("nan")])
def test_no_pause_for_zero_negative_or_nonsense_seconds(key, seconds):
    limiter = RateLimiter()

    limiter.pause(key, seconds)

    assert limiter.paused_for(key) == 0.0


def test_back_off_doubles_from_2_seconds_up_to_300_and_pauses_that_long(key):
    limiter = RateLimiter(jitter=lambda: 0.0)

    steps = [limiter.backoff(key) for _ in range(11)]

    assert steps == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert 299 < limiter.paused_for(key) <= 300


def test_back_off_has_up_to_a_quarter_of_jitter_and_stays_under_the_cap(key):
    limiter = RateLimiter(jitter=lambda: 0.999)

    steps = [limiter.backoff(key) for _ in range(10)]

    assert 2.49 < steps[0] < 2.5
    assert 4.99 < steps[1] < 5.0
    assert steps[-1] == 300


def test_a_success_resets_the_back_off(key):
    limiter = RateLimiter(jitter=lambda: 0.0)
    limiter.backoff(key)
    limiter.backoff(key)

    limiter.reset_backoff(key)

    assert limiter.backoff(key) == 2
    assert limiter.backoff(key, base=1.0) == 2  # the second step of a 1-second back-off


def test_clear_forgets_pauses_and_back_off(key):
    limiter = RateLimiter(jitter=lambda: 0.0)
    limiter.backoff(key)

    limiter.clear()

    assert limiter.paused_for(key) == 0.0
    assert limiter.backoff(key) == 2


def test_secrets_are_named_by_a_short_stable_digest():
    token = uuid.uuid4().hex

    digest = secret_digest(token)

    assert digest == secret_digest(token) != secret_digest(uuid.uuid4().hex)
    assert len(digest) == 16 and digest not in token
    assert secret_digest("key", "user") != secret_digest("keyuser")


def test_without_redis_the_settings_give_the_in_process_limiter(settings):
    settings.REDIS_URL = ""

    limiter = limiter_from_settings()

    assert limiter is memory_limiter()
    assert not limiter.is_shared


# --- Redis unreachable ----------------------------------------------------------------------


def test_an_unreachable_redis_falls_back_to_this_process_and_says_so(key, caplog):
    limiter = RateLimiter(UNREACHABLE_REDIS, jitter=lambda: 0.0)

    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        limiter.pause(key, 30)

    assert 29 < limiter.paused_for(key) <= 30
    assert limiter.backoff(key + ":b") == 2
    limiter.wait(key, 1000)
    assert not limiter.is_shared
    assert "limiting within this process only" in caplog.text
    assert "127.0.0.1:1" not in caplog.text  # no URI (it could hold a password)


@responses.activate
def test_a_429_still_pauses_the_token_when_redis_is_unreachable():
    limiter = RateLimiter(UNREACHABLE_REDIS)
    token = uuid.uuid4().hex
    client = SevdeskClient(token=token, base_url=BASE, requests_per_second=5, limiter=limiter)
    responses.get(f"{BASE}/CheckAccount", status=429, headers={"Retry-After": "20"}, json={})

    with pytest.raises(SevdeskRateLimited):
        client.list_check_accounts()
    with pytest.raises(SevdeskRateLimited) as paused:
        client.list_check_accounts()

    assert 19 < paused.value.retry_after <= 20
    assert len(responses.calls) == 1


# --- Shared through Redis -------------------------------------------------------------------


@needs_redis
def test_two_limiters_on_one_redis_share_pauses_back_off_and_the_rate(key):
    # given two limiters built separately, each with its own connection, as two processes
    sleep = RecordedSleep()
    first, second = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL, sleep=sleep, jitter=lambda: 0)
    assert first.is_shared and second.is_shared
    # a pause set by one is seen by the other
    first.pause(key, 30)
    assert 29 < second.paused_for(key) <= 30
    # so is the back-off: the second 429 of the key doubles, whoever saw the first
    first.backoff(key + ":b")
    assert second.backoff(key + ":b") == 4
    second.reset_backoff(key + ":b")
    assert first.backoff(key + ":b") < 2.5
    # and the rate: two requests through the first leave none for the second this second
    started = time.monotonic()
    first.wait(key + ":r", 2)
    first.wait(key + ":r", 2)
    second.wait(key + ":r", 2)
    assert time.monotonic() - started >= 0.95
    assert sleep.steps


@needs_redis
def test_the_redis_keys_never_hold_the_token():
    limiter = RateLimiter(REDIS_URL)
    token = uuid.uuid4().hex
    client = SevdeskClient(token=token, base_url=BASE, requests_per_second=5, limiter=limiter)
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/CheckAccount", status=429, json={})
        with pytest.raises(SevdeskRateLimited):
            client.list_check_accounts()

    names = [name.decode() for name in redis.from_url(REDIS_URL).scan_iter(f"{KEY_PREFIX}:*")]
    mine = [name for name in names if secret_digest(token) in name]
    assert {name.split(":")[2] for name in mine} >= {"pause", "backoff", "window"}
    assert not any(token in name for name in names)


@needs_redis
def test_with_redis_the_settings_give_a_shared_limiter(settings):
    settings.REDIS_URL = REDIS_URL

    assert limiter_from_settings().is_shared
