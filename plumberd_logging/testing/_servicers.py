"""gRPC servicers speaking EventStoreDB/KurrentDB's protocol over a :class:`Database`.

Uses kurrentdbclient's own generated protobuf modules (a second copy of these protos cannot be
loaded in one process) and answers exactly as KurrentDB's ``Streams``, ``Gossip`` and v2
``StreamsService`` do, including their three error channels: a oneof in ``AppendResp``, a
``Status`` with an ``Any`` detail in ``BatchAppendResp``, and gRPC statuses (with the trailers
KurrentDB sets, and ``grpc-status-details-bin`` rich details for the v2 API).

This module imports grpc; :mod:`plumberd_logging.testing` loads it only when a server starts.
Use :func:`build_handlers` to serve a :class:`~plumberd_logging.testing._runtime.NodeRuntime`.

How a call is handled: every RPC enters through ``_Servicer._arrive`` (count, authenticate,
faults on arrival), checks the caller's rights (``_authorize``) once it knows the stream, and,
where KurrentDB's state machine would, whether this node may serve it (``_check_leader``: a
follower answers "not leader" when the call requires the leader). Catch-up subscriptions live in
:mod:`plumberd_logging.testing._subscriptions`. TLS is a matter of how the server binds its port.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from uuid import UUID, uuid4

import grpc
from google.protobuf import any_pb2, duration_pb2, json_format, struct_pb2
from google.rpc import error_details_pb2
from google.rpc import status_pb2 as rich_status_pb2
from grpc_status import rpc_status
from kurrentdbclient.protos.google.rpc import code_pb2
from kurrentdbclient.protos.kurrent.rpc import errors_pb2 as kurrent_errors_pb2
from kurrentdbclient.protos.v1 import (
    gossip_pb2,
    persistent_pb2,
    shared_pb2,
    status_pb2,
    streams_pb2,
)
from kurrentdbclient.protos.v2.streams import errors_pb2 as v2_errors_pb2
from kurrentdbclient.protos.v2.streams import streams_pb2 as v2_streams_pb2

from plumberd_logging.testing._auth import Action, AuthenticationFailed
from plumberd_logging.testing._database import (
    ANY,
    LINK_TYPE,
    NO_STREAM,
    STREAM_EXISTS,
    EventFilter,
    ProposedEvent,
    StoredEvent,
    StreamDeleted,
    StreamNotFound,
    WrongExpectedVersion,
)
from plumberd_logging.testing._server_features import SupportedMethods, supported_methods
from plumberd_logging.testing._subscriptions import subscribe_to_all, subscribe_to_stream

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from google.protobuf.message import Message

    from plumberd_logging.testing._runtime import NodeRuntime

__all__ = ["build_handlers"]

_JSON = "application/json"
_OCTET_STREAM = "application/octet-stream"
_ULONG_MAX = 2**64 - 1
_HANDLER_ERROR = "Exception was thrown by handler."


class _BadRequest(Exception):
    """A proposed event the server would refuse (a .NET ArgumentException on a real server)."""


def _uuid_from_proto(value: shared_pb2.UUID) -> UUID:
    if value.WhichOneof("value") == "structured":
        most = value.structured.most_significant_bits & 0xFFFF_FFFF_FFFF_FFFF
        least = value.structured.least_significant_bits & 0xFFFF_FFFF_FFFF_FFFF
        return UUID(int=(most << 64) | least)
    return UUID(value.string)


def _uuid_to_proto(value: UUID, *, structured: bool) -> shared_pb2.UUID:
    if not structured:
        return shared_pb2.UUID(string=str(value))

    def signed(bits: int) -> int:
        return bits - (1 << 64) if bits >= 1 << 63 else bits

    return shared_pb2.UUID(
        structured=shared_pb2.UUID.Structured(
            most_significant_bits=signed(value.int >> 64),
            least_significant_bits=signed(value.int & 0xFFFF_FFFF_FFFF_FFFF),
        )
    )


def _size_on_disk(event: ProposedEvent) -> int:
    """KurrentDB's ``Event.SizeOnDisk``: data + metadata + the type in UTF-16 code units * 2."""
    return len(event.data) + len(event.metadata) + len(event.type.encode("utf-16-le"))


def _proposed(
    event_id: shared_pb2.UUID, metadata: Any, custom_metadata: bytes, data: bytes
) -> ProposedEvent:
    """Turn a v1 proposed message into a :class:`ProposedEvent`, validated as the server does."""
    try:
        parsed_id = _uuid_from_proto(event_id)
    except ValueError as e:
        raise _BadRequest(f"Invalid event id: {e}") from None
    if parsed_id.int == 0:
        raise _BadRequest("Empty eventId provided. (Parameter 'eventId')")
    event_type: str = metadata["type"]
    if not event_type:
        raise _BadRequest("Empty eventType provided. (Parameter 'eventType')")
    return ProposedEvent(
        type=event_type,
        data=data,
        metadata=custom_metadata,
        content_type=metadata["content-type"],
        id=parsed_id,
    )


def _missing_metadata(metadata: Any) -> str | None:
    for key in ("type", "content-type"):
        if key not in metadata:
            return key
    return None


