"""multiprocessing fork Pool: used as a context manager (it ends its workers with SIGTERM) and
``Pool.terminate()``: the workers' events are delivered."""

from __future__ import annotations

from uuid import UUID

import pytest
from apps import assert_all_stored_once, run

from plumberd_logging.testing import InMemoryEventStore

pytestmark = pytest.mark.slow

POOL_APP = """
import multiprocessing, uuid

writer = EventWriter(URL, linger=30)   # workers' events stay queued until they end

def work(n):
    ping = Ping(n=n)
    writer.submit("Pool-%d" % os.getpid(), ping)
    return os.getpid(), str(ping.id)

ctx = multiprocessing.get_context("fork")
{use_pool}
for pid, event_id in results:
    print("ID", event_id, "Pool-%d" % pid, flush=True)
"""

WITH = """
with ctx.Pool(2) as pool:
    results = pool.map(work, range(20), chunksize=1)
"""

TERMINATE = """
pool = ctx.Pool(2)
results = pool.map(work, range(20), chunksize=1)
pool.terminate()
pool.join()
"""


def _check(store: InMemoryEventStore, stdout: str, stderr: str = "") -> None:
    pairs = [line.split()[1:] for line in stdout.splitlines() if line.startswith("ID ")]
    ids = [UUID(i) for i, _ in pairs]
    assert len(ids) == 20, stderr
    assert_all_stored_once(store, ids, *{stream for _, stream in pairs})


def test_pool_context_manager_delivers_the_workers_events(
    eventstore: InMemoryEventStore,
) -> None:
    done = run(POOL_APP.format(use_pool=WITH), eventstore.url)
    assert done.returncode == 0, done.stderr
    _check(eventstore, done.stdout, done.stderr)


def test_pool_terminate_delivers_the_workers_events(eventstore: InMemoryEventStore) -> None:
    done = run(POOL_APP.format(use_pool=TERMINATE), eventstore.url)
    assert done.returncode == 0, done.stderr
    _check(eventstore, done.stdout, done.stderr)
