"""The library's own diagnostics: one-line messages on stderr, rate limited, never via ``logging``.

Going through ``logging`` could feed a message back into our own handler (the recursion that
OpenTelemetry, watchtower and Sentry users hit), so we write to ``sys.stderr`` directly. A thread
marker lets the handler drop records emitted on the writer's own threads (grpc and kurrentdbclient
log there).
"""

from __future__ import annotations

import collections
import signal
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["Tally", "in_library_thread", "library_thread", "report"]


class _Local(threading.local):
    ours = False  # a class default: reading it on a new thread raises nothing


_local = _Local()
_lock = threading.Lock()
_last: dict[str, float] = {}
_suppressed: dict[str, int] = {}
INTERVAL = 10.0  # seconds between two lines of the same kind


# Signals Python handles on the main thread only. Blocked on our threads (and the gRPC threads
# they start, which inherit the mask), the kernel delivers them to a thread that can act on
# them: delivered to one of ours, SIGTERM would not interrupt a main thread blocked in a
# semaphore wait, and a fork Pool's idle worker would never end at terminate().
_MAIN_THREAD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def library_thread() -> None:
    """Mark the calling thread as one of ours (records logged on it are not captured), and
    leave SIGINT and SIGTERM to the main thread."""
    _local.ours = True
    if hasattr(signal, "pthread_sigmask"):  # not on Windows
        signal.pthread_sigmask(signal.SIG_BLOCK, _MAIN_THREAD_SIGNALS)


def in_library_thread() -> bool:
    """True on threads the library runs (the writer's worker)."""
    return _local.ours


def report(kind: str, message: str, *, force: bool = False) -> bool:
    """Write ``plumberd-logging: message`` to stderr at most once per ``INTERVAL`` per ``kind``.

    Returns whether the line was written. Suppressed repeats are counted into the next line.
    """
    now = time.monotonic()
    with _lock:
        last = _last.get(kind)
        if not force and last is not None and now - last < INTERVAL:
            _suppressed[kind] = _suppressed.get(kind, 0) + 1
            return False
        _last[kind] = now
        repeats = _suppressed.pop(kind, 0)
    suffix = f" ({repeats} similar messages suppressed)" if repeats else ""
    try:
        stream = sys.stderr
        if stream is not None:
            stream.write(f"plumberd-logging: {message}{suffix}\n")
            stream.flush()
    except (OSError, ValueError):  # stderr closed (e.g. at exit): nothing else we can do
        return False
    return True


class Tally:
    """Failures of one writer on stderr: the first at once, then "N more, by reason" summaries.

        tally = Tally("events not written")
        tally.note("invalid", "event not written (invalid): ...")  # first: printed now
        tally.note("too_large", "...")                              # counted for the summary
        tally.summarize(force=True)   # at close/exit: "1 more events not written, by reason: ..."

    A summary is written at most every ``interval`` seconds (``summarize()`` is also called by
    the writer's watchdog, so counted failures do not wait for the next one to be seen).
    """

    def __init__(self, what: str, interval: float = 5.0) -> None:
        self._what = what
        self._interval = interval
        self._lock = threading.Lock()
        self._first = True
        self._pending: collections.Counter[str] = collections.Counter()
        self._last = 0.0

    def note(self, reason: str, line: str | Callable[[], str]) -> None:
        """Count one failure; the first is written at once (``line``, or what it returns)."""
        with self._lock:
            first, self._first = self._first, False
            if not first:
                self._pending[reason] += 1
                if time.monotonic() - self._last < self._interval:
                    return  # the common case under load: counted for the next summary
        if first:
            _write(line if isinstance(line, str) else line())
            with self._lock:
                self._last = time.monotonic()
        else:
            self.summarize()

    def summarize(self, *, force: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._pending or (not force and now - self._last < self._interval):
                return
            pending, self._pending = self._pending, collections.Counter()
            self._last = now
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(pending.items()))
        _write(f"{sum(pending.values())} more {self._what}, by reason: {reasons}")


def _write(message: str) -> None:
    try:
        stream = sys.stderr
        if stream is not None:
            stream.write(f"plumberd-logging: {message}\n")
            stream.flush()
    except (OSError, ValueError):
        pass
