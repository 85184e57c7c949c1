"""Catch-up subscriptions: ``Streams.Read`` with subscription options, as KurrentDB serves them.

Follows KurrentDB's ``Enumerator.StreamSubscription``, ``AllSubscription`` and
``AllSubscriptionFiltered``:

* the confirmation (a new subscription id) comes first; the client waits for it;
* then history after the starting point (a stream revision or a ``$all`` position is
  *exclusive*; ``start`` means everything, ``end`` means only what is written from now on);
* then ``caught_up`` (with the stream revision or ``$all`` position reached), then live events;
* a filtered ``$all`` subscription also sends a ``checkpoint`` every ``checkpoint interval
  multiplier * max search window`` records considered (matching or not), and one just before
  ``caught_up``; ``fell_behind`` is never sent (KurrentDB does not send it to clients either);
* a tombstoned stream ends its subscription with "is deleted"; on a follower, with
  ``requires-leader``, the first catch-up read answers "not leader" (after the confirmation).

The handler reads snapshots of the :class:`Database` (never yielding under its lock), waits on it
between them and polls ``context.is_active()``, so a cancelled call or a stopped server frees its
worker thread within :data:`_POLL_SECONDS`; a stopping server ends subscriptions at once with
``UNAVAILABLE`` (even when stopped with a grace period), as KurrentDB cancels streaming calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NoReturn, Protocol
from uuid import uuid4

import grpc
from google.protobuf import timestamp_pb2
from kurrentdbclient.protos.v1 import streams_pb2

from plumberd_logging.testing._database import (
    EventFilter,
    StoredEvent,
    StreamDeleted,
    StreamNotFound,
)

if TYPE_CHECKING:
    from plumberd_logging.testing._runtime import NodeRuntime

__all__ = ["SubscriptionHost", "subscribe_to_all", "subscribe_to_stream"]

_POLL_SECONDS = 0.05
_STREAM_PAGE = 32  # KurrentDB's Enumerator.DefaultReadBatchSize
_ALL_PAGE = 500
_HANDLER_ERROR = "Exception was thrown by handler."

EventMessage = Callable[[StoredEvent], streams_pb2.ReadResp]


class SubscriptionHost(Protocol):
    """What a subscription needs from the servicer running it."""

    def abort_not_leader(self, context: grpc.ServicerContext) -> NoReturn: ...

    def abort_not_ready(self, context: grpc.ServicerContext) -> NoReturn: ...

    def abort_stream_deleted(self, context: grpc.ServicerContext, stream: str) -> NoReturn: ...

    def after_confirmation(self, context: grpc.ServicerContext) -> None: ...


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def _confirmation() -> streams_pb2.ReadResp:
    return streams_pb2.ReadResp(
        confirmation=streams_pb2.ReadResp.SubscriptionConfirmation(subscription_id=str(uuid4()))
    )


def _caught_up(*, revision: int | None = None, position: int | None = None) -> streams_pb2.ReadResp:
    caught_up = streams_pb2.ReadResp.CaughtUp(timestamp=_now())
    if revision is not None and revision >= 0:
        caught_up.stream_revision = revision
    if position is not None and position >= 0:
        caught_up.position.commit_position = position
        caught_up.position.prepare_position = position
    return streams_pb2.ReadResp(caught_up=caught_up)


def _checkpoint(position: int) -> streams_pb2.ReadResp:
    return streams_pb2.ReadResp(
        checkpoint=streams_pb2.ReadResp.Checkpoint(
            commit_position=position, prepare_position=position, timestamp=_now()
        )
    )


def _serving(node: NodeRuntime, context: grpc.ServicerContext) -> bool:
    """False once the client went away; a stopping node ends the call (even during a grace)."""
    if node.stopping.is_set():
        # KurrentDB cancels streaming calls as soon as it begins to shut down.
        context.abort(grpc.StatusCode.UNAVAILABLE, "Server Is Shutting Down")
    return context.is_active()


def _catch_up_needs_leader(
    node: NodeRuntime, host: SubscriptionHost, context: grpc.ServicerContext, requires_leader: bool
) -> None:
    """A catch-up read on a follower with ``requires-leader`` is refused, as any read."""
    state = node.state
    if state == "Unknown":
        host.abort_not_ready(context)
    if requires_leader and state != "Leader":
        host.abort_not_leader(context)


def subscribe_to_stream(
    node: NodeRuntime,
    options: streams_pb2.ReadReq.Options,
    context: grpc.ServicerContext,
    host: SubscriptionHost,
    event_message: EventMessage,
    *,
    requires_leader: bool,
) -> Iterator[streams_pb2.ReadResp]:
    """Serve a catch-up subscription to one stream until the call ends."""
    db = node.database
    stream = options.stream.stream_identifier.stream_name.decode("utf-8")
    if node.state == "Unknown":
        host.abort_not_ready(context)
    if db.is_tombstoned(stream):  # the live subscription is dropped before the confirmation
        host.abort_stream_deleted(context, stream)
    last = db.current_revision(stream)
    which = options.stream.WhichOneof("revision_option")
    checkpoint = last if which == "end" else options.stream.revision if which == "revision" else -1
    yield _confirmation()
    host.after_confirmation(context)
    if checkpoint < last:
        _catch_up_needs_leader(node, host, context, requires_leader)
    caught_up = False
    while _serving(node, context):
        seen = db.version
        try:
            page = db.read_stream(stream, from_revision=checkpoint + 1, limit=_STREAM_PAGE)
        except StreamNotFound:  # never written, or soft-deleted: nothing to send yet
            page = []
        except StreamDeleted:
            host.abort_stream_deleted(context, stream)
        for event in page:
            if event.revision <= checkpoint:
                continue
            yield event_message(event)
            checkpoint = event.revision
        if len(page) == _STREAM_PAGE:
            continue
        if not caught_up:
            caught_up = True
            yield _caught_up(revision=checkpoint)
        db.wait_for_change(seen, _POLL_SECONDS)


def subscribe_to_all(
    node: NodeRuntime,
    options: streams_pb2.ReadReq.Options,
    context: grpc.ServicerContext,
    host: SubscriptionHost,
    event_message: EventMessage,
    event_filter: EventFilter | None,
    *,
    requires_leader: bool,
) -> Iterator[streams_pb2.ReadResp]:
    """Serve a catch-up subscription to ``$all`` (filtered or not) until the call ends."""
    db = node.database
    interval = 0
    window = _ALL_PAGE
    if event_filter is not None:
        filter_options = options.filter
        window = filter_options.max if filter_options.WhichOneof("window") == "max" else 0
        window = window or _STREAM_PAGE
        interval = filter_options.checkpointIntervalMultiplier * window
        if interval <= 0:  # KurrentDB throws ArgumentOutOfRangeException here
            context.abort(grpc.StatusCode.UNKNOWN, _HANDLER_ERROR)
    if node.state == "Unknown":
        host.abort_not_ready(context)
    last = db.last_position or -1  # 0: nothing written yet
    which = options.all.WhichOneof("all_option")
    if which == "position":
        cursor = options.all.position.commit_position
    else:
        cursor = last if which == "end" else -1
    yield _confirmation()
    host.after_confirmation(context)
    if cursor < last:
        _catch_up_needs_leader(node, host, context, requires_leader)
    considered = 0  # records looked at since the last checkpoint (filtered subscriptions)
    caught_up = False
    while _serving(node, context):
        seen = db.version
        page = db.read_all(from_position=cursor + 1, limit=window)
        for record in page:
            cursor = record.commit_position
            if event_filter is None or event_filter.matches(record):
                yield event_message(record)
            if caught_up and interval:  # live: a checkpoint every `interval` records
                considered += 1
                if considered >= interval:
                    considered = 0
                    yield _checkpoint(cursor)
        if not caught_up and interval:
            considered += len(page)
        if len(page) == window:  # more to read before waiting
            if not caught_up and interval and considered >= interval:
                considered %= interval
                yield _checkpoint(cursor)
            continue
        if not caught_up:
            caught_up = True
            considered = 0
            if interval and cursor >= 0:  # "issue a checkpoint when going live"
                yield _checkpoint(cursor)
            yield _caught_up(position=cursor)
        db.wait_for_change(seen, _POLL_SECONDS)
