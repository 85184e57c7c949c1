"""One pass of sending a chunk of encoded events through a :class:`Transport`; outcomes out.

    delivery = Delivery(transport, batch_events=500, batch_bytes=512 * 1024, timeout=10,
                        delivered=on_delivered, rejected=on_rejected, call=guarded_call)
    delivery.send(pending)   # raises TransientError: the caller retries with the same ids

Events go out in rounds (``_batching``): one multi-stream append per round where the server
has them and all metadata are strings, else one append per stream, several of them side by
side in one call (``Transport.append_each``). A permanent error splits
the append in halves until the event that causes it is found; only that one is rejected,
under the reason its error class names. Access is per user and stream, so ``AccessDenied``
rejects the whole append.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from plumberd_logging._batching import Unit, group_calls, plan_rounds
from plumberd_logging._buffer import Receipt
from plumberd_logging._transport import Transport
from plumberd_logging.codec import EncodedEvent
from plumberd_logging.errors import (
    AccessDenied,
    PlumberdError,
    TransientError,
    Unsupported,
)
from plumberd_logging.streams import ANY, StreamState

__all__ = ["Delivery", "Stopped"]

T = TypeVar("T")


class Stopped(Exception):
    """The writer was closed, or this worker abandoned, while it was sending."""


def _direct(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return fn(*args, **kwargs)


class Delivery:
    """Sends chunks; ``delivered(items, position)`` and ``rejected(item, exc)`` get outcomes."""

    def __init__(
        self,
        transport: Transport,
        *,
        batch_events: int,
        batch_bytes: int,
        timeout: float | None,
        delivered: Callable[[list[Receipt], int], None],
        rejected: Callable[[Receipt, PlumberdError], None],
        call: Callable[..., Any] = _direct,
        stopped: Callable[[], bool] = lambda: False,
        multi: bool | None = None,
    ) -> None:
        self.transport = transport
        self.batch_events = batch_events
        self.batch_bytes = batch_bytes
        self.timeout = timeout
        self.delivered = delivered
        self.rejected = rejected
        self.call = call
        self.stopped = stopped
        self.multi = multi  # None: try multi-stream appends; False: the server lacks them
        # several appends in one call (BatchAppend requests side by side), where the
        # transport can: a call costs about a millisecond of CPU whatever it carries
        self.each = callable(getattr(transport, "append_each", None))

    def send(self, items: list[Receipt]) -> None:
        """One pass over ``items``; raises ``TransientError`` to be retried, ``Stopped``."""
        for round_ in plan_rounds(items, self.batch_events, self.batch_bytes):
            multi: list[Unit[Receipt]] = []
            singles: list[Unit[Receipt]] = []
            for unit in round_:
                eligible = self.multi is not False and all(r._strings_only for r in unit.items)
                (multi if eligible else singles).append(unit)
            if len(multi) < 2:
                singles, multi = round_, []
            for call in group_calls(multi, self.batch_events, self.batch_bytes):
                if len(call) < 2 or not self._append_multi(call):
                    singles.extend(call)
            calls = (
                group_calls(singles, self.batch_events, self.batch_bytes)
                if self.each
                else [[unit] for unit in singles]
            )
            for call in calls:
                if len(call) < 2:
                    self._append_isolating(call[0].stream, call[0].expected, call[0].items)
                else:
                    self._append_each(call)

    def _append_each(self, units: list[Unit[Receipt]]) -> None:
        """One call of several appends, each atomic on its own stream; a refused one is
        isolated as ``_append_isolating`` does; a transient failure of one is raised once
        the others' outcomes are in (they are not sent again). A refusal of the whole call
        is each append's: a missing right or refused credentials reject them all, anything
        else sends them one by one to find the culprit."""
        try:
            results: list[int | PlumberdError] = self.call(
                self.transport.append_each,
                [(u.stream, u.expected, _encs(u.items)) for u in units],
                timeout=self.timeout,
            )
        except TransientError:
            raise
        except PlumberdError as exc:
            if self.stopped():
                raise Stopped from None
            for unit in units:
                if isinstance(exc, AccessDenied):
                    self._refused(unit.stream, unit.expected, unit.items, exc)
                else:
                    self._append_isolating(unit.stream, unit.expected, unit.items)
            return
        transient: TransientError | None = None
        for unit, result in zip(units, results, strict=True):
            if isinstance(result, int):
                self.delivered(unit.items, result)
            elif isinstance(result, TransientError):
                transient = transient or result
            else:
                self._refused(unit.stream, unit.expected, unit.items, result)
        if transient is not None:
            raise transient

    def _append_multi(self, units: list[Unit[Receipt]]) -> bool:
        """One multi-stream append; False when the units must go one by one instead."""
        try:
            position = self.call(
                self.transport.multi_append,
                [(u.stream, u.expected, _encs(u.items)) for u in units],
                timeout=self.timeout,
            )
        except Unsupported:
            self.multi = False
            return False
        except TransientError:
            raise
        except PlumberdError:  # one of them is bad: isolate it with per-stream appends
            if self.stopped():
                raise Stopped from None
            return False
        self.multi = True
        self.delivered([r for unit in units for r in unit.items], position)
        return True

    def _append_isolating(
        self, stream: str, expected: int | StreamState, items: list[Receipt]
    ) -> None:
        """Append ``items``; on a permanent error split them to reject only the culprit."""
        try:
            position = self.call(
                self.transport.append,
                stream,
                _encs(items),
                expected,
                timeout=self.timeout,
            )
        except TransientError:
            raise
        except PlumberdError as exc:
            self._refused(stream, expected, items, exc)
            return
        self.delivered(items, position)

    def _refused(
        self, stream: str, expected: int | StreamState, items: list[Receipt], exc: PlumberdError
    ) -> None:
        """``items`` were refused together: reject them all, or split to find the culprit."""
        if self.stopped():
            raise Stopped from None
        if len(items) == 1 or isinstance(exc, AccessDenied):
            for r in items:
                self.rejected(r, exc)
            return
        half = len(items) // 2
        self._append_isolating(stream, expected, items[:half])
        self._append_isolating(stream, ANY, items[half:])


def _encs(items: list[Receipt]) -> list[EncodedEvent]:
    """The encoded events of ``items`` (``_send_chunk`` sends only encoded ones)."""
    return [r._encoded for r in items]  # type: ignore[misc]
