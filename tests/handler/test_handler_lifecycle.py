"""EventStoreHandler's lifecycle with the default writer: flush() really flushes, and a forked
child that ends with logging.shutdown() + os._exit() delivers its events."""

from __future__ import annotations

import json
import logging
import sys
import time

import pytest

from plumberd_logging import Event, EventStoreHandler, configure
from plumberd_logging.testing import InMemoryEventStore

from .conftest import RunProgram


class Note(Event, category="Note", stream_id_field="key"):
    key: str


def test_flush_with_the_default_writer_delivers(eventstore: InMemoryEventStore) -> None:
    configure(eventstore.url, linger=3600)  # nothing is sent unless someone flushes
    handler = EventStoreHandler(capture_logs=True, service="flushdefault")
    log = logging.getLogger("life.flush")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    notes = [Note(key="f") for _ in range(3)]
    for note in notes:
        log.info("tagged", extra={"event": note})
    log.info("plain line")
    handler.flush()  # was: returned at once, nothing sent
    assert [e.id for e in eventstore.events("Note-f")] == [n.id for n in notes]
    assert [e.json()["Message"] for e in eventstore.events("Log-flushdefault")] == ["plain line"]
    log.removeHandler(handler)
    handler.close()


@pytest.mark.delivers_at_exit
@pytest.mark.skipif(sys.platform == "win32", reason="os.fork")
def test_forked_child_ending_with_logging_shutdown_and_os_exit_delivers(
    eventstore: InMemoryEventStore, run_program: RunProgram
) -> None:
    stdout = run_program(
        """
        import json, logging, os, sys, uuid
        from plumberd_logging import EventStoreHandler, configure

        configure(sys.argv[1], linger=3600)      # only a real flush sends anything
        root = logging.getLogger()
        root.setLevel(logging.INFO)
        root.addHandler(EventStoreHandler())
        ids = [str(uuid.uuid4()) for _ in range(5)]
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            for i in ids:
                logging.info("child", extra={"event_type": "ChildDone",
                                             "event_data": {"Id": i}, "stream": "Child-1"})
            logging.shutdown()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"ids": ids, "status": status}))
        """
    )
    report = json.loads(stdout)
    assert report["status"] == 0
    assert [str(e.id) for e in eventstore.events("Child-1")] == report["ids"]


def test_flush_after_the_writer_closed_returns_at_once(eventstore: InMemoryEventStore) -> None:
    """At exit the writer closes first (within close_timeout); logging.shutdown() then flushes
    the handler, which must not wait a second time for a server that does not answer."""
    hang = eventstore.faults.hang("BatchAppend")
    try:
        writer = configure(eventstore.url, linger=0)
        handler = EventStoreHandler(flush_timeout=5)
        log = logging.getLogger("life.closed")
        log.propagate = False
        log.setLevel(logging.INFO)
        log.addHandler(handler)
        log.info("stuck", extra={"event": Note(key="stuck")})
        assert not writer.close(timeout=0.3)  # what the exit hook does, with a short timeout
        started = time.monotonic()
        handler.flush()
        handler.close()
        assert time.monotonic() - started < 1.0
        log.removeHandler(handler)
    finally:
        hang.cancel()
