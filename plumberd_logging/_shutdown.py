"""How a writer hears that its process ends: interpreter exit, a fork, SIGTERM.

    at_exit(writer)       # writer.close(close_timeout) before threads are joined
    at_fork(writer)       # writer._after_fork() in a forked child (empty queue, new connection)
    on_sigterm(writer)    # SIGTERM with no handler of the application's own: close, then die

SIGTERM (containers, systemd, ``multiprocessing.Pool.terminate()``) is handled only while the
application has none of its own: the handler is installed from the main thread when the
disposition is still the default, and never replaces anything. On SIGTERM it restores the
default disposition and returns at once (it may interrupt code that holds a lock); a thread
closes every registered writer (each within its ``close_timeout``) and sends SIGTERM again, so
the process ends exactly as it would have (status -15 / 143). Turn it off with
``EventWriter(handle_sigterm=False)`` or ``PLUMBERD_HANDLE_SIGTERM=false``.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
import time
import weakref
from functools import partial
from typing import Protocol

from plumberd_logging._options import as_bool

__all__ = ["SIGTERM_VAR", "at_exit", "at_fork", "on_sigterm", "sigterm_enabled"]

SIGTERM_VAR = "PLUMBERD_HANDLE_SIGTERM"


class Closable(Protocol):
    close_timeout: float

    def close(self, timeout: float | None = None) -> bool: ...

    def _after_fork(self) -> None: ...

    def _wait_closed(self, timeout: float) -> bool: ...

    def _owner_pid(self) -> int: ...


def at_exit(writer: Closable) -> None:
    """Close ``writer`` at exit, before threads are joined (no thread may start later on
    3.12+); a forked child's copy is left to the child."""
    hook = partial(_close_at_exit, weakref.ref(writer))
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(hook)
    except RuntimeError:  # interpreter already shutting down, or an old Python
        import atexit

        atexit.register(hook)


def _close_at_exit(ref: weakref.ref[Closable]) -> None:
    writer = ref()
    if writer is not None and writer._owner_pid() == os.getpid():
        writer.close(writer.close_timeout)
    if _terminating:  # SIGTERM came while exiting: still end as SIGTERM would have
        _die()


def at_fork(writer: Closable) -> None:
    """In a forked child, reset ``writer`` at once (it must never resend the parent's events)."""
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=partial(_after_fork, weakref.ref(writer)))


def _after_fork(ref: weakref.ref[Closable]) -> None:
    writer = ref()
    if writer is not None and writer._owner_pid() != os.getpid():
        writer._after_fork()


def sigterm_enabled(option: bool, environ: dict[str, str] | None = None) -> bool:
    """``handle_sigterm`` and ``$PLUMBERD_HANDLE_SIGTERM`` (either can turn it off)."""
    text = (os.environ if environ is None else environ).get(SIGTERM_VAR, "")
    return option and (not text.strip() or as_bool(text, f"${SIGTERM_VAR}"))


_writers: weakref.WeakSet[Closable] = weakref.WeakSet()


def on_sigterm(writer: Closable) -> None:
    """Close ``writer`` on SIGTERM; installs the handler if the application has none."""
    _writers.add(writer)
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers; a later writer may do it
    try:
        current = signal.getsignal(signal.SIGTERM)
    except (ValueError, AttributeError):  # no SIGTERM here
        return
    if current is signal.SIG_DFL:
        try:
            signal.signal(signal.SIGTERM, _handle_sigterm)
        except (ValueError, OSError):
            return


def _handle_sigterm(signum: int, frame: object) -> None:
    """Start closing the writers on another thread and return at once: this runs on the main
    thread between two bytecodes, possibly while it holds a lock the close needs. The closer
    ends the process by SIGTERM once the writers are done (each within its close_timeout)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends us at once
    _terminating.append(True)
    # A raw thread: ``threading.Thread.start`` takes locks the interrupted code may hold.
    _thread.start_new_thread(_close_then_die, ())


_terminating: list[bool] = []  # SIGTERM was received: end by SIGTERM after closing


def _close_then_die() -> None:
    writers = [w for w in list(_writers) if w._owner_pid() == os.getpid()]
    deadline = time.monotonic() + max((w.close_timeout for w in writers), default=0.0) + 0.5
    for w in writers:
        w.close(0)  # in the background, bounded by the writer's close_timeout
    for w in writers:
        w._wait_closed(max(0.0, deadline - time.monotonic()))
    _die()


def _die() -> None:
    """End the process as SIGTERM would have (the default disposition is restored)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the default action ends the process meanwhile
    os._exit(128 + signal.SIGTERM)