class _Servicer:
    """Shared plumbing: call counting, authentication, access, leadership, faults, aborts."""

    def __init__(self, node: NodeRuntime) -> None:
        self._node = node
        self._db = node.database

    def _arrive(self, rpc: str, context: grpc.ServicerContext) -> str | None:
        """Count the call, authenticate it and apply the faults that act on arrival.

        Returns the calling user (``None``: anonymous, or a node without users).
        """
        self._node.calls.record(rpc)
        user = self._authenticate(context)
        self._apply_faults(rpc, context, after_commit=False)
        return user

    def _authenticate(self, context: grpc.ServicerContext) -> str | None:
        access = self._node.access
        if access is None:
            return None
        header = _metadata_value(context, "authorization")
        try:
            return access.authenticate(header)
        except AuthenticationFailed:
            # KurrentDB's AuthenticationMiddleware, before any service sees the call.
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Unauthenticated")

    def _authorize(
        self, context: grpc.ServicerContext, user: str | None, action: Action, stream: str
    ) -> None:
        """Refuse the call as KurrentDB's v1 services do (``RpcExceptions.AccessDenied``)."""
        if not self._allowed(user, action, stream):
            self._abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "Access Denied",
                (("exception", "access-denied"),),
            )

    def _allowed(self, user: str | None, action: Action, stream: str) -> bool:
        access = self._node.access
        return access is None or access.allows(user, action, stream)

    @staticmethod
    def _requires_leader(context: grpc.ServicerContext) -> bool:
        """The ``requires-leader`` header, parsed like .NET's ``bool.TryParse``."""
        value = _metadata_value(context, "requires-leader")
        return value is not None and value.strip().lower() == "true"

    def _check_leader(self, context: grpc.ServicerContext) -> None:
        """On a follower, refuse a call that requires the leader; refuse all while electing."""
        state = self._node.state
        if state == "Leader":
            return
        if state == "Unknown":
            self.abort_not_ready(context)
        if self._requires_leader(context):
            self.abort_not_leader(context)

    def abort_not_leader(self, context: grpc.ServicerContext) -> NoReturn:
        """KurrentDB's ``RpcExceptions.LeaderInfo``: NOT_FOUND with the leader's endpoint."""
        leader = self._node.leader()
        if leader is None:
            self.abort_not_ready(context)
        self._abort(
            context,
            grpc.StatusCode.NOT_FOUND,
            "Leader info available",
            (
                ("exception", "not-leader"),
                ("leader-endpoint-host", leader.host),
                ("leader-endpoint-port", str(leader.port)),
            ),
        )

    def abort_not_ready(self, context: grpc.ServicerContext) -> NoReturn:
        """KurrentDB's ``RpcExceptions.ServerNotReady`` (no leader yet, for example)."""
        context.abort(grpc.StatusCode.UNAVAILABLE, "Server Is Not Ready")

    def abort_stream_deleted(self, context: grpc.ServicerContext, stream: str) -> NoReturn:
        """KurrentDB's ``RpcExceptions.StreamDeleted``."""
        self._abort(
            context,
            grpc.StatusCode.FAILED_PRECONDITION,
            f"Event stream '{stream}' is deleted.",
            (("exception", "stream-deleted"), ("stream-name", stream)),
        )

    def _apply_faults(self, rpc: str, context: grpc.ServicerContext, *, after_commit: bool) -> None:
        def gave_up() -> bool:
            return self._node.stopping.is_set() or not context.is_active()

        for fault in self._node.faults.take(rpc, after_commit=after_commit):
            if fault.kind == "fail":
                context.abort(grpc.StatusCode[fault.code], fault.details)
            waited = (
                fault.wait_delay(gave_up) if fault.kind == "delay" else fault.wait_held(gave_up)
            )
            if not waited:
                context.abort(grpc.StatusCode.CANCELLED, "call abandoned while held by a fault")

    @staticmethod
    def _abort(
        context: grpc.ServicerContext,
        code: grpc.StatusCode,
        details: str,
        trailers: Sequence[tuple[str, str]] = (),
    ) -> NoReturn:
        if trailers:
            context.set_trailing_metadata(tuple(trailers))
        context.abort(code, details)

    def _abort_stream_deleted(self, context: grpc.ServicerContext, stream: str) -> NoReturn:
        self.abort_stream_deleted(context, stream)

    def _abort_size_exceeded(self, context: grpc.ServicerContext) -> NoReturn:
        limit = self._node.max_append_size
        self._abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Maximum Append Size of {limit} Exceeded.",
            (("exception", "maximum-append-size-exceeded"), ("maximum-append-size", str(limit))),
        )

    def _abort_missing_metadata(self, context: grpc.ServicerContext, key: str) -> NoReturn:
        self._abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Required Metadata Property '{key}' is missing",
            (
                ("exception", "missing-required-metadata-property"),
                ("required-metadata-properties", "type,content-type"),
            ),
        )


def _metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    for name, value in context.invocation_metadata():
        if name == key:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


def _expected_v1(options: Any) -> int:
    """The expected version of v1 Append/Delete/Tombstone options, as KurrentDB's integers."""
    which = options.WhichOneof("expected_stream_revision")
    if which == "revision":
        revision: int = options.revision
        return revision
    return {"no_stream": NO_STREAM, "any": ANY, "stream_exists": STREAM_EXISTS}.get(
        which or "any", ANY
    )


