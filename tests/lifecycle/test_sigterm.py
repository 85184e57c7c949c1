"""SIGTERM: with no handler of the application's own, deliver within close_timeout, then end
exactly as SIGTERM would have; an application's handler is never replaced; it can be off."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from apps import assert_all_stored_once, printed_ids, start, stored

from plumberd_logging.testing import InMemoryEventStore

pytestmark = pytest.mark.slow

WAITING_APP = """
{before}
writer = EventWriter(URL, linger=30, close_timeout=5{options})   # events stay queued
send(writer, "Term-1", 100)
print("handler", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, flush=True)
print("ready", flush=True)
time.sleep(60)
"""


def _terminate(child: subprocess.Popen[str]) -> tuple[str, str, float]:
    """Wait for ``ready``, send SIGTERM, return (stdout, stderr, seconds to exit)."""
    assert child.stdout is not None and child.stderr is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.strip() == "ready":
            break
    start = time.monotonic()
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    return "".join(lines) + out, err, time.monotonic() - start


def test_sigterm_delivers_then_ends_as_sigterm(eventstore: InMemoryEventStore) -> None:
    child = start(WAITING_APP.format(options="", before=""), eventstore.url)
    out, err, seconds = _terminate(child)
    assert child.returncode == -signal.SIGTERM, err  # a shell would see 143
    assert_all_stored_once(eventstore, printed_ids(out), "Term-1")
    assert seconds < 5 + 1


def test_sigterm_handler_of_the_application_is_never_replaced(
    eventstore: InMemoryEventStore,
) -> None:
    own = """
def on_term(signum, frame):
    print("application handler", flush=True)
    sys.exit(7)
signal.signal(signal.SIGTERM, on_term)
"""
    child = start(WAITING_APP.format(options="", before=own), eventstore.url)
    out, err, _ = _terminate(child)
    assert "handler False" in out  # still the application's
    assert "application handler" in out
    assert child.returncode == 7, err
    assert_all_stored_once(eventstore, printed_ids(out), "Term-1")  # delivered at exit


def test_handle_sigterm_false_leaves_sigterm_alone(eventstore: InMemoryEventStore) -> None:
    app = WAITING_APP.format(options=", handle_sigterm=False", before="")
    child = start(app, eventstore.url)
    out, _, _ = _terminate(child)
    assert "handler True" in out  # the default disposition was kept
    assert child.returncode == -signal.SIGTERM
    assert len(printed_ids(out)) == 100
    assert not stored(eventstore, "Term-1")  # the default action: the queue dies with us


def test_env_var_turns_sigterm_handling_off(eventstore: InMemoryEventStore) -> None:
    child = start(
        WAITING_APP.format(options="", before=""),
        eventstore.url,
        env={"PLUMBERD_HANDLE_SIGTERM": "false"},
    )
    out, _, _ = _terminate(child)
    assert "handler True" in out
    assert child.returncode == -signal.SIGTERM
    assert not stored(eventstore, "Term-1")


EXITING_APP = """
writer = EventWriter(URL, linger=30, close_timeout=10)
send(writer, "Term-2", 50)
print("exiting", flush=True)   # the exit close now waits for the (slow) server
"""


def test_sigterm_during_the_exit_close_still_delivers_and_ends_as_sigterm(
    eventstore: InMemoryEventStore,
) -> None:
    eventstore.faults.delay("BatchAppend", 1.5)
    child = start(EXITING_APP, eventstore.url)
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.strip() == "exiting":
            break
    time.sleep(0.5)  # inside the exit close (the append takes 1.5 s)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM, err
    assert_all_stored_once(eventstore, printed_ids("".join(lines) + out), "Term-2")


@pytest.mark.skipif(sys.platform != "linux", reason="reads the masks from /proc (Linux)")
def test_signals_go_to_the_main_thread_not_the_writers(eventstore: InMemoryEventStore) -> None:
    # Python runs signal handlers on the main thread only. Delivered to a writer thread instead,
    # SIGTERM did not interrupt a main thread blocked in a semaphore wait: a fork Pool's idle
    # worker hung at terminate() (about 1 run in 60 under load). The writer's threads, and the
    # threads they start, block SIGINT and SIGTERM so the kernel picks the main thread.
    from plumberd_logging import EventWriter

    with EventWriter(eventstore.url) as writer:
        writer.submit("Mask-1", {"N": 1}, event_type="Pinged").result(10)
        names = {"plumberd-writer", "plumberd-watchdog"}
        ours = [t for t in threading.enumerate() if t.name in names]
        assert {t.name for t in ours} == names
        for t in ours:
            blocked = _blocked_signals(t.native_id)
            assert {signal.SIGINT, signal.SIGTERM} <= blocked, t.name
        assert signal.SIGTERM not in _blocked_signals(threading.main_thread().native_id)


def _blocked_signals(tid: int | None) -> set[int]:
    with open(f"/proc/self/task/{tid}/status", encoding="ascii") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("SigBlk:"))
    return {n for n in range(1, 65) if mask & (1 << (n - 1))}
