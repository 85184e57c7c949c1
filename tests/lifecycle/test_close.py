"""close(timeout) on the in-process server: expiry resolves every receipt and stops the worker;
close(0) releases the thread, the connection and the spool's lock; reconfiguring 1,000 times
(``configure()``, ``dictConfig`` with a handler owning a writer) leaves nothing behind."""

from __future__ import annotations

import fcntl
import logging
import logging.config
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plumberd_logging import Event, config
from plumberd_logging.errors import WriterClosed
from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter

pytestmark = pytest.mark.slow


class Ping(Event):
    n: int


def eventually(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def library_threads() -> list[threading.Thread]:
    names = ("plumberd-writer", "plumberd-watchdog")
    return [t for t in threading.enumerate() if t.name in names]


def client_threads() -> int:
    """Threads of this process but the in-process server's (its pool grows with clients)."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("plumberd-testing"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def hanging(eventstore: InMemoryEventStore) -> Iterator[InMemoryEventStore]:
    """Appends get no answer (the server holds them) until the test ends."""
    for rpc in ("BatchAppend", "Append", "AppendSession"):
        eventstore.faults.hang(rpc, seconds=120)
    yield eventstore
    eventstore.faults.clear()


def test_close_timeout_expiry_resolves_every_receipt(
    hanging: InMemoryEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = EventWriter(hanging.url, linger=0, append_timeout=5)
    receipts = [writer.submit("Hang-1", Ping(n=i)) for i in range(10)]
    started = time.monotonic()
    assert writer.close(2) is False
    assert time.monotonic() - started < 2 + 1
    for r in receipts:
        exc = r.exception(0)
        assert isinstance(exc, WriterClosed)
        assert "not confirmed within close_timeout=2s" in str(exc)
    assert writer.stats().dropped == {"closed": 10}
    # A thread inside a hung gRPC streaming call leaves when the call's deadline passes
    # (append_timeout): grpcio does not cancel it when its channel is closed.
    assert eventually(lambda: not library_threads(), timeout=30)
    capsys.readouterr()
    time.sleep(1)
    assert "retrying" not in capsys.readouterr().err  # the worker stopped for good


def test_close_zero_releases_thread_channel_and_spool_lock(
    hanging: InMemoryEventStore, tmp_path: Path
) -> None:
    # append_timeout=2: a hung call (and its connection) lives until its deadline
    warm = EventWriter(hanging.url, close_timeout=0.2, append_timeout=2)  # gRPC's own fds, once
    warm.submit("Warm-1", Ping(n=0))
    warm.close(0.2)
    assert eventually(lambda: not library_threads())
    fds = open_fds()
    writer = EventWriter(
        hanging.url, linger=0, spool_path=tmp_path, close_timeout=1, append_timeout=2
    )
    receipts = [writer.submit("Hang-2", Ping(n=i)) for i in range(5)]
    started = time.monotonic()
    assert writer.close(timeout=0) is False
    assert time.monotonic() - started < 0.5  # returns at once
    assert eventually(lambda: all(r.done() for r in receipts), timeout=5)
    assert eventually(lambda: not library_threads())
    assert eventually(lambda: open_fds() <= fds)
    for lock in tmp_path.glob("spool-*.lock"):  # the file lock is free again
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    hanging.faults.clear()
    with EventWriter(hanging.url, spool_path=tmp_path) as next_writer:  # kept, sent by the next
        assert next_writer.flush(30)
    assert len({e.id for e in hanging.events("Hang-2")}) == 5


def _settled(threads: int, fds: int) -> bool:
    return client_threads() <= threads and open_fds() <= fds


def test_a_thousand_configure_calls_leave_nothing_behind(eventstore: InMemoryEventStore) -> None:
    config.configure(eventstore.url).submit("Conf-0", Ping(n=0))
    config.reset_default_writer(timeout=10)
    assert eventually(lambda: not library_threads())
    threads, fds = client_threads(), open_fds()
    try:
        for i in range(1000):
            config.configure(eventstore.url, linger=0).submit("Conf-1", Ping(n=i))
    finally:
        config.reset_default_writer(timeout=30)
    assert eventually(lambda: _settled(threads, fds), timeout=60), (
        f"threads {client_threads()} > {threads} or fds {open_fds()} > {fds}"
    )
    assert len({e.id for e in eventstore.events("Conf-1")}) == 1000


def test_a_thousand_dictconfig_reconfigurations_leave_nothing_behind(
    eventstore: InMemoryEventStore,
) -> None:
    def configure(n: int) -> None:
        logging.config.dictConfig(
            {
                "version": 1,
                "handlers": {
                    "events": {
                        "class": "plumberd_logging.EventStoreHandler",
                        "url": eventstore.url,
                        "service": "dict",
                        "capture_logs": True,
                        "linger": 0,
                    }
                },
                "loggers": {"dictapp": {"handlers": ["events"], "level": "INFO"}},
            }
        )
        logging.getLogger("dictapp").info("configuration %d", n)

    root_handlers = list(logging.getLogger().handlers)
    configure(-1)
    logging.config.dictConfig({"version": 1, "incremental": False})
    assert eventually(lambda: not library_threads())
    threads, fds = client_threads(), open_fds()
    try:
        for i in range(1000):
            configure(i)
    finally:
        logging.config.dictConfig({"version": 1, "incremental": False})
        logging.getLogger().handlers[:] = root_handlers
    assert eventually(lambda: _settled(threads, fds), timeout=60), (
        f"threads {client_threads()} > {threads} or fds {open_fds()} > {fds}"
    )
    assert len({e.id for e in eventstore.events("Log-dict")}) == 1001