class StreamsServicer(_Servicer):
    """``event_store.client.streams.Streams``: Read, Append, BatchAppend, Delete, Tombstone."""

    # -- Read ----------------------------------------------------------------------------------

    def read(
        self, request: streams_pb2.ReadReq, context: grpc.ServicerContext
    ) -> Iterator[streams_pb2.ReadResp]:
        """Read a stream or ``$all``, or serve a catch-up subscription to either."""
        user = self._arrive("Read", context)
        options = request.options
        on_stream = options.WhichOneof("stream_option") == "stream"
        target = options.stream.stream_identifier.stream_name.decode("utf-8") if on_stream else ""
        self._authorize(context, user, "read", target if on_stream else "$all")
        if options.WhichOneof("count_option") == "subscription":
            self._node.calls.record("Subscribe")
            self._apply_faults("Subscribe", context, after_commit=False)
            yield from self._subscribe(options, context)
            return
        self._check_leader(context)
        structured = options.uuid_option.WhichOneof("content") == "structured"
        backwards = options.read_direction == streams_pb2.ReadReq.Options.Backwards
        limit = options.count
        if options.WhichOneof("stream_option") == "stream":
            stream = options.stream.stream_identifier.stream_name.decode("utf-8")
            try:
                events = self._read_stream(options.stream, backwards=backwards, limit=limit)
            except StreamNotFound:
                self._apply_faults("Read", context, after_commit=True)
                yield streams_pb2.ReadResp(
                    stream_not_found=streams_pb2.ReadResp.StreamNotFound(
                        stream_identifier=shared_pb2.StreamIdentifier(
                            stream_name=stream.encode("utf-8")
                        )
                    )
                )
                return
            except StreamDeleted:
                self._abort_stream_deleted(context, stream)
        else:
            events = self._read_all(options, backwards=backwards, limit=limit, context=context)
        self._apply_faults("Read", context, after_commit=True)
        resolve = self._db.resolve_link if options.resolve_links else None
        for event in events:
            if not context.is_active():
                return
            yield _read_resp(event, structured=structured, resolve=resolve)

    def _subscribe(
        self, options: streams_pb2.ReadReq.Options, context: grpc.ServicerContext
    ) -> Iterator[streams_pb2.ReadResp]:
        structured = options.uuid_option.WhichOneof("content") == "structured"
        resolve = self._db.resolve_link if options.resolve_links else None

        def event_message(event: StoredEvent) -> streams_pb2.ReadResp:
            return _read_resp(event, structured=structured, resolve=resolve)

        requires_leader = self._requires_leader(context)
        if options.WhichOneof("stream_option") == "stream":
            yield from subscribe_to_stream(
                self._node, options, context, self, event_message, requires_leader=requires_leader
            )
            return
        event_filter: EventFilter | None = None
        if options.WhichOneof("filter_option") == "filter":
            event_filter = self._event_filter(options.filter, context)
        yield from subscribe_to_all(
            self._node,
            options,
            context,
            self,
            event_message,
            event_filter,
            requires_leader=requires_leader,
        )

    def after_confirmation(self, context: grpc.ServicerContext) -> None:
        """A subscription is confirmed: the faults for a Read's answer apply now."""
        self._apply_faults("Read", context, after_commit=True)

    def _read_stream(
        self, options: streams_pb2.ReadReq.Options.StreamOptions, *, backwards: bool, limit: int
    ) -> list[StoredEvent]:
        stream = options.stream_identifier.stream_name.decode("utf-8")
        which = options.WhichOneof("revision_option")
        if which == "end" and not backwards:  # forwards from the end: nothing to read
            self._db.read_stream(stream, limit=0)
            return []
        from_revision = options.revision if which == "revision" else None
        return self._db.read_stream(
            stream, from_revision=from_revision, backwards=backwards, limit=limit
        )

    def _read_all(
        self,
        options: streams_pb2.ReadReq.Options,
        *,
        backwards: bool,
        limit: int,
        context: grpc.ServicerContext,
    ) -> list[StoredEvent]:
        which = options.all.WhichOneof("all_option")
        from_position: int | None = None
        if which == "position":
            from_position = options.all.position.commit_position
        elif which == "end" and not backwards:
            return []
        event_filter: EventFilter | None = None
        if options.WhichOneof("filter_option") == "filter":
            event_filter = self._event_filter(options.filter, context)
        return self._db.read_all(
            from_position=from_position,
            backwards=backwards,
            limit=limit,
            event_filter=event_filter,
        )

    @staticmethod
    def _event_filter(
        options: streams_pb2.ReadReq.Options.FilterOptions, context: grpc.ServicerContext
    ) -> EventFilter:
        on: Literal["stream", "type"] = (
            "stream" if options.WhichOneof("filter") == "stream_identifier" else "type"
        )
        expression = options.stream_identifier if on == "stream" else options.event_type
        try:
            if expression.regex:
                return EventFilter(on, regex=expression.regex)
            return EventFilter(on, prefixes=tuple(expression.prefix))
        except (ValueError, TypeError) as e:  # re.error is a ValueError
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid filter: {e}")

    # -- Append --------------------------------------------------------------------------------

    def append(
        self, request_iterator: Iterator[streams_pb2.AppendReq], context: grpc.ServicerContext
    ) -> streams_pb2.AppendResp:
        """The client-streaming append: one ``options`` message, then one per event."""
        user = self._arrive("Append", context)
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("content") != "options":
            context.abort(grpc.StatusCode.UNKNOWN, _HANDLER_ERROR)
        options = first.options
        stream = options.stream_identifier.stream_name.decode("utf-8")
        self._authorize(context, user, "write", stream)
        expected = _expected_v1(options)
        events: list[ProposedEvent] = []
        size = 0
        for request in request_iterator:
            if request.WhichOneof("content") != "proposed_message":
                context.abort(grpc.StatusCode.UNKNOWN, _HANDLER_ERROR)
            message = request.proposed_message
            missing = _missing_metadata(message.metadata)
            if missing is not None:
                self._abort_missing_metadata(context, missing)
            try:
                event = _proposed(
                    message.id, message.metadata, message.custom_metadata, message.data
                )
            except _BadRequest:
                context.abort(grpc.StatusCode.UNKNOWN, _HANDLER_ERROR)
            size += _size_on_disk(event)
            if size > self._node.max_append_size:
                self._abort_size_exceeded(context)
            events.append(event)
        self._check_leader(context)  # the write reaches the node's state machine only now
        response = self._append_v1(stream, expected, events, options, context)
        self._apply_faults("Append", context, after_commit=True)
        return response

    def _append_v1(
        self,
        stream: str,
        expected: int,
        events: list[ProposedEvent],
        options: streams_pb2.AppendReq.Options,
        context: grpc.ServicerContext,
    ) -> streams_pb2.AppendResp:
        try:
            result = self._db.append(stream, events, expected)
        except StreamDeleted:
            self._apply_faults("Append", context, after_commit=True)
            self._abort_stream_deleted(context, stream)
        except WrongExpectedVersion as e:
            return streams_pb2.AppendResp(
                wrong_expected_version=_append_wrong_version(options, expected, e.actual)
            )
        success = streams_pb2.AppendResp.Success()
        if result.current_revision < 0:
            success.no_stream.SetInParent()
        else:
            success.current_revision = result.current_revision
        if result.position is None:
            success.no_position.SetInParent()
        else:
            success.position.commit_position = result.position
            success.position.prepare_position = result.position
        return streams_pb2.AppendResp(success=success)

    # -- BatchAppend ---------------------------------------------------------------------------

    def batch_append(
        self, request_iterator: Iterator[streams_pb2.BatchAppendReq], context: grpc.ServicerContext
    ) -> Iterator[streams_pb2.BatchAppendResp]:
        """The bidi batch append: requests grouped by correlation id, one answer each."""
        user = self._arrive("BatchAppend", context)
        pending: dict[bytes, _PendingBatch] = {}
        for request in request_iterator:
            correlation = request.correlation_id.SerializeToString()
            if request.HasField("options") and correlation not in pending:
                new_batch = _PendingBatch(request)
                if not self._allowed(user, "write", new_batch.stream):
                    self._apply_faults("BatchAppend", context, after_commit=True)
                    yield new_batch.response(error=_ACCESS_DENIED_STATUS)
                    continue
                pending[correlation] = new_batch
            batch = pending.get(correlation)
            if batch is None:
                continue
            error = batch.add(request.proposed_messages, self._node.max_append_size)
            if error is not None:
                del pending[correlation]
                self._apply_faults("BatchAppend", context, after_commit=True)
                yield batch.response(error=error)
                continue
            if not request.is_final:
                continue
            del pending[correlation]
            self._check_leader(context)  # KurrentDB fails the whole call with the leader's info
            response = self._commit_batch(batch)
            self._apply_faults("BatchAppend", context, after_commit=True)
            yield response

    def _commit_batch(self, batch: _PendingBatch) -> streams_pb2.BatchAppendResp:
        try:
            result = self._db.append(batch.stream, batch.events, batch.expected)
        except StreamDeleted:
            return batch.response(
                error=_batch_status(
                    code_pb2.NOT_FOUND,
                    "StreamDeleted",
                    shared_pb2.StreamDeleted(stream_identifier=batch.stream_identifier),
                )
            )
        except WrongExpectedVersion as e:
            return batch.response(error=_wrong_version_status(batch.expected, e.actual))
        success = streams_pb2.BatchAppendResp.Success()
        if result.current_revision < 0:
            success.no_stream.SetInParent()
        else:
            success.current_revision = result.current_revision
        if result.position is None:
            success.no_position.SetInParent()
        else:
            success.position.commit_position = result.position
            success.position.prepare_position = result.position
        return batch.response(success=success)

    # -- Delete and Tombstone ------------------------------------------------------------------

    def delete(
        self, request: streams_pb2.DeleteReq, context: grpc.ServicerContext
    ) -> streams_pb2.DeleteResp:
        """Soft delete."""
        user = self._arrive("Delete", context)
        position = self._delete("Delete", request.options, context, self._db.delete, user)
        response = streams_pb2.DeleteResp()
        response.position.commit_position = position
        response.position.prepare_position = position
        return response

    def tombstone(
        self, request: streams_pb2.TombstoneReq, context: grpc.ServicerContext
    ) -> streams_pb2.TombstoneResp:
        """Hard delete."""
        user = self._arrive("Tombstone", context)
        position = self._delete("Tombstone", request.options, context, self._db.tombstone, user)
        response = streams_pb2.TombstoneResp()
        response.position.commit_position = position
        response.position.prepare_position = position
        return response

    def _delete(
        self,
        rpc: str,
        options: Any,
        context: grpc.ServicerContext,
        operation: Callable[[str, int], int],
        user: str | None,
    ) -> int:
        stream = options.stream_identifier.stream_name.decode("utf-8")
        self._authorize(context, user, "delete", stream)
        self._check_leader(context)
        expected = _expected_v1(options)
        try:
            position = operation(stream, expected)
        except StreamDeleted:
            self._apply_faults(rpc, context, after_commit=True)
            self._abort_stream_deleted(context, stream)
        except WrongExpectedVersion as e:
            self._apply_faults(rpc, context, after_commit=True)
            self._abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                # KurrentDB says "Delete" for tombstones too.
                f"Delete failed due to WrongExpectedVersion. Stream: {stream}, "
                f"Expected version: {expected}, Actual version: {e.actual}",
                (
                    ("exception", "wrong-expected-version"),
                    ("stream-name", stream),
                    ("expected-version", str(expected)),
                    ("actual-version", str(e.actual)),
                ),
            )
        self._apply_faults(rpc, context, after_commit=True)
        return position


