"""Group commit (`opstore.groupcommit`): callers that arrive while a batch runs share the next one,
each gets its own outcome, and a failed batch fails exactly the callers that were in it."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from opstore.groupcommit import GroupCommit, Slot


class Recorder:
    """A `run_batch` that records its batches; the first one waits until `release` is set, so the
    test can make the other callers queue up behind it without sleeping."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, slots: Sequence[Slot[str, str]]) -> None:
        self.batches.append([s.item for s in slots])
        if len(self.batches) == 1:
            self.started.set()
            assert self.release.wait(10)
        if self.fail_on is not None and any(s.item == self.fail_on for s in slots):
            raise RuntimeError("the transaction failed")
        for s in slots:
            if s.item.startswith("bad"):
                s.settle(error=ValueError(s.item))
            else:
                s.settle(f"stored {s.item}")


def _queue_behind_leader(group: GroupCommit[str, str], rec: Recorder, first: str,
                         others: list[str]) -> dict[str, object]:
    """`first` leads a batch that blocks; `others` queue meanwhile; then the leader is released."""
    out: dict[str, object] = {}

    def call(item: str) -> None:
        try:
            out[item] = group.submit(item)
        except Exception as e:  # noqa: BLE001 - the test asserts on it
            out[item] = e

    lead = threading.Thread(target=call, args=(first,))
    lead.start()
    assert rec.started.wait(10)
    rest = [threading.Thread(target=call, args=(i,)) for i in others]
    for t in rest:
        t.start()
    while True:  # every other caller has queued its item (it is waiting for the leader's lock)
        with group._queue_lock:
            if len(group._queue) == len(others):
                break
        threading.Event().wait(0.001)
    rec.release.set()
    for t in [lead, *rest]:
        t.join(10)
    return out


def test_callers_arriving_during_a_commit_share_the_next_one() -> None:
    rec = Recorder()
    group: GroupCommit[str, str] = GroupCommit(rec, max_batch=64)
    others = [f"m{i}" for i in range(1, 8)]
    out = _queue_behind_leader(group, rec, "m0", others)
    assert rec.batches[0] == ["m0"]
    assert sorted(rec.batches[1]) == others and len(rec.batches) == 2
    assert out == {i: f"stored {i}" for i in ["m0", *others]}
    assert (group.batches, group.items) == (2, 8)


def test_a_batch_never_exceeds_max_batch_and_nobody_is_left_waiting() -> None:
    rec = Recorder()
    group: GroupCommit[str, str] = GroupCommit(rec, max_batch=3)
    others = [f"m{i}" for i in range(1, 8)]
    out = _queue_behind_leader(group, rec, "m0", others)
    assert all(len(b) <= 3 for b in rec.batches)
    assert sorted(i for b in rec.batches for i in b) == sorted(["m0", *others])
    assert out == {i: f"stored {i}" for i in ["m0", *others]}


def test_a_failed_transaction_fails_every_caller_in_it_and_only_them() -> None:
    rec = Recorder(fail_on="m3")
    group: GroupCommit[str, str] = GroupCommit(rec)
    out = _queue_behind_leader(group, rec, "m0", ["m1", "m2", "m3"])
    assert out["m0"] == "stored m0"
    assert all(isinstance(out[i], RuntimeError) for i in ("m1", "m2", "m3"))
    assert group.submit("m4") == "stored m4"  # the next caller is not affected


def test_one_callers_own_error_reaches_only_that_caller() -> None:
    rec = Recorder()
    group: GroupCommit[str, str] = GroupCommit(rec)
    out = _queue_behind_leader(group, rec, "m0", ["m1", "bad2", "m3"])
    assert isinstance(out["bad2"], ValueError)
    assert out["m1"] == "stored m1" and out["m3"] == "stored m3"


def test_a_run_batch_that_forgets_a_slot_does_not_hang_its_caller() -> None:
    group: GroupCommit[str, str] = GroupCommit(lambda slots: None)
    with pytest.raises(RuntimeError, match="unsettled"):
        group.submit("m0")


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GroupCommit(lambda slots: None, max_batch=0)
