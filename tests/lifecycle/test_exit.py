"""Normal exit, sys.exit and an uncaught exception: everything queued is delivered."""

from __future__ import annotations

import pytest
from apps import assert_all_stored_once, printed_ids, run

from plumberd_logging.testing import InMemoryEventStore

pytestmark = [pytest.mark.slow, pytest.mark.delivers_at_exit]

ENDINGS = {
    "normal": ("pass", 0),
    "sys_exit": ("sys.exit(3)", 3),
    "exception": ("raise RuntimeError('the application failed')", 1),
}


def _app(ending: str) -> str:
    return f"""
writer = EventWriter(URL, linger=30)   # a long linger: everything is still queued at the end
send(writer, "Exit-{ending}", 200)
{ENDINGS[ending][0]}
"""


def test_normal_exit(eventstore: InMemoryEventStore) -> None:
    done = run(_app("normal"), eventstore.url)
    assert done.returncode == 0, done.stderr
    assert_all_stored_once(eventstore, printed_ids(done.stdout), "Exit-normal")


def test_sys_exit(eventstore: InMemoryEventStore) -> None:
    done = run(_app("sys_exit"), eventstore.url)
    assert done.returncode == 3, done.stderr
    assert_all_stored_once(eventstore, printed_ids(done.stdout), "Exit-sys_exit")


def test_uncaught_exception(eventstore: InMemoryEventStore) -> None:
    done = run(_app("exception"), eventstore.url)
    assert done.returncode == 1
    assert "the application failed" in done.stderr
    assert_all_stored_once(eventstore, printed_ids(done.stdout), "Exit-exception")
