"""EventWriter across process boundaries: SIGKILL with a spool, exit without close, fork."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import UUID

import pytest
from helpers import ids_on_server, numbers

from plumberd_logging.testing import InMemoryEventStore
from plumberd_logging.writer import EventWriter

pytestmark = pytest.mark.slow


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.delivers_at_exit
def test_exit_without_close_delivers_everything(eventstore: InMemoryEventStore) -> None:
    done = run_python(
        """
        import sys
        from plumberd_logging import Event
        from plumberd_logging.writer import EventWriter

        class Ping(Event):
            n: int

        writer = EventWriter(sys.argv[1], linger=0.5)
        for i in range(2000):
            writer.submit("Exit-1", Ping(n=i))
        print("submitted")  # and exit: no flush, no close
        """,
        eventstore.url,
    )
    assert done.returncode == 0, done.stderr
    assert numbers(eventstore, "Exit-1") == list(range(2000))
    assert "not confirmed" not in done.stderr


@pytest.mark.delivers_at_exit
def test_exit_with_the_server_down_says_what_was_lost(eventstore: InMemoryEventStore) -> None:
    url = eventstore.url
    eventstore.stop()
    done = run_python(
        """
        import sys
        from plumberd_logging import Event
        from plumberd_logging.writer import EventWriter

        class Ping(Event):
            n: int

        writer = EventWriter(sys.argv[1], close_timeout=0.5)
        for i in range(5):
            writer.submit("Exit-2", Ping(n=i))
        """,
        url,
    )
    assert done.returncode == 0
    assert "plumberd-logging: 5 events not confirmed by esdb://" in done.stderr
    assert done.stderr.count("events not confirmed") == 1


SPOOLED_PRODUCER = """
import sys, time
from plumberd_logging import Event
from plumberd_logging.writer import EventWriter

class Ping(Event):
    n: int

writer = EventWriter(sys.argv[1], spool_path=sys.argv[2], linger=0.01)
for i in range(3000):
    receipt = writer.submit("Kill-1", Ping(n=i))
    print(receipt.event_id, flush=True)   # printed only once the spool holds the event
print("all", flush=True)
time.sleep(60)
"""


def test_sigkill_with_spool_delivers_every_accepted_event_exactly_once(
    eventstore: InMemoryEventStore, tmp_path: Path
) -> None:
    eventstore.faults.delay("BatchAppend", 0.05)  # deliveries lag behind submits
    child = subprocess.Popen(
        [sys.executable, "-c", SPOOLED_PRODUCER, eventstore.url, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    accepted: list[UUID] = []
    for line in child.stdout:
        if line.strip() == "all":
            break
        accepted.append(UUID(line.strip()))
        if len(accepted) == 2500:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    eventstore.faults.clear()
    before = len(eventstore.events("Kill-1"))
    assert before < len(accepted)  # the kill really left events undelivered

    with EventWriter(eventstore.url, spool_path=tmp_path) as writer:  # adopts the orphan
        assert writer.flush(30)
    counts = ids_on_server(eventstore, ["Kill-1"])
    assert set(accepted) <= set(counts)
    assert set(counts.values()) == {1}
    assert numbers(eventstore, "Kill-1") == list(range(len(counts)))  # in order, no gaps
    assert not list(tmp_path.glob("spool-*.sqlite3.lock"))[1:]


FORKING_APP = """
import os, sys
from plumberd_logging import Event
from plumberd_logging.writer import EventWriter

class Ping(Event):
    n: int

writer = EventWriter(sys.argv[1], linger=30)   # a long linger: these stay queued
writer.submit("Fork-parent", Ping(n=0))
assert writer.flush(10)                         # the connection is open before the fork
for i in range(1, 5):
    writer.submit("Fork-parent", Ping(n=i))     # pending in the parent at fork time
codes = []
for child in range(3):                          # like a pre-fork server's workers
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for i in range(3):
                writer.submit(f"Fork-child{child}", Ping(n=i))
            code = 0 if writer.close(10) and writer.stats().sent == 3 else 2
        finally:
            os._exit(code)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(codes, writer.flush(10), writer.stats().sent)
"""


def test_forked_children_write_their_own_events_and_never_the_parents(
    eventstore: InMemoryEventStore,
) -> None:
    # The app runs in its own process: the in-process server's gRPC threads must not be forked.
    done = run_python(FORKING_APP, eventstore.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0, 0, 0] True 5"
    assert numbers(eventstore, "Fork-parent") == [0, 1, 2, 3, 4]
    for child in range(3):
        assert numbers(eventstore, f"Fork-child{child}") == [0, 1, 2]


PARENTS_CONNECTION_APP = """
import gc, os, sys
import kurrentdbclient
from plumberd_logging import Event
from plumberd_logging.writer import EventWriter

closed_in = []
made_in = {}
Client = kurrentdbclient.KurrentDBClient
real_init, real_close = Client.__init__, Client.close

def init(self, *args, **kwargs):
    made_in[id(self)] = os.getpid()
    real_init(self, *args, **kwargs)

def close(self):  # also what KurrentDBClient.__del__ calls
    if made_in.get(id(self)) not in (None, os.getpid()):
        closed_in.append(os.getpid())
    real_close(self)

Client.__init__ = init
Client.close = close

class Ping(Event):
    n: int

writer = EventWriter(sys.argv[1])
writer.submit("Parent-1", Ping(n=0))
assert writer.flush(10)
pid = os.fork()
if pid == 0:
    writer.submit("Child-1", Ping(n=1))
    ok = writer.close(10)
    gc.collect()
    os._exit(0 if ok and not closed_in else 3)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), writer.close(10))
"""


def test_a_forked_child_never_closes_its_parents_connection(
    eventstore: InMemoryEventStore,
) -> None:
    # Closing (or freeing) the parent's gRPC channel in the child could hang the child for good.
    done = run_python(PARENTS_CONNECTION_APP, eventstore.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0 True"
    assert numbers(eventstore, "Child-1") == [1]
