"""Captured records are kept compact: the queue does not keep LogRecords alive, and the
LogRecorded body is the same as the one built from the record itself."""

from __future__ import annotations

import gc
import logging
import sys
import weakref

from plumberd_logging import EventStoreHandler
from plumberd_logging._capture import LogEventSpec, compact_record
from plumberd_logging.testing import InMemoryEventStore

LOG = logging.getLogger("compact.app")


def record(msg: object, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return LOG.makeRecord(
        LOG.name, logging.WARNING, __file__, 7, msg, args, exc_info, "fn", extra or None
    )


def test_compact_and_full_records_build_the_same_body() -> None:
    spec = LogEventSpec("svc", None, "LogRecorded", "drop_newest", "test")
    cases = [
        record("order %s placed by %s", 1, "alice"),
        record("no args"),
        record("broken %d", "x"),  # formatting fails: readable fallback, same both ways
        record(ValueError("not a str")),
        record("with traceback", exc=True),
    ]
    for r in cases:
        packed = compact_record(r)
        assert isinstance(packed, tuple)
        assert spec.build(packed) == spec.build(r)


def test_records_with_extra_or_a_custom_class_are_kept_whole() -> None:
    tagged = record("x", user="bob")
    assert compact_record(tagged) is tagged

    class Custom(logging.LogRecord):
        def getMessage(self) -> str:
            return "custom"

    custom = Custom("n", logging.INFO, __file__, 1, "m", (), None)
    assert compact_record(custom) is custom


def test_queued_lines_do_not_keep_their_records_alive(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url, capture_logs=True, service="compact", linger=3600)
    r = record("queued %s", 1)
    ref = weakref.ref(r)
    handler.handle(r)
    del r
    gc.collect()
    assert ref() is None  # while its event is still queued
    assert handler.writer.stats().queue_events == 1
    handler.close()
    [event] = eventstore.events("Log-compact")
    assert event.json()["Message"] == "queued 1"
