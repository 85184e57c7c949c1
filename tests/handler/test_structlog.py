"""EventStoreProcessor in structlog chains: plain, stdlib integration, ProcessorFormatter."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from uuid import uuid4

import pytest
import structlog

from plumberd_logging import Event, EventStoreProcessor, EventWriter
from plumberd_logging.testing import InMemoryEventStore

from .conftest import RunProgram


class RecordingFinished(Event):
    recording_id: str
    duration: float


@pytest.fixture(autouse=True)
def reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def writer(eventstore: InMemoryEventStore) -> Iterator[EventWriter]:
    with EventWriter(eventstore.url) as w:
        yield w


def plain_chain(
    processor: EventStoreProcessor, out: io.StringIO
) -> structlog.typing.FilteringBoundLogger:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            processor,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    return structlog.get_logger()  # type: ignore[no-any-return]


def test_domain_event_is_written_and_the_line_still_rendered(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    out = io.StringIO()
    log = plain_chain(EventStoreProcessor(writer=writer), out)
    event = RecordingFinished(recording_id="r1", duration=3.0)
    log.info("recording finished", domain_event=event, stream="Recording-r1")
    log.info("plain line")  # not tagged: nothing written
    assert writer.flush(10)
    [stored] = eventstore.events("Recording-r1")
    assert stored.id == event.id
    assert stored.json() == {"Id": str(event.id), "RecordingId": "r1", "Duration": 3.0}
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["recording finished", "plain line"]
    assert eventstore.streams() == ["Recording-r1"]


def test_event_type_with_event_data_and_contextvars_feed_metadata(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    log = plain_chain(EventStoreProcessor(writer=writer), io.StringIO())
    corr, cause = uuid4(), uuid4()
    structlog.contextvars.bind_contextvars(
        correlation_id=str(corr), causation_id=str(cause), user_id="alice"
    )
    log.info("finished", event_type="JobFinished", event_data={"JobId": "j1"}, stream="Job-j1")
    assert writer.flush(10)
    [stored] = eventstore.events("Job-j1")
    assert stored.type == "JobFinished"
    assert stored.json() == {"Id": str(stored.id), "JobId": "j1"}
    meta = stored.metadata_json()
    assert (meta["$correlationId"], meta["$causationId"], meta["UserId"]) == (
        str(corr),
        str(cause),
        "alice",
    )


def test_capture_logs_keeps_dict_tracebacks_structured(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.dict_tracebacks,
            EventStoreProcessor(writer=writer, capture_logs=True, service="sl"),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
    )
    log = structlog.get_logger()
    log.info("order placed", order_id=7)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("failed")
    assert writer.flush(10)
    first, second = (e.json() for e in eventstore.events("Log-sl"))
    assert first["Message"] == "order placed"
    assert first["Level"] == "INFO"
    assert first["Properties"] == {"order_id": 7}
    assert second["Level"] == "ERROR"
    assert second["Exception"]["Type"] == "ZeroDivisionError"
    assert second["Exception"]["Chain"][0]["frames"][-1]["name"].startswith("test_capture_logs")


def test_drop_ends_the_chain(eventstore: InMemoryEventStore, writer: EventWriter) -> None:
    out = io.StringIO()
    log = plain_chain(EventStoreProcessor(writer=writer, drop=True), out)
    log.info("finished", domain_event=RecordingFinished(recording_id="d", duration=1), stream="R-d")
    assert writer.flush(10)
    assert len(eventstore.events("R-d")) == 1
    assert out.getvalue() == ""


def test_stdlib_integration(eventstore: InMemoryEventStore, writer: EventWriter) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    std = logging.getLogger("app.sl_stdlib")
    std.addHandler(handler)
    std.setLevel(logging.INFO)
    std.propagate = False
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            EventStoreProcessor(writer=writer, capture_logs=True, service="std"),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    log = structlog.get_logger("app.sl_stdlib")
    log.debug("below the level")
    log.info("through stdlib", camera=3)
    assert writer.flush(10)
    [event] = eventstore.events("Log-std")
    body = event.json()
    assert (body["Message"], body["Logger"], body["Properties"]) == (
        "through stdlib",
        "app.sl_stdlib",
        {"camera": 3},
    )
    assert "through stdlib" in stream.getvalue()


def test_processor_formatter_foreign_records(
    eventstore: InMemoryEventStore, writer: EventWriter
) -> None:
    processor = EventStoreProcessor(writer=writer, capture_logs=True, service="pf")
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_log_level, processor],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    std = logging.getLogger("app.pf")
    std.addHandler(handler)
    std.setLevel(logging.INFO)
    std.propagate = False
    std.info("a plain stdlib record")
    assert writer.flush(10)
    [event] = eventstore.events("Log-pf")
    assert event.json()["Message"] == "a plain stdlib record"
    assert json.loads(out.getvalue())["event"] == "a plain stdlib record"


def test_untagged_lines_cost_no_writer_when_not_captured() -> None:
    processor = EventStoreProcessor()  # no url, no default writer needed for untagged lines
    event_dict = {"event": "hello", "level": "info"}
    assert processor(None, "info", event_dict) is event_dict


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_forked_childs_lines_carry_the_childs_process_id(
    eventstore: InMemoryEventStore, run_program: RunProgram
) -> None:
    """Process is read once per process (getpid is a system call), and again in a fork."""
    stdout = run_program(
        """
        import io, json, os, sys
        import structlog
        from plumberd_logging import EventStoreProcessor, EventWriter

        writer = EventWriter(sys.argv[1])
        structlog.configure(
            processors=[EventStoreProcessor(writer=writer, capture_logs=True, service="fk"),
                        structlog.processors.JSONRenderer()],
            logger_factory=structlog.PrintLoggerFactory(io.StringIO()),
        )
        log = structlog.get_logger()
        log.info("parent")
        assert writer.flush(30)
        pid = os.fork()
        if pid == 0:
            log.info("child")
            os._exit(0 if writer.flush(30) else 1)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"parent": os.getpid(), "child": pid, "status": status}))
        writer.close()
        """
    )
    report = json.loads(stdout)
    assert report["status"] == 0
    lines = {e.json()["Message"]: e.json()["Process"] for e in eventstore.events("Log-fk")}
    assert lines == {"parent": report["parent"], "child": report["child"]}