class _PendingBatch:
    """One BatchAppend write being assembled from requests sharing a correlation id."""

    def __init__(self, first: streams_pb2.BatchAppendReq) -> None:
        options = first.options
        self.correlation_id = first.correlation_id
        self.stream_identifier = options.stream_identifier
        self.stream = options.stream_identifier.stream_name.decode("utf-8")
        which = options.WhichOneof("expected_stream_position")
        if which == "stream_position":
            self.expected: int = options.stream_position
        else:
            self.expected = {"no_stream": NO_STREAM, "stream_exists": STREAM_EXISTS}.get(
                which or "any", ANY
            )
        self.events: list[ProposedEvent] = []
        self.size = 0

    def add(
        self,
        messages: Sequence[streams_pb2.BatchAppendReq.ProposedMessage],
        max_append_size: int,
    ) -> status_pb2.Status | None:
        """Add proposed messages; returns the error status to answer with, if any."""
        for message in messages:
            missing = _missing_metadata(message.metadata)
            if missing is not None:
                return _batch_status(
                    code_pb2.INVALID_ARGUMENT,
                    "BadRequest",
                    shared_pb2.BadRequest(
                        message=f"Required Metadata Property '{missing}' is missing"
                    ),
                )
            try:
                event = _proposed(
                    message.id, message.metadata, message.custom_metadata, message.data
                )
            except _BadRequest as e:
                return _batch_status(
                    code_pb2.INVALID_ARGUMENT, "BadRequest", shared_pb2.BadRequest(message=str(e))
                )
            self.size += _size_on_disk(event)
            self.events.append(event)
        if self.size > max_append_size:
            return _batch_status(
                code_pb2.INVALID_ARGUMENT,
                "MaximumAppendSizeExceeded",
                shared_pb2.MaximumAppendSizeExceeded(maxAppendSize=max_append_size),
            )
        return None

    def response(
        self,
        *,
        success: streams_pb2.BatchAppendResp.Success | None = None,
        error: status_pb2.Status | None = None,
    ) -> streams_pb2.BatchAppendResp:
        return streams_pb2.BatchAppendResp(
            correlation_id=self.correlation_id,
            stream_identifier=self.stream_identifier,
            success=success,
            error=error,
        )


