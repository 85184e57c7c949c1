"""``CommandBus``: send commands that C# MicroPlumberd command handlers execute.

A drop-in for py-micro-plumberd 0.1.9's ``CommandBus`` (same constructor, ``send_async``,
``queue_async``, ``close``, sync and async context managers), plus a synchronous ``send``::

    from plumberd_logging import CommandBus, Event, EventStoreClient

    class StartRecording(Event):
        camera_id: UUID
        label: str

    client = EventStoreClient("esdb://localhost:2113?tls=false")
    with CommandBus(client) as bus:                       # closes the client at the end (0.1.9)
        bus.send(camera_id, StartRecording(camera_id=camera_id, label="front door"))

    async with CommandBus(client) as bus:
        await bus.send_async(camera_id, StartRecording(...))      # the loop keeps running
        receipt = await bus.queue_async(camera_id, StartRecording(...))   # batched, returns once
                                                                          # queued

What is written (wire-format.md §7 and golden example G4): stream ``>SessionIn-{session_id}``;
event type = the command's class name (or its ``__event_type__``, or ``command_type=``); the
EventStore event id = the command's ``id`` (also the body's ``"Id"``), so a retried send is
de-duplicated; body in C# property names; metadata ``Created``, ``ClientHostName``,
``$correlationId``/``$causationId``, ``RecipientId`` (GUIDs lowercase), ``SessionId`` and
``UserId`` (JSON ``null`` when there is none, as C# expects). Outside any correlation scope a
command is a root: both ids are the command id; inside one (``correlation()``, ``caused_by()``,
an ``@emits`` call) they come from the scope, and ``UserId`` from the scope's user (else the bus's
``user_id``). The session streams get ``$maxAge`` of 30 days before the first command, like C#.

Differences from 0.1.9, all fixes: the event id is the command id (0.1.9: random); the async
methods never block the event loop (the gRPC calls run in the loop's default executor);
``$maxAge`` is set; commands go through the C#-compatible codec (PascalCase also for nested
objects, C# value formats); and ``fire_and_forget=False`` (0.1.9: ``NotImplementedError``) waits
for the handler's answer on ``>SessionOut-{session_id}``: ``{Command}Executed`` returns,
``{Command}Failed`` raises :class:`CommandFailed`, no answer within ``timeout`` (default 30 s)
raises :class:`CommandTimeout`. The answer is found by reading that stream (every 10 ms at first,
backing off to 250 ms), not by a subscription. Commands are only executed while a C# handler
process is running (it reads from the end of its ``$et-`` projection).

    try:
        bus.send(camera_id, StartRecording(...), fire_and_forget=False, timeout=10)
    except CommandFailed as exc:
        print(exc.message, exc.code)        # the handler's exception message, HTTP status code
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from plumberd_logging._buffer import failed_receipt
from plumberd_logging._diagnostics import report
from plumberd_logging._ids import new_event_id
from plumberd_logging._transport import ClientTransport
from plumberd_logging.client import EventStoreClient, RecordedEvent
from plumberd_logging.codec import EncodedEvent
from plumberd_logging.context import current_context, derive
from plumberd_logging.errors import (
    AccessDenied,
    InvalidEvent,
    PlumberdError,
    QueueFull,
    StreamNotFound,
    WriterClosed,
)
from plumberd_logging.events import event_type_of
from plumberd_logging.metadata import Metadata
from plumberd_logging.streams import _GUID_RE, ANY
from plumberd_logging.writer import EventWriter, Receipt

__all__ = ["RESULT_TIMEOUT", "SESSION_MAX_AGE", "CommandBus", "CommandFailed", "CommandTimeout"]

#: ``$maxAge`` C# MicroPlumberd gives its session streams (``CommandBus.cs``).
SESSION_MAX_AGE = timedelta(days=30)
#: Seconds ``send(..., fire_and_forget=False)`` waits for the handler's answer by default.
RESULT_TIMEOUT = 30.0
_POLL_FIRST, _POLL_MAX = 0.01, 0.25  # seconds between reads of >SessionOut while waiting


class CommandFailed(PlumberdError):
    """The C# handler answered ``{Command}Failed``: ``message``, ``code`` (an HTTP status code,
    as C# ``HttpStatusCode``), the ``command_id`` and the whole answer (``event``)."""

    def __init__(self, event: RecordedEvent, command_id: UUID) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        self.event = event
        self.command_id = command_id
        self.message = str(data.get("Message") or "")
        code = data.get("Code")
        self.code = code if isinstance(code, int) and not isinstance(code, bool) else None
        super().__init__(
            f"{event.type} for command {command_id}: {self.message or '(no message)'}"
            + (f" (code {self.code})" if self.code is not None else "")
        )


