"""EventStoreHandler: tagged and untagged records, read back from the in-process server."""

from __future__ import annotations

import json
import logging
import logging.config
import logging.handlers
import queue
import sys
import textwrap
from pathlib import Path
from uuid import uuid4

import pytest

from plumberd_logging import (
    Event,
    EventStoreHandler,
    EventWriter,
    PlumberdError,
    configure,
    correlation,
)
from plumberd_logging.testing import InMemoryEventStore

from .conftest import RunProgram


class RecordingFinished(Event, category="Recording", stream_id_field="recording_id"):
    recording_id: str
    duration: float


def attach(handler: logging.Handler, name: str = "app") -> logging.Logger:
    log = logging.getLogger(name)
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    log.propagate = False
    return log


def flushed(handler: EventStoreHandler) -> None:
    assert handler.writer.flush(10)


def test_tagged_event_is_written_in_its_class_stream(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url)
    log = attach(handler, "app.tagged")
    event = RecordingFinished(recording_id="r-1", duration=12.5)
    log.info("recording finished", extra={"event": event})
    log.info("an ordinary line")  # not tagged: ignored by default
    flushed(handler)
    [stored] = eventstore.events("Recording-r-1")
    assert stored.type == "RecordingFinished"
    assert stored.id == event.id
    assert stored.json() == {"Id": str(event.id), "RecordingId": "r-1", "Duration": 12.5}
    assert eventstore.streams() == ["Recording-r-1"]
    handler.close()


def test_extra_stream_overrides_and_dict_tags_need_no_class(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url)
    log = attach(handler, "app.dict")
    rid = str(uuid4())
    log.info(
        "finished",
        extra={
            "event_type": "RecordingFinished",
            "event_data": {"RecordingId": rid, "Duration": 1.5},
            "stream": f"Recording-{rid}",
        },
    )
    log.info(
        "finished",
        extra={"event": RecordingFinished(recording_id="x", duration=1), "stream": "Other-1"},
    )
    flushed(handler)
    [stored] = eventstore.events(f"Recording-{rid}")
    body = stored.json()
    assert stored.type == "RecordingFinished"
    assert body == {"Id": str(stored.id), "RecordingId": rid, "Duration": 1.5}
    assert [e.type for e in eventstore.events("Other-1")] == ["RecordingFinished"]
    handler.close()


def test_capture_logs_turns_every_record_into_a_log_event(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url, capture_logs=True, service="cam-7", level="INFO")
    log = attach(handler, "app.capture")
    log.debug("too low: filtered by level")
    log.info("order %s placed by %s", 42, "alice", extra={"order_total": 9.5, "tags": ["a"]})
    try:
        raise ValueError("bad frame")
    except ValueError:
        log.exception("decoding failed")
    flushed(handler)
    events = eventstore.events("Log-cam-7")
    assert [e.type for e in events] == ["LogRecorded", "LogRecorded"]
    first, second = (e.json() for e in events)
    assert first["Level"] == "INFO"
    assert first["Logger"] == "app.capture"
    assert first["Message"] == "order 42 placed by alice"
    assert first["Template"] == "order %s placed by %s"
    assert first["Service"] == "cam-7"
    assert first["Properties"] == {"order_total": 9.5, "tags": ["a"]}
    assert first["Exception"] is None
    assert first["Timestamp"].endswith("Z")
    assert first["Function"] == "test_capture_logs_turns_every_record_into_a_log_event"
    assert second["Level"] == "ERROR"
    assert second["Exception"]["Type"] == "ValueError"
    assert second["Exception"]["Message"] == "bad frame"
    assert 'raise ValueError("bad frame")' in second["Exception"]["StackTrace"]
    handler.close()


def test_odd_extra_values_never_lose_the_line(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url, capture_logs=True, service="odd")
    log = attach(handler, "app.odd")
    log.warning("odd", extra={"nan": float("nan"), "lock": object()})
    flushed(handler)
    [event] = eventstore.events("Log-odd")
    props = event.json()["Properties"]
    assert props["nan"] == "nan"
    assert props["lock"].startswith("<object object")
    handler.close()