def _batch_status(code: int, message: str, detail: Message) -> status_pb2.Status:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return status_pb2.Status(code=code, message=message, details=packed)  # type: ignore[arg-type]


# KurrentDB's Google.Rpc.Status.AccessDenied, answered per write in a BatchAppend call.
_ACCESS_DENIED_STATUS = _batch_status(
    code_pb2.PERMISSION_DENIED, "AccessDenied", shared_pb2.AccessDenied()
)


def _wrong_version_status(expected: int, actual: int) -> status_pb2.Status:
    detail = shared_pb2.WrongExpectedVersion()
    if actual < 0:
        detail.current_no_stream.SetInParent()
    else:
        detail.current_stream_revision = actual
    if expected == ANY:
        detail.expected_any.SetInParent()
    elif expected == NO_STREAM:
        detail.expected_no_stream.SetInParent()
    elif expected == STREAM_EXISTS:
        detail.expected_stream_exists.SetInParent()
    else:
        detail.expected_stream_position = expected
    # KurrentDB answers a wrong expected version in BatchAppend with ALREADY_EXISTS.
    return _batch_status(code_pb2.ALREADY_EXISTS, "WrongExpectedVersion", detail)


def _append_wrong_version(
    options: streams_pb2.AppendReq.Options, expected: int, actual: int
) -> streams_pb2.AppendResp.WrongExpectedVersion:
    """The ``AppendResp.wrong_expected_version`` oneof, with its 20.6 compatibility twins."""
    wev = streams_pb2.AppendResp.WrongExpectedVersion()
    which = options.WhichOneof("expected_stream_revision")
    if which == "any":
        wev.expected_any.SetInParent()
        wev.any_20_6_0.SetInParent()
    elif which == "stream_exists":
        wev.expected_stream_exists.SetInParent()
        wev.stream_exists_20_6_0.SetInParent()
    elif which == "no_stream":
        wev.expected_no_stream.SetInParent()
        wev.expected_revision_20_6_0 = _ULONG_MAX
    else:
        wev.expected_revision = expected
        wev.expected_revision_20_6_0 = expected
    if actual < 0:
        wev.current_no_stream.SetInParent()
        wev.no_stream_20_6_0.SetInParent()
    else:
        wev.current_revision = actual
        wev.current_revision_20_6_0 = actual
    return wev


