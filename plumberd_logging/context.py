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
  the message's id, user = its ``UserId``.

    with correlation(user_id="alice@example.com") as ctx:
        client.append_to_stream(stream, RecordingStarted(...))   # correlation = ctx.correlation_id
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from uuid import UUID, uuid4

__all__ = ["CorrelationContext", "caused_by", "correlation", "current_context"]


@dataclasses.dataclass(frozen=True, slots=True)
class CorrelationContext:
    """The ids events captured in this scope carry in their metadata."""

    correlation_id: UUID
    causation_id: UUID
    user_id: str | None = None


_current: ContextVar[CorrelationContext | None] = ContextVar("plumberd_correlation", default=None)


def current_context() -> CorrelationContext | None:
    """The active context, or ``None`` outside any scope (events are then roots)."""
    return _current.get()


@contextlib.contextmanager
def correlation(
    correlation_id: UUID | str | None = None,
    causation_id: UUID | str | None = None,
    user_id: str | None = None,
) -> Iterator[CorrelationContext]:
    """Open a correlation scope; unspecified parts are inherited from the enclosing scope.

    With no enclosing scope and no ``correlation_id``, a new one is generated; ``causation_id``
    then defaults to the correlation id (the scope acts as the root message of the chain).
    """
    outer = _current.get()
    corr = _guid(correlation_id, "correlation_id")
    cause = _guid(causation_id, "causation_id")
    if user_id is not None and not isinstance(user_id, str):
        raise TypeError(f"correlation(user_id=...): expected str or None, got {user_id!r}")
    if corr is None:
        corr = outer.correlation_id if outer is not None else uuid4()
    if cause is None:
        cause = outer.causation_id if outer is not None and outer.correlation_id == corr else corr
    if user_id is None and outer is not None:
        user_id = outer.user_id
    ctx = CorrelationContext(corr, cause, user_id)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def caused_by(
    message_id: UUID | str, metadata: Mapping[str, Any] | None = None
) -> contextlib.AbstractContextManager[CorrelationContext]:
    """Continue the chain of an incoming message (C# command or event) given its id and metadata.

    with caused_by(recorded.id, recorded.metadata):
        bus.send(...)    # $causationId = recorded.id, $correlationId = the chain's root
    """
    msg_id = _guid(message_id, "message_id")
    if msg_id is None:
        raise ValueError("caused_by(message_id=...): expected a GUID, got None")
    meta = metadata or {}
    corr = _guid(meta.get("$correlationId"), "metadata['$correlationId']") or msg_id
    user = meta.get("UserId")
    return correlation(corr, msg_id, user if isinstance(user, str) else None)


def _guid(value: object, what: str) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise ValueError(f"{what}: expected a GUID, got {value!r}")