def test_correlation_from_context_and_from_extra(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url)
    log = attach(handler, "app.corr")
    with correlation(user_id="alice") as ctx:
        log.info("in scope", extra={"event": RecordingFinished(recording_id="c1", duration=1)})
    corr, cause = uuid4(), uuid4()
    log.info(
        "explicit",
        extra={
            "event": RecordingFinished(recording_id="c2", duration=1),
            "correlation_id": str(corr),
            "causation_id": cause,
            "user_id": "bob",
        },
    )
    flushed(handler)
    m1 = eventstore.events("Recording-c1")[0].metadata_json()
    assert (m1["$correlationId"], m1["$causationId"], m1["UserId"]) == (
        str(ctx.correlation_id),
        str(ctx.causation_id),
        "alice",
    )
    m2 = eventstore.events("Recording-c2")[0].metadata_json()
    assert (m2["$correlationId"], m2["$causationId"], m2["UserId"]) == (
        str(corr),
        str(cause),
        "bob",
    )
    handler.close()


def test_event_without_stream_is_one_line_and_a_count_never_a_traceback(
    eventstore: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    class Loose(Event):
        n: int

    handler = EventStoreHandler(eventstore.url)
    log = attach(handler, "app.nostream")
    for n in range(3):
        log.info("no stream", extra={"event": Loose(n=n)})
    err = capsys.readouterr().err
    assert "--- Logging error ---" not in err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "no stream for Loose" in err
    assert handler.failures == {"stream": 3}
    handler.close()


def test_default_writer_is_used_when_none_is_given(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler()
    log = attach(handler, "app.default")
    configure(eventstore.url)
    log.info("x", extra={"event": RecordingFinished(recording_id="d1", duration=1)})
    assert handler.writer.flush(10)
    assert [e.type for e in eventstore.events("Recording-d1")] == ["RecordingFinished"]


def test_no_writer_configured_is_one_line_and_a_count_never_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PLUMBERD_URL", raising=False)
    handler = EventStoreHandler(capture_logs=True)
    log = attach(handler, "app.unconfigured")
    for n in range(5):
        log.info("x", extra={"event": RecordingFinished(recording_id=f"d{n}", duration=1)})
        log.warning("a plain line %d", n)
    err = capsys.readouterr().err
    assert "--- Logging error ---" not in err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "call plumberd_logging.configure(url)" in err
    assert handler.failures == {"no_writer": 10}
    with pytest.raises(PlumberdError):
        EventStoreHandler().writer  # noqa: B018


def test_transport_and_library_records_never_come_back(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url, capture_logs=True, service="loop")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    app = logging.getLogger("app.loop")

    def log_from_writer_thread(receipt: object) -> None:
        logging.getLogger("user.callback").warning("logged on the writer's thread")

    writer = EventWriter(eventstore.url, on_delivered=log_from_writer_thread)
    eventstore.faults.fail("BatchAppend", "UNAVAILABLE", times=2)  # retries, reconnects
    for i in range(20):
        app.info("app line %d", i)
        logging.getLogger("grpc._channel").debug("transport detail %d", i)
        logging.getLogger("kurrentdbclient.client").debug("client detail %d", i)
        logging.getLogger("plumberd_logging.writer").debug("our own detail %d", i)
        writer.submit("Work-1", {"N": i}, event_type="Worked")
    assert writer.flush(10)
    assert handler.writer.flush(10)
    writer.close()
    messages = [e.json()["Message"] for e in eventstore.events("Log-loop")]
    assert messages == [f"app line {i}" for i in range(20)]  # bounded: the app's lines only
    root.removeHandler(handler)
    handler.close()


def test_queue_handler_and_listener_feed_the_handler(eventstore: InMemoryEventStore) -> None:
    handler = EventStoreHandler(eventstore.url, capture_logs=True, service="queued")
    q: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(q, handler)
    listener.start()
    log = attach(logging.handlers.QueueHandler(q), "app.queued")
    log.info("through the queue %s", "ok")
    log.info("tagged", extra={"event": RecordingFinished(recording_id="q1", duration=2)})
    listener.stop()
    flushed(handler)
    assert eventstore.events("Log-queued")[0].json()["Message"] == "through the queue ok"
    assert [e.type for e in eventstore.events("Recording-q1")] == ["RecordingFinished"]
    handler.close()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="dictConfig queue handlers need 3.12+")
def test_dictconfig_queue_handler_configuration(eventstore: InMemoryEventStore) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "handlers": {
                "events": {
                    "class": "plumberd_logging.EventStoreHandler",
                    "url": eventstore.url,
                    "capture_logs": True,
                    "service": "dq",
                },
                "queue": {"class": "logging.handlers.QueueHandler", "handlers": ["events"]},
            },
            "loggers": {"app.dq": {"handlers": ["queue"], "level": "INFO", "propagate": False}},
            "disable_existing_loggers": False,
        }
    )
    queue_handler = logging.getHandlerByName("queue")  # type: ignore[attr-defined,unused-ignore]
    listener = queue_handler.listener
    if getattr(listener, "_thread", None) is None:
        listener.start()  # some 3.12 releases leave starting it to the application
    logging.getLogger("app.dq").info("via dictConfig queue")
    listener.stop()
    eventstore.wait_for_events("Log-dq", 1)
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