def _read_resp(
    event: StoredEvent,
    *,
    structured: bool,
    resolve: Callable[[StoredEvent], StoredEvent | None] | None = None,
) -> streams_pb2.ReadResp:
    """An event as ``ReadResp``; with ``resolve``, a link event comes with the event it points at.

    As on KurrentDB, a resolved link sends the target as ``event`` and the link as ``link``; a
    link that cannot be resolved (its target deleted) sends only ``link``.
    """
    if resolve is None or event.type != LINK_TYPE:
        return streams_pb2.ReadResp(
            event=streams_pb2.ReadResp.ReadEvent(
                event=_recorded(event, structured), commit_position=event.commit_position
            )
        )
    target = resolve(event)
    read_event = streams_pb2.ReadResp.ReadEvent(
        link=_recorded(event, structured), commit_position=event.commit_position
    )
    if target is not None:
        read_event.event.CopyFrom(_recorded(target, structured))
    return streams_pb2.ReadResp(event=read_event)


def _recorded(event: StoredEvent, structured: bool) -> streams_pb2.ReadResp.ReadEvent.RecordedEvent:
    return streams_pb2.ReadResp.ReadEvent.RecordedEvent(
        id=_uuid_to_proto(event.id, structured=structured),
        stream_identifier=shared_pb2.StreamIdentifier(stream_name=event.stream.encode("utf-8")),
        stream_revision=event.revision,
        prepare_position=event.prepare_position,
        commit_position=event.commit_position,
        metadata={
            "type": event.type,
            "created": str(event.created_ticks),
            "content-type": event.content_type,
        },
        custom_metadata=event.metadata,
        data=event.data,
    )


class GossipServicer(_Servicer):
    """``event_store.client.gossip.Gossip``: the cluster members (one, for a single node)."""

    def read(
        self, request: shared_pb2.Empty, context: grpc.ServicerContext
    ) -> gossip_pb2.ClusterInfo:
        """Describe the cluster; ``http_end_point`` is the gRPC address, as on KurrentDB."""
        self._arrive("Gossip", context)
        ticks = time.time_ns() // 100
        info = gossip_pb2.ClusterInfo(
            members=[
                gossip_pb2.MemberInfo(
                    instance_id=shared_pb2.UUID(string=str(member.instance_id)),
                    time_stamp=ticks,
                    state=gossip_pb2.MemberInfo.VNodeState.Value(member.state),
                    is_alive=member.is_alive,
                    http_end_point=gossip_pb2.EndPoint(address=member.host, port=member.port),
                )
                for member in self._node.members()
            ]
        )
        self._apply_faults("Gossip", context, after_commit=True)
        return info


class ServerFeaturesServicer(_Servicer):
    """``event_store.client.server_features.ServerFeatures``: the RPCs served, the version."""

    def get_supported_methods(
        self, request: shared_pb2.Empty, context: grpc.ServicerContext
    ) -> Any:
        """KurrentDB's answer, listing exactly what this server serves (no authentication)."""
        self._arrive("GetSupportedMethods", context)
        answer = supported_methods()
        self._apply_faults("GetSupportedMethods", context, after_commit=True)
        return answer


class PersistentSubscriptionsServicer(_Servicer):
    """``PersistentSubscriptions.List`` only: there are never any persistent subscriptions.

    As on a KurrentDB node without any: listing all answers an empty list; listing those of one
    stream (or of ``$all``) answers ``NOT_FOUND`` "persistent-subscription-does-not-exist",
    which the clients turn into an empty list (kurrentdbclient) or a not-found error (.NET).
    """

    def list(self, request: persistent_pb2.ListReq, context: grpc.ServicerContext) -> Any:
        """Empty, or not found for one stream."""
        user = self._arrive("ListPersistentSubscriptions", context)
        if self._node.access is not None and user is None:
            self._abort(  # statistics need an authenticated user
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "Access Denied",
                (("exception", "access-denied"),),
            )
        options = request.options
        self._apply_faults("ListPersistentSubscriptions", context, after_commit=True)
        if options.WhichOneof("list_option") == "list_for_stream":
            which = options.list_for_stream.WhichOneof("stream_option")
            stream = (
                "$all"
                if which == "all"
                else options.list_for_stream.stream.stream_name.decode("utf-8")
            )
            self._abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"Subscription group '' on stream '{stream}' does not exist.",
                (
                    ("exception", "persistent-subscription-does-not-exist"),
                    ("stream-name", stream),
                    ("group-name", ""),
                ),
            )
        return persistent_pb2.ListResp()


