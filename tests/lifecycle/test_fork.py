"""A forked child that ends with ``logging.shutdown()`` and ``os._exit()`` (as pre-fork servers
and multiprocessing do): its events are delivered; the parent's are never sent twice."""

from __future__ import annotations

import json

import pytest
from apps import run

from plumberd_logging.testing import InMemoryEventStore

pytestmark = pytest.mark.slow

FORK_APP = """
from plumberd_logging import EventStoreHandler

writer = EventWriter(URL, linger=30)            # the child's events stay queued until the end
handler = EventStoreHandler(writer=writer, service="forked", capture_logs=True)
log = logging.getLogger("app")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.info("parent before fork")
pid = os.fork()
if pid == 0:
    ids = send(writer, "Fork-child", 5)
    for i in range(5):
        log.info("child line %d", i)
    logging.shutdown()                          # flushes the handler, then:
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status), flush=True)
"""


def test_forked_child_with_logging_shutdown_and_os_exit(eventstore: InMemoryEventStore) -> None:
    done = run(FORK_APP, eventstore.url)
    assert done.returncode == 0, done.stderr
    assert "child 0" in done.stdout
    ids = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("ID ")]
    child_events = eventstore.events("Fork-child")
    assert sorted(str(e.id) for e in child_events) == sorted(ids)
    lines = [json.loads(e.data) for e in eventstore.events("Log-forked")]
    messages = [line["Message"] for line in lines]
    assert messages.count("parent before fork") == 1  # the child never resent it
    assert sorted(m for m in messages if m.startswith("child")) == [
        f"child line {i}" for i in range(5)
    ]
    assert len({e.id for e in eventstore.events("Log-forked")}) == len(lines)
