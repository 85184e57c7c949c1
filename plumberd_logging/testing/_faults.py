"""Fault injection and call counting for the in-process server (pure Python, no gRPC import).

Every server has a :class:`Faults` registry (``store.faults``) and a :class:`CallCounter`
(``store.calls``). Faults are keyed by RPC name (:data:`RPC_NAMES`) and apply either when a call
arrives or, with ``after_commit=True``, after the server has done the work (for writes: after the
commit, or the rejection) and before it answers::

    store.faults.fail("BatchAppend", "UNAVAILABLE", times=1, after_commit=True)  # written, but
    store.faults.delay("Append", 0.5)                # the client hears an error; then slow appends
    stall = store.faults.hang("Read", seconds=2.0)   # calls in the next 2 s get no answer
    assert store.calls["BatchAppend"] == 0
    stall.cancel()                                   # or store.faults.clear()

A delay holds each affected call for ``seconds``. A hang holds the calls that arrive while it is
active until it ends (its ``seconds`` window elapses, or it is cancelled or cleared; then they
continue normally), until the client gives up (deadline or cancel), or until the server stops.
Waiting never blocks :meth:`InMemoryEventStore.stop`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from grpc import StatusCode

__all__ = ["RPC_NAMES", "CallCounter", "Fault", "FaultKind", "Faults"]

RPC_NAMES: Final = (
    "Read",
    "Subscribe",
    "Append",
    "BatchAppend",
    "Delete",
    "Tombstone",
    "Gossip",
    "AppendSession",
    "AppendRecords",
    "GetSupportedMethods",
    "ListPersistentSubscriptions",
)
"""The RPCs the server answers, by the names used for faults and call counts.

