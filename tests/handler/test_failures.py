"""Entry points never hurt the application: no exception into the logging call, no traceback per
record, one stderr line, and counts that also see what the writer rejects later."""

from __future__ import annotations

import logging

import pytest

from plumberd_logging import Event, EventStoreHandler, EventStoreProcessor, EventWriter
from plumberd_logging.testing import InMemoryEventStore


class Note(Event, category="Note"):
    text: str


@pytest.fixture(autouse=True)
def fresh_diagnostics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees its own stderr lines (the library rate-limits repeats per kind)."""
    from plumberd_logging import _diagnostics

    monkeypatch.setattr(_diagnostics, "_last", {})
    monkeypatch.setattr(_diagnostics, "_suppressed", {})
    monkeypatch.delenv("PLUMBERD_URL", raising=False)


def attach(handler: logging.Handler, name: str) -> logging.Logger:
    log = logging.getLogger(name)
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    log.propagate = False
    return log


def test_processor_without_writer_never_raises_into_the_logging_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    processor = EventStoreProcessor(capture_logs=True)
    for n in range(4):
        event_dict = {"event": f"line {n}", "level": "info"}
        assert processor(None, "info", event_dict) is event_dict  # was: PlumberdError
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "EventStoreProcessor: not written (no_writer)" in err
    assert "configure(url)" in err
    assert processor.failures == {"no_writer": 4}


def test_handler_and_processor_with_a_closed_writer_say_so_once_and_count(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = EventWriter(eventstore.url)
    writer.close()
    handler = EventStoreHandler(writer=writer, capture_logs=True)
    processor = EventStoreProcessor(writer=writer, capture_logs=True)
    log = attach(handler, "fail.closed")
    for n in range(3):
        log.info("line %d", n)
        log.info("tagged", extra={"event": Note(text="x")})
        processor(None, "info", {"event": "s"})
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--- Logging error ---" not in err
    assert err.count("not written (closed)") == 2  # one line each, then counts
    assert handler.failures == {"closed": 6}
    assert processor.failures == {"closed": 3}


def test_bad_tags_and_ids_are_counted_not_raised(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = EventStoreHandler(eventstore.url)
    log = attach(handler, "fail.tags")
    log.info("no stream", extra={"event_type": "Noted", "event_data": {}})
    log.info("bad id", extra={"event": Note(text="x"), "correlation_id": "not-a-guid"})
    processor = EventStoreProcessor(url=eventstore.url)
    processor(None, "info", {"event": "x", "event_type": "Noted"})
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "correlation_id" in err
    assert handler.failures == {"stream": 1, "invalid": 1}
    assert processor.failures == {"stream": 1}
    handler.close()
    processor.close()


def test_writer_rejections_reach_the_handler_and_processor_counters(
    eventstore: InMemoryEventStore,
) -> None:
    writer = EventWriter(eventstore.url, max_append_size=2000, max_batch_bytes=1000)
    handler = EventStoreHandler(writer=writer)
    processor = EventStoreProcessor(writer=writer)
    log = attach(handler, "fail.rejected")
    log.info("huge", extra={"event": Note(text="x" * 5000)})
    log.info("ok", extra={"event": Note(text="fine")})
    log.info("unencodable", extra={"event_type": "Noted", "event_data": {"x": object()},
                                   "stream": "Note-1"})  # fmt: skip
    processor(None, "info", {"event": "x", "domain_event": Note(text="y" * 5000)})
    assert writer.flush(10)
    assert handler.failures == {"too_large": 1, "invalid": 1}
    assert processor.failures == {"too_large": 1}
    assert [e.json()["Text"] for e in eventstore.events("Note")] == ["fine"]
    writer.close()


def test_drops_by_the_overflow_policy_reach_the_handler_counter(
    eventstore: InMemoryEventStore,
) -> None:
    writer = EventWriter(eventstore.url, max_queue_events=2, linger=3600)
    handler = EventStoreHandler(writer=writer, capture_logs=True)
    log = attach(handler, "fail.drops")
    for n in range(5):
        log.info("line %d", n)
    assert handler.failures == {"queue_full": 3}
    assert writer.stats().dropped == {"queue_full": 3}
    assert writer.close(10)


def test_options_share_one_parser(eventstore: InMemoryEventStore) -> None:
    processor = EventStoreProcessor(writer=EventWriter(eventstore.url), capture_logs="false")  # type: ignore[arg-type]
    assert processor.capture_logs is False  # was: bool("false") -> True, every line captured
    assert processor(None, "info", {"event": "x"}) == {"event": "x"}
    assert processor.writer.stats().enqueued == 0
    assert EventStoreHandler(capture_logs="on").capture_logs is True  # type: ignore[arg-type]
    for cls in (EventStoreHandler, EventStoreProcessor):
        name = cls.__name__
        with pytest.raises(ValueError, match=rf"{name}\(capture_logs=...\): expected true or"):
            cls(capture_logs="maybe")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=rf"{name}\(log_overflow=...\): expected one of"):
            cls(log_overflow="sometimes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=rf"{name}\(event_overflow=...\)"):
            cls(event_overflow="never")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"EventStoreProcessor\(drop=...\)"):
        EventStoreProcessor(drop="perhaps")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"EventStoreHandler\(flush_timeout=...\)"):
        EventStoreHandler(flush_timeout=-1)
    processor.writer.close()
