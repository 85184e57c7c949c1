"""Queued receipts are walked by no cycle collection; once resolved they are again, so an
application's cycle through a receipt it keeps is still collected."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from helpers import Ping

from plumberd_logging import _accel
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter, Receipt

pytestmark = pytest.mark.skipif(
    _accel.speedups is None,
    reason="untracking needs the C accelerator (pure Python cannot untrack: nothing to test)",
)
UNREACHABLE = "esdb://127.0.0.1:1?tls=false"


class KeepsItsReceipt:
    """An application object that keeps the receipt of its event, and is its failure sink:
    a reference cycle (object -> receipt -> sink -> object)."""

    receipt: Receipt | None = None

    def failed(self, reason: str, exc: BaseException) -> None:
        pass


def test_a_queued_receipt_is_not_walked_and_a_delivered_one_is(
    eventstore: InMemoryEventStore,
) -> None:
    with EventWriter(eventstore.url, linger=3600) as writer:  # sent at flush: queued until then
        receipt = writer.submit("Ping-1", Ping(n=1))
        assert not gc.is_tracked(receipt)
        assert writer.flush(10)
        assert receipt.exception() is None
        assert gc.is_tracked(receipt)


def test_receipts_failed_at_close_are_walked_again() -> None:
    writer = EventWriter(UNREACHABLE, close_timeout=0.2, retry=None)
    receipts = [writer.submit("Ping-1", Ping(n=i)) for i in range(3)]
    assert not any(gc.is_tracked(r) for r in receipts)
    writer.close()
    assert all(r.done() and r.exception() is not None for r in receipts)
    assert all(gc.is_tracked(r) for r in receipts)


def test_a_receipt_dropped_from_a_full_queue_is_walked_again() -> None:
    writer = EventWriter(
        UNREACHABLE, max_queue_events=2, overflow="drop_oldest", close_timeout=0.2, retry=None
    )
    try:
        oldest = writer.submit("Ping-1", Ping(n=0))
        for n in range(1, 4):
            writer.submit("Ping-1", Ping(n=n))
        assert oldest.done() and oldest.exception() is not None
        assert gc.is_tracked(oldest)
    finally:
        writer.close()


def test_an_applications_cycle_through_a_receipt_is_collected(
    eventstore: InMemoryEventStore,
) -> None:
    with EventWriter(eventstore.url) as writer:
        owner: Any = KeepsItsReceipt()
        owner.receipt = writer.submit("Ping-1", Ping(n=1), sink=owner)
        gone = weakref.ref(owner)
        assert writer.flush(10)
    del owner
    gc.collect()
    assert gone() is None, "the cycle object -> receipt -> sink -> object was not collected"