``Subscribe`` is the ``Read`` call that opens a catch-up subscription: counted under both
names; its faults act before the subscription is confirmed (``Read`` faults with
``after_commit=True`` act once it is)."""

FaultKind = Literal["fail", "delay", "hang"]

_STATUS_NAMES: Final = frozenset(
    {
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    }
)
_POLL_SECONDS = 0.02


def _check_rpc(rpc: str) -> str:
    if rpc not in RPC_NAMES:
        msg = f"unknown RPC {rpc!r}; expected one of {', '.join(RPC_NAMES)}"
        raise ValueError(msg)
    return rpc


def _check_times(times: int | None) -> int | None:
    if times is not None and times < 1:
        msg = f"times must be at least 1 (or None for every call), got {times}"
        raise ValueError(msg)
    return times


class Fault:
    """One injected fault, as returned by :meth:`Faults.fail`, ``delay`` and ``hang``.

    ``hits`` counts the calls it affected; :meth:`cancel` switches it off (and lets the calls a
    hang holds continue).
    """

    def __init__(
        self,
        rpc: str,
        kind: FaultKind,
        *,
        times: int | None,
        after_commit: bool,
        seconds: float | None = None,
        code: str = "UNAVAILABLE",
        details: str = "",
    ) -> None:
        self.rpc: Final = rpc
        self.kind: Final = kind
        self.times: Final = times
        self.after_commit: Final = after_commit
        self.seconds: Final = seconds
        self.code: Final = code
        """The gRPC status name a ``fail`` fault answers with (for example ``"UNAVAILABLE"``)."""
        self.details: Final = details
        self.hits = 0
        self._cancelled = threading.Event()
        self._window_end = (
            time.monotonic() + seconds if kind == "hang" and seconds is not None else None
        )

    def __repr__(self) -> str:
        phase = "after commit" if self.after_commit else "on arrival"
        extra = f" {self.code}" if self.kind == "fail" else f" {self.seconds}s"
        return (
            f"<Fault {self.kind}{extra} {self.rpc} {phase}, "
            f"times={self.times}, hits={self.hits}, active={self.active}>"
        )

    @property
    def active(self) -> bool:
        """True while the fault still affects new calls."""
        if self._cancelled.is_set():
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return self._window_end is None or time.monotonic() < self._window_end

    def cancel(self) -> None:
        """Switch the fault off; calls held by a hang continue normally."""
        self._cancelled.set()

    def wait_held(self, gave_up: Callable[[], bool]) -> bool:
        """Hold a call until the hang ends; False if ``gave_up()`` became true first.

        Used by the server: ``gave_up`` reports a departed client or a stopping server.
        """
        while not self._cancelled.is_set():
            if gave_up():
                return False
            remaining = _POLL_SECONDS
            if self._window_end is not None:
                remaining = min(remaining, self._window_end - time.monotonic())
                if remaining <= 0:
                    return True
            self._cancelled.wait(remaining)
        return not gave_up()

    def wait_delay(self, gave_up: Callable[[], bool]) -> bool:
        """Sleep for the delay; False if ``gave_up()`` became true first."""
        end = time.monotonic() + (self.seconds or 0.0)
        while (remaining := end - time.monotonic()) > 0:
            if gave_up():
                return False
            time.sleep(min(remaining, _POLL_SECONDS))
        return not gave_up()


class Faults:
    """The fault registry of one server node (``store.faults``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __repr__(self) -> str:
        return f"<Faults {list(self)!r}>"

    def fail(
        self,
        rpc: str,
        code: StatusCode | str = "UNAVAILABLE",
        *,
        times: int | None = 1,
        after_commit: bool = False,
        details: str | None = None,
    ) -> Fault:
        """Answer the next ``times`` calls of ``rpc`` with gRPC status ``code``.

        ``code`` is a :class:`grpc.StatusCode` or its name. With ``after_commit=True`` the write
        happens first, so the client sees an error for an append that did succeed.
        ``times=None`` fails every call until cleared.
        """
        name = code if isinstance(code, str) else code.name
        if name not in _STATUS_NAMES:
            msg = f"not a failing gRPC status code: {code!r}"
            raise ValueError(msg)
        text = details if details is not None else f"plumberd_logging.testing: injected {name}"
        return self._add(
            Fault(
                _check_rpc(rpc),
                "fail",
                times=_check_times(times),
                after_commit=after_commit,
                code=name,
                details=text,
            )
        )

    def delay(
        self,
        rpc: str,
        seconds: float,
        *,
        times: int | None = None,
        after_commit: bool = False,
    ) -> Fault:
        """Hold each of the next ``times`` calls of ``rpc`` (all, by default) for ``seconds``."""
        if seconds < 0:
            msg = f"seconds must not be negative, got {seconds}"
            raise ValueError(msg)
        return self._add(
            Fault(
                _check_rpc(rpc),
                "delay",
                times=_check_times(times),
                after_commit=after_commit,
                seconds=seconds,
            )
        )

    def hang(
        self,
        rpc: str,
        *,
        seconds: float | None = None,
        times: int | None = None,
        after_commit: bool = False,
    ) -> Fault:
        """Accept calls of ``rpc`` and do not answer them while the hang lasts.

        The hang lasts ``seconds`` (``None``: until cancelled or :meth:`clear`); ``times`` limits
        how many calls it catches. A client with a deadline sees ``DEADLINE_EXCEEDED``; with
        ``after_commit=True`` its append was nevertheless written.
        """
        if seconds is not None and seconds <= 0:
            msg = f"seconds must be positive (or None: until cleared), got {seconds}"
            raise ValueError(msg)
        return self._add(
            Fault(
                _check_rpc(rpc),
                "hang",
                times=_check_times(times),
                after_commit=after_commit,
                seconds=seconds,
            )
        )

    def clear(self) -> None:
        """Remove every fault; calls held by hangs continue normally."""
        with self._lock:
            faults, self._faults = self._faults, []
        for fault in faults:
            fault.cancel()

    def take(self, rpc: str, *, after_commit: bool) -> list[Fault]:
        """The faults that apply to this call, counted as hits (used by the server)."""
        with self._lock:
            taken = [
                f
                for f in self._faults
                if f.rpc == rpc and f.after_commit == after_commit and f.active
            ]
            for fault in taken:
                fault.hits += 1
            return taken

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault


class CallCounter(Mapping[str, int]):
    """How many calls of each RPC a server received (``store.calls["BatchAppend"]``).

    Counted on arrival, before faults apply, so retries show up. Unknown names raise ``KeyError``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(RPC_NAMES, 0)

    def __getitem__(self, rpc: str) -> int:
        with self._lock:
            return self._counts[rpc]

    def __iter__(self) -> Iterator[str]:
        return iter(RPC_NAMES)

    def __len__(self) -> int:
        return len(RPC_NAMES)

    def __repr__(self) -> str:
        with self._lock:
            nonzero = {k: v for k, v in self._counts.items() if v}
        return f"<CallCounter {nonzero}>"

    def record(self, rpc: str) -> None:
        """Count one call (used by the server)."""
        with self._lock:
            self._counts[rpc] += 1

    def reset(self) -> None:
        """Set every count back to zero."""
        with self._lock:
            for rpc in self._counts:
                self._counts[rpc] = 0