class CommandTimeout(PlumberdError, TimeoutError):
    """No answer from a C# handler in time (``send(..., fire_and_forget=False)``)."""


class CommandBus:
    """Sends commands to C# MicroPlumberd handlers through ``>SessionIn-{session_id}``.

    ``client``: an :class:`EventStoreClient` (or a connection string: the bus then creates one).
    ``session_id``: this bus's session (default: a new one, as in C# and 0.1.9).
    ``user_id``: ``UserId`` of commands sent outside a scope that has a user.
    ``max_age``: ``$maxAge`` set on the session streams before the first command (``None``: leave
    their metadata alone). ``timeout``: default deadline of each send, in seconds (and of the wait
    for the handler's answer with ``fire_and_forget=False``).
    ``writer``: the :class:`EventWriter` ``queue_async`` queues to (default: one the bus creates
    over ``client`` and closes, flushing, in ``close()``). ``close_client``: whether ``close()``
    also closes the client (default True, as py-micro-plumberd 0.1.9 does).
    """

    def __init__(
        self,
        client: EventStoreClient | str,
        *,
        session_id: UUID | str | None = None,
        user_id: str | None = None,
        max_age: timedelta | None = SESSION_MAX_AGE,
        timeout: float | None = None,
        writer: EventWriter | None = None,
        close_client: bool = True,
    ) -> None:
        if not isinstance(client, EventStoreClient | str):
            raise TypeError(
                "CommandBus(client=...): expected an EventStoreClient or a connection string, "
                f"got {type(client).__name__}"
            )
        session = _session_id(session_id)
        if user_id is not None and not isinstance(user_id, str):
            raise TypeError(f"CommandBus(user_id=...): expected a str or None, got {user_id!r}")
        if max_age is not None and (
            not isinstance(max_age, timedelta) or max_age.total_seconds() < 1
        ):
            raise ValueError(
                f"CommandBus(max_age=...): expected a timedelta of at least 1 s or None, "
                f"got {max_age!r}"
            )
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise ValueError(f"CommandBus(timeout=...): expected seconds > 0, got {timeout!r}")
        if writer is not None and not isinstance(writer, EventWriter):
            raise TypeError(f"CommandBus(writer=...): expected an EventWriter, got {writer!r}")
        if isinstance(client, str):
            client = EventStoreClient(client)
        self.client = client
        self._transport = ClientTransport(client, owned=False)
        #: The session id as text (py-micro-plumberd 0.1.9 keeps a ``str`` too).
        self.session_id = str(session)
        self.stream_in = f">SessionIn-{self.session_id}"
        self.stream_out = f">SessionOut-{self.session_id}"
        self.user_id = user_id
        self._max_age = int(max_age.total_seconds()) if max_age is not None else None
        self._timeout = float(timeout) if timeout is not None else None
        self._writer = writer
        self._owns_writer = writer is None
        self._close_client = bool(close_client)
        self._lock = threading.Lock()
        self._session_lock = threading.Lock()
        self._session_ready = threading.Event()
        if self._max_age is None:
            self._session_ready.set()
        self._closed = False
        self._refused: collections.Counter[str] = collections.Counter()

    # -- sending -------------------------------------------------------------------------------

    def send(
        self,
        recipient_id: str | UUID,
        command: object,
        fire_and_forget: bool = True,
        timeout: float | None = None,
        *,
        command_type: str | None = None,
    ) -> int:
        """Append the command now (blocking); return the commit position of that append.

        ``recipient_id`` is the id the C# handler gets (``Handle(id, cmd)``): the aggregate or
        entity id. Errors are raised (:mod:`plumberd_logging.errors`); a retry with the same
        command object is de-duplicated by the server. ``timeout``: the append's deadline; with
        ``fire_and_forget=False`` also the wait for the handler's answer (default
        ``RESULT_TIMEOUT``): ``CommandFailed`` or ``CommandTimeout`` is raised without one.
        """
        encoded = self._encode(recipient_id, command, command_type)
        if fire_and_forget:
            return self._append(encoded, timeout)
        deadline = time.monotonic() + self._wait_seconds(timeout)
        after = self._out_revision(_remaining(deadline))
        position = self._append(encoded, _remaining(deadline))
        delay = _POLL_FIRST
        while True:
            after, outcome = self._read_outcome(encoded, after, _remaining(deadline))
            if outcome is not None:
                return _settle(outcome, encoded, position)
            time.sleep(self._next_poll(encoded, deadline, delay))
            delay = min(delay * 2, _POLL_MAX)

    async def send_async(
        self,
        recipient_id: str | UUID,
        command: object,
        fire_and_forget: bool = True,
        timeout: float | None = None,
        *,
        command_type: str | None = None,
    ) -> int:
        """Like :meth:`send`, awaiting the append (and the reads) in the loop's default executor.

        The correlation context is read here, on the caller's task, before the hand-off.
        Cancelling the awaiting task does not stop an append already under way.
        """
        encoded = self._encode(recipient_id, command, command_type)
        loop = asyncio.get_running_loop()
        if fire_and_forget:
            return await loop.run_in_executor(None, self._append, encoded, timeout)
        deadline = time.monotonic() + self._wait_seconds(timeout)
        after = await loop.run_in_executor(None, self._out_revision, _remaining(deadline))
        position = await loop.run_in_executor(None, self._append, encoded, _remaining(deadline))
        delay = _POLL_FIRST
        while True:
            after, outcome = await loop.run_in_executor(
                None, self._read_outcome, encoded, after, _remaining(deadline)
            )
            if outcome is not None:
                return _settle(outcome, encoded, position)
            await asyncio.sleep(self._next_poll(encoded, deadline, delay))
            delay = min(delay * 2, _POLL_MAX)

    async def queue_async(
        self,
        recipient_id: str | UUID,
        command: object,
        fire_and_forget: bool = True,
        timeout: float | None = None,
        *,
        command_type: str | None = None,
    ) -> Receipt:
        """Queue the command on the bus's writer and return once it is queued.

        The writer batches and retries (same event id) in the background; the returned
        :class:`Receipt` tells the outcome (``receipt.result(timeout)``; do not call it on the
        loop thread). ``timeout`` is unused (0.1.9 compatibility). Waiting for room in a full
        queue happens in the executor, never on the loop. Only fire-and-forget: to wait for the
        handler's answer use :meth:`send_async` with ``fire_and_forget=False``.

        An invalid command raises (``InvalidEvent``, ``ValueError``); a command the bus cannot
        queue (closed, or the queue full) never does: the receipt is failed with
        ``WriterClosed`` / ``QueueFull``, stderr says so once, and :attr:`failures` counts it.
        """
        if not fire_and_forget:
            raise NotImplementedError(
                "CommandBus.queue_async only queues; use send_async(..., fire_and_forget=False) "
                "to wait for the handler's {Command}Executed / {Command}Failed"
            )
        try:
            body, event_type, custom = self._prepare(recipient_id, command, command_type)
            metadata = Metadata(**custom)
            self._encode_checked(body, metadata, event_type)  # invalid commands fail here
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self._queue, body, metadata, event_type)
        except (WriterClosed, QueueFull) as exc:  # never raised into the caller: a failed receipt
            reason = exc.dead_letter_reason
            with self._lock:
                self._refused[reason] += 1
            report(
                f"command_bus_{reason}",
                f"command {command_type or type(command).__name__} not queued ({reason}): "
                f"{exc}; counted in CommandBus.failures",
            )
            return failed_receipt(self.stream_in, command, exc)

    @property
    def failures(self) -> dict[str, int]:
        """Commands :meth:`queue_async` could not queue, by reason (``closed``, ``queue_full``);
        what the writer fails later is on each receipt."""
        with self._lock:
            return dict(self._refused)

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Deliver queued commands (the writer's close timeout), then close the client unless
        ``close_client=False``. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writer = self._writer if self._owns_writer else None
        try:
            if writer is not None:
                writer.close()
        finally:
            if self._close_client:
                self.client.close()

    async def aclose(self) -> None:
        """:meth:`close` in the loop's default executor."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self) -> CommandBus:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> CommandBus:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<CommandBus session {self.session_id} {self.client.url}>"

    # -- internals -----------------------------------------------------------------------------

    def _prepare(
        self, recipient_id: object, command: object, command_type: str | None
    ) -> tuple[object, str, dict[str, Any]]:
        """Body, event type and custom metadata of a command; context read on this thread."""
        if self._closed:
            raise WriterClosed(f"{self!r} is closed")
        recipient = _recipient(recipient_id)
        if isinstance(command, Mapping):
            if command_type is None:
                raise InvalidEvent(
                    "a dict command needs command_type=... (the C# command's type name)", "command"
                )
            own = command.get("Id")
            command_id = _command_id(own) if own is not None else new_event_id()
            body: object = {"Id": str(command_id), **command}
            event_type = command_type
        else:
            if command is None or not hasattr(command, "id"):
                raise InvalidEvent(
                    f"{type(command).__name__} has no id; C# handlers read the command's Id "
                    "(derive the command from Event, or give it an id field)",
                    "command",
                )
            command_id = _command_id(command.id)
            body = command
            event_type = command_type if command_type is not None else event_type_of(command)
        ctx = derive(current_context(), root_id=command_id)  # a root: the command's own id
        assert ctx is not None
        corr, cause = str(ctx.correlation_id), str(ctx.causation_id)
        user = ctx.user_id if ctx.user_id is not None else self.user_id
        custom = {
            "$correlationId": corr,
            "$causationId": cause,
            "RecipientId": recipient,
            "SessionId": self.session_id,
            "UserId": user,
        }
        return body, event_type, custom

    def _encode(
        self, recipient_id: object, command: object, command_type: str | None
    ) -> EncodedEvent:
        body, event_type, custom = self._prepare(recipient_id, command, command_type)
        return self._encode_checked(body, Metadata(**custom), event_type)

    def _encode_checked(self, body: object, metadata: Metadata, event_type: str) -> EncodedEvent:
        return self.client.codec.encode(body, metadata, event_type=event_type, context=None)

    def _append(self, encoded: EncodedEvent, timeout: float | None) -> int:
        deadline = timeout if timeout is not None else self._timeout
        self._prepare_session(deadline)
        return self._transport.append(self.stream_in, [encoded], ANY, timeout=deadline)

    def _wait_seconds(self, timeout: float | None) -> float:
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
                raise ValueError(f"timeout: expected seconds > 0, got {timeout!r}")
            return float(timeout)
        return self._timeout if self._timeout is not None else RESULT_TIMEOUT

    def _out_revision(self, timeout: float) -> int:
        """The last revision of ``>SessionOut`` before the command is sent (-1: none yet)."""
        revision = self.client.stream_revision(self.stream_out, timeout=timeout)
        return -1 if revision is None else revision

    def _read_outcome(
        self, encoded: EncodedEvent, after: int, timeout: float
    ) -> tuple[int, RecordedEvent | None]:
        """The handler's answer to ``encoded`` among the ``>SessionOut`` events after ``after``."""
        try:
            events = self.client.read_stream(
                self.stream_out, from_revision=after + 1, timeout=timeout
            )
        except StreamNotFound:
            return after, None
        executed, failed = f"{encoded.type}Executed", f"{encoded.type}Failed"
        for e in events:
            after = e.revision
            if (e.type == executed or e.type.startswith(failed)) and _answers(e, encoded.id):
                return after, e
        return after, None

    def _next_poll(self, encoded: EncodedEvent, deadline: float, delay: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CommandTimeout(
                f"no {encoded.type}Executed or {encoded.type}Failed for command {encoded.id} "
                f"on {self.stream_out!r} in time; is a C# handler for {encoded.type} running? "
                "(it only sees commands written while it runs)"
            )
        return min(delay, remaining)

    def _queue(self, body: object, metadata: Metadata, event_type: str) -> Receipt:
        self._prepare_session(self._timeout)
        with self._lock:
            if self._closed:
                raise WriterClosed(f"{self!r} is closed")
            writer = self._writer
            if writer is None:
                writer = self._writer = EventWriter(self._transport)
        return writer.submit(self.stream_in, body, metadata, event_type=event_type)

    def _prepare_session(self, timeout: float | None) -> None:
        """Set ``$maxAge`` on the session streams once (C# does it when its bus starts).

        A failure is reported on stderr and retried with the next command; it never stops the
        command itself. ``AccessDenied`` is not retried.
        """
        if self._session_ready.is_set():
            return
        with self._session_lock:
            if self._session_ready.is_set():
                return
            try:
                for stream in (self.stream_in, self.stream_out):
                    self.client.set_stream_metadata(
                        stream, {"$maxAge": self._max_age}, timeout=timeout
                    )
            except AccessDenied as exc:
                self._session_ready.set()
                report("command_bus", f"cannot set $maxAge on {stream!r} (not retried): {exc}")
            except PlumberdError as exc:
                report("command_bus", f"cannot set $maxAge on {stream!r} (will retry): {exc}")
            else:
                self._session_ready.set()


def _remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (at least a little, so a last call can still answer)."""
    return max(deadline - time.monotonic(), 0.001)


def _answers(event: RecordedEvent, command_id: UUID) -> bool:
    data = event.data
    if not isinstance(data, dict):
        return False
    try:
        return UUID(str(data.get("CommandId"))) == command_id
    except ValueError:
        return False


def _settle(outcome: RecordedEvent, encoded: EncodedEvent, position: int) -> int:
    if outcome.type == f"{encoded.type}Executed":
        return position
    raise CommandFailed(outcome, encoded.id)


def _session_id(value: object) -> UUID:
    if value is None:
        return new_event_id()
    if not isinstance(value, UUID | str):
        raise TypeError(f"CommandBus(session_id=...): expected a UUID or str, got {value!r}")
    try:
        session = value if isinstance(value, UUID) else UUID(value)
    except ValueError:
        raise ValueError(f"CommandBus(session_id=...): expected a GUID, got {value!r}") from None
    if session.int == 0:
        raise ValueError(
            "CommandBus(session_id=...): the nil GUID; C# handlers skip such commands silently"
        )
    return session


def _recipient(value: object) -> str:
    """``RecipientId`` as C# ``recipientId.ToString()`` writes it (GUIDs lowercase)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"recipient_id: expected a UUID, str or int, got {value!r}")
    text = str(value)
    if not text:
        raise ValueError("recipient_id: must not be empty (C# handlers need a RecipientId)")
    return text.lower() if _GUID_RE.match(text) else text


def _command_id(value: object) -> UUID:
    if isinstance(value, str):
        try:
            value = UUID(value)
        except ValueError:
            pass
    if not isinstance(value, UUID) or value.int == 0:
        raise InvalidEvent(f"expected a non-nil GUID, got {value!r}", "command.id")
    return value
