"""Correlation, causation and user: the ambient context that goes into event metadata.

Built on :mod:`contextvars`, so it follows ``asyncio`` tasks, and threads started through
``contextvars.copy_context().run``. Every entry point (``EventStoreClient``, the writer, the
logging handler, the structlog processor, ``@emits``) reads the same context at the moment an
event is *captured*, on the caller's thread.

The rule (wire-format.md E5), the same one C# MicroPlumberd follows:

* an event written outside any context is a *root*: ``$correlationId = $causationId = its own id``;
* inside ``with correlation(...)``, events carry the scope's correlation id, its causation id and
  its user id;
* ``caused_by(message_id, metadata)`` continues a chain from an incoming message (a C# command or
  event): correlation = the message's ``$correlationId`` (or its id when it had none), causation =
  the message's id, user = its ``UserId``. ``caused_by(recorded)`` takes a message as read
  (a ``RecordedEvent`` from ``client.read_stream``); ``context_from`` returns the same ids
  without entering a scope;
* inside an ``@emits`` call, events get the call's root correlation and, as causation, the id of
  the event that call will emit (see :mod:`plumberd_logging.emits`).

    with correlation(user_id="alice@example.com") as ctx:
        client.append_to_stream(stream, RecordingStarted(...))   # correlation = ctx.correlation_id

    for recorded in client.read_stream(f"CameraAggregate-{camera_id}"):
        with caused_by(recorded):                  # continue the C# chain of that event
            bus.send(camera_id, StartRecording(...))

A context captured with ``current_context()`` can be handed to another thread and entered there
with ``use_context(ctx)`` (or run the work in ``contextvars.copy_context().run``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Protocol
from uuid import UUID

from plumberd_logging._guid import parse_guid
from plumberd_logging._ids import new_event_id

__all__ = [
    "CorrelationContext",
    "Message",
    "caused_by",
    "context_from",
    "correlation",
    "current_context",
    "derive",
    "use_context",
]


@dataclasses.dataclass(frozen=True, slots=True)
class CorrelationContext:
    """The ids events captured in this scope carry in their metadata."""

    correlation_id: UUID
    causation_id: UUID
    user_id: str | None = None


class Message(Protocol):
    """A message as read back: its EventStore event id and its metadata.

    ``RecordedEvent`` (from ``EventStoreClient.read_stream``) fits, and so does the testing
    server's ``StoredEvent``; ``metadata`` may be a mapping or the raw JSON bytes.
    """

    @property
    def id(self) -> UUID: ...

    @property
    def metadata(self) -> object: ...


_new = object.__new__
_slots = vars(CorrelationContext)  # its slot descriptors
_set_correlation = _slots["correlation_id"].__set__
_set_causation = _slots["causation_id"].__set__
_set_user = _slots["user_id"].__set__


def _context(correlation_id: UUID, causation_id: UUID, user_id: str | None) -> CorrelationContext:
    """``CorrelationContext(...)`` at half the cost (its slots filled directly, not through the
    frozen dataclass's ``__init__``): :func:`derive` makes one per ``@emits`` call."""
    ctx: CorrelationContext = _new(CorrelationContext)
    _set_correlation(ctx, correlation_id)
    _set_causation(ctx, causation_id)
    _set_user(ctx, user_id)
    return ctx


_current: ContextVar[CorrelationContext | None] = ContextVar("plumberd_correlation", default=None)


def current_context() -> CorrelationContext | None:
    """The active context, or ``None`` outside any scope (events are then roots)."""
    return _current.get()


def derive(
    outer: CorrelationContext | None,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
    user_id: str | None = None,
    *,
    root_id: UUID | None = None,
) -> CorrelationContext | None:
    """The ids of a message captured inside ``outer`` with these explicit parts: THE rule.

    Every entry point derives ids here (``extra`` of a log record, a structlog event dict,
    ``correlation()``, ``CommandBus``, an ``@emits`` call), so they always agree (the table is
    in docs/correlation.md):

    * nothing explicit: ``outer`` as it is (``None`` outside any scope: a root message);
    * a correlation id only: inside ``outer``'s chain (the same id) the causation stays
      ``outer``'s; any other id starts that chain, with the id itself as causation;
    * a causation id only: ``outer``'s correlation, else the causation id (a message without a
      known chain is its own root);
    * the user: the one given, else ``outer``'s.

    A root (no scope, no ids) is ``root_id`` for both ids, or ``None`` without one: the event's
    own id, known once it is encoded (a ``user_id`` then goes in its metadata).

    >>> ctx = derive(None, causation_id=UUID(int=7))
    >>> ctx.correlation_id.int, ctx.causation_id.int
    (7, 7)
    """
    if correlation_id is None:
        if causation_id is None:
            if outer is not None:
                if user_id is None or user_id == outer.user_id:
                    return outer
                return _context(outer.correlation_id, outer.causation_id, user_id)
            if root_id is None:
                return None
            return _context(root_id, root_id, user_id)
        correlation_id = outer.correlation_id if outer is not None else causation_id
    elif causation_id is None:
        same_chain = outer is not None and outer.correlation_id == correlation_id
        causation_id = outer.causation_id if same_chain and outer is not None else correlation_id
    if user_id is None and outer is not None:
        user_id = outer.user_id
    return _context(correlation_id, causation_id, user_id)


@contextlib.contextmanager
def correlation(
    correlation_id: UUID | str | None = None,
    causation_id: UUID | str | None = None,
    user_id: str | None = None,
) -> Iterator[CorrelationContext]:
    """Open a correlation scope; the ids follow :func:`derive` (unspecified parts come from the
    enclosing scope).

    With no enclosing scope and no ids, a new id is generated for both: the scope acts as the
    root message of a new chain.
    """
    corr = _guid(correlation_id, "correlation_id")
    cause = _guid(causation_id, "causation_id")
    if user_id is not None and not isinstance(user_id, str):
        raise TypeError(f"correlation(user_id=...): expected str or None, got {user_id!r}")
    ctx = derive(_current.get(), corr, cause, user_id, root_id=new_event_id())
    assert ctx is not None
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def caused_by(
    message_id: UUID | str | Message, metadata: Mapping[str, Any] | None = None
) -> contextlib.AbstractContextManager[CorrelationContext]:
    """Continue the chain of an incoming message (C# command or event) given its id and metadata.

    with caused_by(recorded.id, recorded.metadata):
        bus.send(...)    # $causationId = recorded.id, $correlationId = the chain's root
    with caused_by(recorded):                # the same, for a message as read
        bus.send(...)

    A message without ``UserId`` keeps the user of the enclosing scope.
    """
    ctx = context_from(message_id, metadata)
    return correlation(ctx.correlation_id, ctx.causation_id, ctx.user_id)


def context_from(
    message_id: UUID | str | Message, metadata: Mapping[str, Any] | None = None
) -> CorrelationContext:
    """The ids of events caused by a message: what ``caused_by`` enters, without entering it.

    correlation = the message's ``$correlationId`` (its own id when it has none), causation = its
    id, user = its ``UserId`` (``None`` when absent or not a string).

    >>> ctx = context_from(UUID(int=7), {"$correlationId": str(UUID(int=1)), "UserId": "bob"})
    >>> ctx.correlation_id.int, ctx.causation_id.int, ctx.user_id
    (1, 7, 'bob')
    """
    if metadata is None and not isinstance(message_id, UUID | str):
        meta = _metadata_of(message_id)
        message_id = message_id.id
    else:
        meta = metadata or {}
    msg_id = _guid(message_id, "message_id")
    if msg_id is None:
        raise ValueError("caused_by(message_id=...): expected a GUID, got None")
    corr = _guid(meta.get("$correlationId"), "metadata['$correlationId']") or msg_id
    user = meta.get("UserId")
    return CorrelationContext(corr, msg_id, user if isinstance(user, str) else None)


@contextlib.contextmanager
def use_context(context: CorrelationContext | None) -> Iterator[CorrelationContext | None]:
    """Make ``context`` the active one inside the block (``None``: no context, events are roots).

    For handing a captured ``current_context()`` to a thread that did not copy the contextvars.
    """
    if context is not None and not isinstance(context, CorrelationContext):
        raise TypeError(
            f"use_context(context=...): expected a CorrelationContext or None, got {context!r}"
        )
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def _metadata_of(message: object) -> Mapping[str, Any]:
    if not hasattr(message, "id") or not hasattr(message, "metadata"):
        raise TypeError(
            "caused_by(message_id=...): expected a GUID or a message with .id and .metadata "
            f"(e.g. a RecordedEvent), got {type(message).__name__}"
        )
    meta = message.metadata
    if isinstance(meta, bytes | bytearray | str):
        try:
            meta = json.loads(meta) if meta else {}
        except ValueError:
            raise ValueError("caused_by: the message's metadata is not JSON") from None
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise ValueError(
            f"caused_by: the message's metadata must be a JSON object, got {type(meta).__name__}"
        )
    return meta


def _guid(value: object, what: str) -> UUID | None:
    if value is None:
        return None
    guid = parse_guid(value)
    if guid is None:
        raise ValueError(f"{what}: expected a GUID, got {value!r}")
    return guid