class V2StreamsServicer(_Servicer):
    """``kurrentdb.protocol.v2.streams.StreamsService``: the atomic multi-stream AppendSession."""

    def append_session(
        self,
        request_iterator: Iterator[v2_streams_pb2.AppendRequest],
        context: grpc.ServicerContext,
    ) -> v2_streams_pb2.AppendSessionResponse:
        """Append to several streams at once: all or nothing, one expected revision each."""
        user = self._arrive("AppendSession", context)
        writes: list[tuple[str, int, list[ProposedEvent]]] = []
        seen: set[str] = set()
        total = 0
        limit = self._node.max_append_size
        for request in request_iterator:
            if not self._allowed(user, "write", request.stream):
                self._abort_access_denied_v2(context, user, f"streams:write:{request.stream}")
            if request.stream.casefold() in seen:  # KurrentDB compares stream names ignoring case
                _abort_rich(
                    context,
                    grpc.StatusCode.ABORTED,
                    f"Stream '{request.stream}' is already part of this append session. "
                    "Appending to the same stream multiple times is currently not supported.",
                    v2_errors_pb2.StreamAlreadyInAppendSessionErrorDetails(stream=request.stream),
                )
            seen.add(request.stream.casefold())
            if not request.records:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f'Write to stream "{request.stream}" does not have any records',
                )
            events: list[ProposedEvent] = []
            for record in request.records:
                total += _record_size(record)
                if total > limit:
                    _abort_rich(
                        context,
                        grpc.StatusCode.ABORTED,
                        f"The total size of the append transaction ({total} bytes) exceeds the "
                        f"maximum allowed size of {limit} bytes by {total - limit} bytes",
                        v2_errors_pb2.AppendTransactionSizeExceededErrorDetails(
                            size=total, max_size=limit
                        ),
                    )
                events.append(_record_event(record, context))
            expected = request.expected_revision if request.HasField("expected_revision") else ANY
            writes.append((request.stream, expected, events))
        if not writes:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, "An append session needs at least one request"
            )
        self._check_leader_v2(context)
        response = self._commit(writes, context)
        self._apply_faults("AppendSession", context, after_commit=True)
        return response

    def _check_leader_v2(self, context: grpc.ServicerContext) -> None:
        """The v2 API always needs the leader; it answers with ``kurrent.rpc`` error details."""
        state = self._node.state
        leader = self._node.leader()
        if state == "Leader":
            return
        if state == "Unknown" or leader is None:
            delay = duration_pb2.Duration(seconds=5)
            _abort_rich(
                context,
                grpc.StatusCode.UNAVAILABLE,
                "The server is not yet ready to handle requests. Please try again after 5 seconds.",
                error_details_pb2.RetryInfo(retry_delay=delay),
                reason="SERVER_NOT_READY",
            )
        _abort_rich(
            context,
            grpc.StatusCode.FAILED_PRECONDITION,
            "The server is not the leader node and cannot handle the request. "
            f"Please retry your request against the leader node directly at "
            f"{leader.host}:{leader.port}",
            kurrent_errors_pb2.NotLeaderNodeErrorDetails(
                current_leader=kurrent_errors_pb2.NotLeaderNodeErrorDetails.NodeInfo(
                    host=leader.host, port=leader.port, node_id=str(leader.instance_id)
                )
            ),
            reason="NOT_LEADER_NODE",
        )

    @staticmethod
    def _abort_access_denied_v2(
        context: grpc.ServicerContext, user: str | None, operation: str
    ) -> NoReturn:
        """``ApiErrors.AccessDenied``: the operation is KurrentDB's lower-cased claim name."""
        operation = operation.lower()
        _abort_rich(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            f"Access denied. Insufficient permissions to perform {operation}",
            kurrent_errors_pb2.AccessDeniedErrorDetails(operation=operation, username=user),
            reason="ACCESS_DENIED",
        )

    def _commit(
        self, writes: list[tuple[str, int, list[ProposedEvent]]], context: grpc.ServicerContext
    ) -> v2_streams_pb2.AppendSessionResponse:
        try:
            result = self._db.append_many(writes)
        except StreamDeleted as e:
            self._apply_faults("AppendSession", context, after_commit=True)
            _abort_rich(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"Stream '{e.stream}' has been tombstoned. "
                "It has been permanently removed from the system and cannot be restored.",
                v2_errors_pb2.StreamTombstonedErrorDetails(stream=e.stream),
            )
        except WrongExpectedVersion as e:
            self._apply_faults("AppendSession", context, after_commit=True)
            _abort_rich(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"Append failed due to a revision conflict on stream '{e.stream}'. "
                f"Expected revision: {e.expected}. Actual revision: {e.actual}.",
                v2_errors_pb2.StreamRevisionConflictErrorDetails(
                    stream=e.stream, expected_revision=e.expected, actual_revision=e.actual
                ),
            )
        return v2_streams_pb2.AppendSessionResponse(
            output=[
                v2_streams_pb2.AppendResponse(
                    stream=stream,
                    stream_revision=result.revisions[stream],
                    position=result.position,
                )
                for stream, _, _ in writes
            ],
            position=result.position,
        )

    def append_records(
        self, request: v2_streams_pb2.AppendRecordsRequest, context: grpc.ServicerContext
    ) -> v2_streams_pb2.AppendRecordsResponse:
        """Not served: KurrentDB < 26.1 does not have it either."""
        self._arrive("AppendRecords", context)
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "AppendRecords is not served by plumberd_logging.testing (KurrentDB >= 26.1 only)",
        )


def _record_size(record: v2_streams_pb2.AppendRecord) -> int:
    """KurrentDB's v2 record size: data + properties (as a protobuf Struct) + schema name.

    The properties' entries are the fields of a ``Struct`` as they are of the record (both
    one-byte tags), so their size is the record's less its other fields.
    """
    name, data = record.schema.name, record.data
    properties = record.ByteSize()
    if record.HasField("record_id"):
        properties -= _delimited(len(record.record_id.encode("utf-8")))
    if record.HasField("schema"):
        properties -= _delimited(record.schema.ByteSize())
    if data:
        properties -= _delimited(len(data))
    if record.stream:
        properties -= _delimited(len(record.stream.encode("utf-8")))
    return len(data) + properties + len(name.encode("utf-8"))


def _delimited(n: int) -> int:
    """The bytes of a length-delimited field with a one-byte tag and ``n`` bytes of payload."""
    return 1 + (n.bit_length() + 6) // 7 + n if n else 2


def _record_metadata(record: v2_streams_pb2.AppendRecord) -> bytes:
    """The record's properties as the JSON object KurrentDB stores as the event's metadata."""
    values = {}
    for key, value in record.properties.items():
        if value.WhichOneof("kind") != "string_value":
            properties = json_format.MessageToDict(
                struct_pb2.Struct(fields=dict(record.properties))
            )
            return json.dumps(properties, separators=(",", ":")).encode("utf-8")
        values[key] = value.string_value
    return json.dumps(values, separators=(",", ":")).encode("utf-8")


