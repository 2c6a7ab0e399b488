"""The token buckets several HTTP processes share (api/ratelimit.py `SharedTokenBucketLimiter`): the
same answers as the in-memory buckets, one budget per key across processes, bounded size."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from api.ratelimit import SharedTokenBucketLimiter, TokenBucketLimiter, token_buckets
from skinsage.settings import Settings


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "shared"])
def make(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    def build(per_minute: float, burst: int, clock: Clock) -> TokenBucketLimiter | SharedTokenBucketLimiter:
        if request.param == "memory":
            return TokenBucketLimiter(per_minute, burst, clock=clock)
        return SharedTokenBucketLimiter(tmp_path / "x.buckets", per_minute, burst, slots=64, clock=clock)
    return build


def test_both_kinds_allow_the_burst_then_say_how_long_to_wait(make) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(100.0)
    bucket = make(60, 3, clock)
    assert [bucket.acquire("ip") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire("ip") == pytest.approx(1.0)
    assert bucket.acquire("other") == 0.0
    clock.t += 1.0
    assert bucket.acquire("ip") == 0.0 and bucket.acquire("ip") > 0


def test_both_kinds_take_nothing_on_refusal_and_refill_to_the_burst_only(make) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(100.0)
    bucket = make(6, 2, clock)
    bucket.acquire("k")
    bucket.acquire("k")
    for _ in range(5):
        assert bucket.acquire("k") == pytest.approx(10.0)
    clock.t += 3600
    assert [bucket.acquire("k") for _ in range(3)][:2] == [0.0, 0.0] and bucket.acquire("k") > 0


def test_two_openers_of_one_file_share_each_keys_bucket(tmp_path: Path) -> None:
    clock = Clock(100.0)
    a = SharedTokenBucketLimiter(tmp_path / "b.buckets", 60, 2, clock=clock)
    b = SharedTokenBucketLimiter(tmp_path / "b.buckets", 60, 2, clock=clock)
    assert a.acquire("ip") == 0.0 and b.acquire("ip") == 0.0
    assert a.acquire("ip") > 0 and b.acquire("ip") > 0
    assert b.acquire("another") == 0.0


def test_the_table_is_bounded_and_the_least_recent_key_is_forgotten(tmp_path: Path) -> None:
    clock = Clock(100.0)
    path = tmp_path / "small.buckets"
    bucket = SharedTokenBucketLimiter(path, 1, 1, slots=4, probe=4, clock=clock)
    for i in range(4):
        clock.t += 1
        assert bucket.acquire(f"k{i}") == 0.0
    assert bucket.acquire("k3") > 0             # still remembered
    clock.t += 1
    assert bucket.acquire("k4") == 0.0          # a fifth key takes the slot of the least recent, k0
    assert bucket.acquire("k0") == 0.0          # k0 starts again with a full bucket ...
    assert bucket.acquire("k3") > 0             # ... the others are untouched
    assert path.stat().st_size == 4 * 32


def test_a_time_ahead_of_the_clock_counts_as_a_full_bucket(tmp_path: Path) -> None:
    # a file that outlived a reboot: the monotonic clock started again from zero
    path = tmp_path / "reboot.buckets"
    before = SharedTokenBucketLimiter(path, 1, 1, clock=Clock(10_000.0))
    assert before.acquire("ip") == 0.0 and before.acquire("ip") > 0
    after = SharedTokenBucketLimiter(path, 1, 1, clock=Clock(5.0))
    assert after.acquire("ip") == 0.0


def test_invalid_limits_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SharedTokenBucketLimiter(tmp_path / "x", 0, 1)
    with pytest.raises(ValueError):
        SharedTokenBucketLimiter(tmp_path / "x", 1, 1, slots=2, probe=4)


def _spend(path: str, tries: int, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue) -> None:
    bucket = SharedTokenBucketLimiter(Path(path), 0.001, 50)   # ~no refill during the test
    start.wait(30)
    out.put(sum(bucket.acquire("one-address") == 0.0 for _ in range(tries)))


def test_processes_racing_for_one_key_get_the_burst_between_them(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_spend, args=(str(tmp_path / "race.buckets"), 400, start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    granted = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert sum(granted) == 50, granted


def test_settings_choose_where_the_buckets_live(tmp_path: Path) -> None:
    assert isinstance(token_buckets("a", 60, 5, Settings(data_dir=tmp_path)), TokenBucketLimiter)
    shared = token_buckets("a", 60, 5, Settings(data_dir=tmp_path, rate_limit_dir=tmp_path / "rl"))
    assert isinstance(shared, SharedTokenBucketLimiter) and (tmp_path / "rl" / "a.buckets").exists()