def test_dictconfig_and_reconfiguration(eventstore: InMemoryEventStore) -> None:
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "events": {
                "()": "plumberd_logging.EventStoreHandler",
                "url": eventstore.url,
                "capture_logs": "true",
                "service": "dc",
                "linger": 0.05,
            }
        },
        "loggers": {"app.dc": {"handlers": ["events"], "level": "INFO", "propagate": False}},
    }
    logger = logging.getLogger("app.dc")
    logging.config.dictConfig(config)
    [first] = logger.handlers
    logger.info("first configuration")
    logging.config.dictConfig(config)  # closes the old handler while holding logging's lock
    [second] = logger.handlers
    logger.info("second configuration")
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    for handler in (first, second):  # closed without waiting; they finish in the background
        assert isinstance(handler, EventStoreHandler)
        assert handler.writer.close(10)
    # two handlers, two writers: nothing lost, though their order on the server may vary
    messages = sorted(e.json()["Message"] for e in eventstore.events("Log-dc"))
    assert messages == ["first configuration", "second configuration"]


def test_fileconfig(eventstore: InMemoryEventStore, tmp_path: Path) -> None:
    ini = tmp_path / "logging.ini"
    ini.write_text(
        textwrap.dedent(
            f"""
            [loggers]
            keys=root,app
            [handlers]
            keys=events
            [formatters]
            keys=
            [logger_root]
            handlers=
            [logger_app]
            level=INFO
            handlers=events
            qualname=app.fc
            propagate=0
            [handler_events]
            class=plumberd_logging.EventStoreHandler
            args=('{eventstore.url}',)
            kwargs={{'capture_logs': True, 'service': 'fc'}}
            """
        )
    )
    logging.config.fileConfig(ini, disable_existing_loggers=False)
    [handler] = logging.getLogger("app.fc").handlers
    logging.getLogger("app.fc").info("from fileConfig")
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    assert isinstance(handler, EventStoreHandler)
    assert handler.writer.close(10)
    [event] = eventstore.events("Log-fc")
    assert event.json()["Message"] == "from fileConfig"


def test_bad_options_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="capture_logs"):
        EventStoreHandler("esdb://localhost:2113?tls=false", capture_logs="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either writer"):
        EventStoreHandler(
            "esdb://localhost:2113?tls=false", writer=EventWriter("esdb://x:1?tls=false")
        )
    with pytest.raises(ValueError, match="writer options need url"):
        EventStoreHandler(linger=1)
    with pytest.raises(TypeError, match="ignore"):
        EventStoreHandler("esdb://localhost:2113?tls=false", ignore="grpc")


@pytest.mark.delivers_at_exit
def test_subprocess_configured_by_dictconfig_only_delivers_at_exit(
    eventstore: InMemoryEventStore, run_program: RunProgram
) -> None:
    run_program(
        """
        import logging, logging.config, sys
        logging.config.dictConfig({
            "version": 1,
            "handlers": {"events": {"class": "plumberd_logging.EventStoreHandler",
                                    "url": sys.argv[1]}},
            "root": {"handlers": ["events"], "level": "INFO"},
        })
        logging.getLogger("app").info("done", extra={
            "event_type": "JobFinished", "event_data": {"JobId": "j-1"}, "stream": "Job-j-1"})
        """
    )
    [event] = eventstore.events("Job-j-1")
    assert json.loads(event.data)["JobId"] == "j-1"