def _record_event(
    record: v2_streams_pb2.AppendRecord, context: grpc.ServicerContext
) -> ProposedEvent:
    try:
        record_id = UUID(record.record_id) if record.HasField("record_id") else uuid4()
    except ValueError:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f'Could not parse RecordId "{record.record_id}" to GUID',
        )
    metadata = _record_metadata(record) if record.properties else b""
    is_json = record.schema.format == v2_streams_pb2.SCHEMA_FORMAT_JSON
    return ProposedEvent(
        type=record.schema.name,
        data=record.data,
        metadata=metadata,
        content_type=_JSON if is_json else _OCTET_STREAM,
        id=record_id,
    )


def _abort_rich(
    context: grpc.ServicerContext,
    code: grpc.StatusCode,
    message: str,
    detail: Message,
    *,
    reason: str | None = None,
) -> NoReturn:
    """Abort with a ``google.rpc.Status`` carrying ``detail`` in ``grpc-status-details-bin``.

    With ``reason`` the status starts with a ``google.rpc.ErrorInfo`` of the ``server`` domain,
    as KurrentDB's ``RpcExceptions.FromError(ServerError...)`` sends.
    """
    details: list[Message] = [detail]
    if reason is not None:
        details.insert(0, error_details_pb2.ErrorInfo(reason=reason, domain="server"))
    packed = []
    for item in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(item)
        packed.append(any_detail)
    status = rich_status_pb2.Status(code=code.value[0], message=message, details=packed)
    context.abort_with_status(rpc_status.to_status(status))


def build_handlers(node: NodeRuntime) -> list[grpc.GenericRpcHandler]:
    """The generic handlers serving ``node``: Streams, Gossip, ServerFeatures, the list of
    persistent subscriptions and the v2 StreamsService (see ``_server_features.SERVED_METHODS``)."""
    streams = StreamsServicer(node)
    gossip = GossipServicer(node)
    features = ServerFeaturesServicer(node)
    persistent = PersistentSubscriptionsServicer(node)
    v2 = V2StreamsServicer(node)
    return [
        grpc.method_handlers_generic_handler(
            "event_store.client.server_features.ServerFeatures",
            {
                "GetSupportedMethods": grpc.unary_unary_rpc_method_handler(
                    features.get_supported_methods,
                    request_deserializer=shared_pb2.Empty.FromString,
                    response_serializer=SupportedMethods.SerializeToString,
                ),
            },
        ),
        grpc.method_handlers_generic_handler(
            "event_store.client.persistent_subscriptions.PersistentSubscriptions",
            {
                "List": grpc.unary_unary_rpc_method_handler(
                    persistent.list,
                    request_deserializer=persistent_pb2.ListReq.FromString,
                    response_serializer=persistent_pb2.ListResp.SerializeToString,
                ),
            },
        ),
        grpc.method_handlers_generic_handler(
            "event_store.client.streams.Streams",
            {
                "Read": grpc.unary_stream_rpc_method_handler(
                    streams.read,
                    request_deserializer=streams_pb2.ReadReq.FromString,
                    response_serializer=streams_pb2.ReadResp.SerializeToString,
                ),
                "Append": grpc.stream_unary_rpc_method_handler(
                    streams.append,
                    request_deserializer=streams_pb2.AppendReq.FromString,
                    response_serializer=streams_pb2.AppendResp.SerializeToString,
                ),
                "BatchAppend": grpc.stream_stream_rpc_method_handler(
                    streams.batch_append,
                    request_deserializer=streams_pb2.BatchAppendReq.FromString,
                    response_serializer=streams_pb2.BatchAppendResp.SerializeToString,
                ),
                "Delete": grpc.unary_unary_rpc_method_handler(
                    streams.delete,
                    request_deserializer=streams_pb2.DeleteReq.FromString,
                    response_serializer=streams_pb2.DeleteResp.SerializeToString,
                ),
                "Tombstone": grpc.unary_unary_rpc_method_handler(
                    streams.tombstone,
                    request_deserializer=streams_pb2.TombstoneReq.FromString,
                    response_serializer=streams_pb2.TombstoneResp.SerializeToString,
                ),
            },
        ),
        grpc.method_handlers_generic_handler(
            "event_store.client.gossip.Gossip",
            {
                "Read": grpc.unary_unary_rpc_method_handler(
                    gossip.read,
                    request_deserializer=shared_pb2.Empty.FromString,
                    response_serializer=gossip_pb2.ClusterInfo.SerializeToString,
                ),
            },
        ),
        grpc.method_handlers_generic_handler(
            "kurrentdb.protocol.v2.streams.StreamsService",
            {
                "AppendSession": grpc.stream_unary_rpc_method_handler(
                    v2.append_session,
                    request_deserializer=v2_streams_pb2.AppendRequest.FromString,
                    response_serializer=v2_streams_pb2.AppendSessionResponse.SerializeToString,
                ),
                "AppendRecords": grpc.unary_unary_rpc_method_handler(
                    v2.append_records,
                    request_deserializer=v2_streams_pb2.AppendRecordsRequest.FromString,
                    response_serializer=v2_streams_pb2.AppendRecordsResponse.SerializeToString,
                ),
            },
        ),
    ]
