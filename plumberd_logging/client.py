"""``EventStoreClient``: synchronous appends and reads, a drop-in for py-micro-plumberd's client.

    with EventStoreClient("esdb://localhost:2113?tls=false") as client:
        position = client.append_to_stream(StreamName("Recording", rec_id), event)
        for recorded in client.read_stream(f"Recording-{rec_id}"):
            print(recorded.type, recorded.data)

This is the only module that talks to ``kurrentdbclient`` (imported on first use, so
``import plumberd_logging`` stays light). Its exceptions are translated into
:mod:`plumberd_logging.errors`; passwords are masked in every message and repr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import sys
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from uuid import UUID, uuid4

from plumberd_logging._url import Redactor, url_options, validate_url
from plumberd_logging.codec import CONTENT_TYPE, Codec, EncodedEvent
from plumberd_logging.errors import (
    AccessDenied,
    EventTooLarge,
    InvalidEvent,
    NotLeader,
    PlumberdError,
    StreamDeleted,
    StreamNotFound,
    TlsError,
    TransientError,
    Unauthenticated,
    Unavailable,
    Unsupported,
    WrongExpectedVersion,
)
from plumberd_logging.metadata import Metadata
from plumberd_logging.streams import ANY, NO_STREAM, StreamState, check_expected, stream_text

if TYPE_CHECKING:
    from kurrentdbclient import KurrentDBClient

__all__ = ["EventStoreClient", "RecordedEvent", "StreamSubscription", "translate_error"]


@dataclasses.dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored, with its JSON data and metadata decoded.

    ``data``/``metadata`` are the parsed JSON (``None`` when the content is not JSON; the bytes are
    always in ``raw_data``/``raw_metadata``). ``revision`` is the 0-based position in its stream,
    ``position`` the commit position in ``$all``.
    """

    stream: str
    type: str
    id: UUID
    data: Any
    metadata: dict[str, Any]
    revision: int
    position: int
    content_type: str
    recorded_at: datetime | None
    raw_data: bytes
    raw_metadata: bytes


class EventStoreClient:
    """A synchronous client for appending C#-compatible events and reading them back.

    ``default_deadline`` (seconds) bounds every call; ``keep_alive_interval`` and
    ``keep_alive_timeout`` (seconds) set gRPC keep-alive. ``esdb://``, ``esdb+discover://``,
    ``kurrentdb://`` (and ``kdb://``) connection strings are accepted. The connection is opened
    on first use, so constructing a client never blocks.
    """

    def __init__(
        self,
        connection_string: str,
        default_deadline: float | None = None,
        keep_alive_interval: float | None = None,
        keep_alive_timeout: float | None = None,
        *,
        codec: Codec | None = None,
    ) -> None:
        validate_url(connection_string)
        self._redact = Redactor(connection_string)
        self._default_deadline = _positive(default_deadline, "default_deadline")
        self._uri = _with_keep_alive(
            connection_string,
            _positive(keep_alive_interval, "keep_alive_interval"),
            _positive(keep_alive_timeout, "keep_alive_timeout"),
        )
        self._codec = codec if codec is not None else Codec()
        self._lock = threading.Lock()
        self._inner: KurrentDBClient | None = None
        self._pid = 0
        self._closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if hasattr(os, "register_at_fork"):  # a lock held at fork time must not stay held
            os.register_at_fork(after_in_child=partial(_reset_lock, weakref.ref(self)))
        # Fail now on option names and values kurrentdbclient would reject later.
        _prepare_grpc()
        from kurrentdbclient.connection_spec import ConnectionSpec

        try:
            ConnectionSpec(self._uri)
        except ValueError as exc:
            raise ValueError(f"connection_string: {self._redact(str(exc))}") from None
        _check_tls_files(connection_string)

    # -- public API --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The connection string with its password masked."""
        return self._redact.url

    @property
    def codec(self) -> Codec:
        """The codec used to encode events."""
        return self._codec

    def append_to_stream(
        self,
        stream: str,
        event: object | Sequence[object],
        metadata: Metadata | Mapping[str, Any] | None = None,
        expected_position: int | StreamState | None = None,
        *,
        timeout: float | None = None,
    ) -> int:
        """Append one event, or a list of events atomically; return the commit position.

        ``expected_position`` is the revision of the stream's last event (0-based), or one of
        ``ANY`` (default), ``NO_STREAM``, ``STREAM_EXISTS``. The EventStore event id is the
        event's own ``id``, so retrying the same call does not duplicate the event.
        """
        name = stream_text(stream)
        expected = check_expected(expected_position)
        events = list(event) if isinstance(event, list | tuple) else [event]
        if not events:
            raise ValueError("append_to_stream(event): expected an event or a non-empty list")
        encoded = [self._codec.encode(e, metadata) for e in events]
        return self.append_encoded(name, encoded, expected, timeout=timeout)

    def read_stream(
        self,
        stream: str,
        *,
        from_revision: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> list[RecordedEvent]:
        """Read a stream's events with data and metadata decoded from JSON.

        Raises ``StreamNotFound`` when the stream does not exist.
        """
        name = stream_text(stream)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(f"read_stream(limit=...): expected a positive int, got {limit!r}")
        kwargs: dict[str, Any] = {"backwards": backwards, "timeout": self._timeout(timeout)}
        if from_revision is not None:
            kwargs["stream_position"] = check_expected(from_revision, what="from_revision")
        if limit is not None:
            kwargs["limit"] = limit
        with self._errors(name, action="read"):
            recorded = self._client().get_stream(name, **kwargs)
        return [_decode(r) for r in recorded]

    def stream_revision(self, stream: str, *, timeout: float | None = None) -> int | None:
        """The revision of the stream's last event, or ``None`` when the stream does not exist."""
        name = stream_text(stream)
        with self._errors(name, action="read"):
            version = self._client().get_current_version(name, timeout=self._timeout(timeout))
        return version if isinstance(version, int) else None

    def get_stream_metadata(self, stream: str, *, timeout: float | None = None) -> dict[str, Any]:
        """The stream's metadata (``$maxAge``, ``$maxCount``, custom keys...); ``{}`` when none."""
        name = stream_text(stream)
        with self._errors(name, action="read the metadata of"):
            metadata, _ = self._client().get_stream_metadata(name, timeout=self._timeout(timeout))
        return dict(metadata)

    def set_stream_metadata(
        self,
        stream: str,
        metadata: Mapping[str, Any],
        expected_position: int | StreamState | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Replace the stream's metadata (written to ``$$stream``), e.g. ``{"$maxAge": 2592000}``.

        ``$maxAge`` and ``$cacheControl`` are seconds, ``$maxCount`` and ``$tb`` counts: integers
        as the server expects. ``expected_position`` is the revision of the metadata stream.
        """
        name = stream_text(stream)
        expected = check_expected(expected_position)
        body = _stream_metadata(metadata)
        with self._errors(name, expected, action="set the metadata of"):
            self._client().set_stream_metadata(
                name,
                metadata=body,
                current_version=_to_kdb_version(expected),
                timeout=self._timeout(timeout),
            )

    def subscribe_stream(self, stream: str, *, after: int | None = None) -> StreamSubscription:
        """A catch-up subscription: the stream's events from the start (or after revision
        ``after``), then each new one as it is written, until :meth:`StreamSubscription.stop`.

            with client.subscribe_stream("Log-myapp") as events:
                for event in events:        # blocks while nothing new is written
                    print(event.revision, event.type, event.data)

        A stream that does not exist yet is waited for. Errors come as plumberd-logging
        exceptions when iterating (``Unavailable`` when the connection is lost: subscribe again
        with ``after`` = the last revision seen). No deadline applies.
        """
        name = stream_text(stream)
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or after < 0
        ):
            raise ValueError(
                f"subscribe_stream(after=...): expected a revision >= 0, got {after!r}"
            )
        with self._errors(name, action="read"):
            inner = self._client().subscribe_to_stream(name, stream_position=after)
        return StreamSubscription(self, name, inner)

    def close(self) -> None:
        """Close the connection; safe to call more than once."""
        with self._lock:
            self._closed = True
            inner, self._inner = self._inner, None
            if self._finalizer is not None:
                self._finalizer.detach()
        _let_go(inner, self._pid)

    def reset(self) -> None:
        """Drop the current connection; the next call opens a new one.

        The writer does this when a call hangs past its deadline (a gRPC call can, when the
        server vanishes); calls still running on the old connection are left to end on their own.
        """
        with self._lock:
            inner, self._inner = self._inner, None
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
        _let_go(inner, self._pid)

    def __enter__(self) -> EventStoreClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<EventStoreClient {self.url} {state}>"

    # -- used by the writer ------------------------------------------------------------------

    def append_encoded(
        self,
        stream: str,
        events: Sequence[EncodedEvent],
        expected: int | StreamState = ANY,
        *,
        timeout: float | None = None,
    ) -> int:
        """Append already encoded events atomically (one BatchAppend); return the position.

        The request is written as bytes by :mod:`plumberd_logging._wire` and sent on
        kurrentdbclient's channel, with its reconnection, retry and error handling.
        """
        with self._errors(stream, expected, action="write to"):
            return _sender().batch_append(
                self._client(), stream, expected, events, self._timeout(timeout)
            )

    def append_encoded_each(
        self,
        batches: Sequence[tuple[str, int | StreamState, Sequence[EncodedEvent]]],
        *,
        timeout: float | None = None,
    ) -> list[int | PlumberdError]:
        """Several appends, each atomic on its own stream, in one BatchAppend call.

        Returns, in order, each append's commit position or the error that refused it. An
        error of the call itself (the connection, the deadline) raises, as ``append_encoded``.
        """
        first = batches[0][0] if batches else ""
        with self._errors(first, action="write to"):
            results = _sender().batch_append_each(self._client(), batches, self._timeout(timeout))
        out: list[int | PlumberdError] = []
        for (stream, expected, _), result in zip(batches, results, strict=True):
            if isinstance(result, int):
                out.append(result)
                continue
            _scrub(result, self._redact)
            _drop_tracebacks(result)
            translated = translate_error(result, stream, expected, self._redact, action="write to")
            if not isinstance(translated, PlumberdError):
                translated = PlumberdError(f"stream {stream!r}: {translated}")
            translated.__cause__ = result
            out.append(translated)
        return out

    def multi_append_encoded(
        self,
        batches: Iterable[tuple[str, int | StreamState, Sequence[EncodedEvent]]],
        *,
        timeout: float | None = None,
    ) -> int:
        """Append to several streams atomically (KurrentDB >= 25.1 ``multi_append_to_stream``)."""
        requests = list(batches)
        with self._errors(requests[0][0] if requests else "", action="write to"):
            return _sender().multi_append(self._client(), requests, self._timeout(timeout))

    # -- internals ---------------------------------------------------------------------------

    def _timeout(self, timeout: float | None) -> float | None:
        return _positive(timeout, "timeout") if timeout is not None else self._default_deadline

    def _client(self) -> KurrentDBClient:
        inner = self._inner
        if inner is not None and self._pid == os.getpid():
            return inner
        with self._lock:
            if self._closed:
                raise PlumberdError(f"{self!r}: the client is closed")
            if self._inner is None or self._pid != os.getpid():
                # After a fork the parent's channel is unusable: open a new one, leave the
                # parent's alone (closing it here would disturb the parent).
                _let_go(self._inner, self._pid)
                self._inner = None
                with self._errors("", action="connect to"):
                    try:
                        self._inner = _client_class()(self._uri)
                    except OSError as exc:  # a TLS file named in the URL, gone since
                        raise TlsError(
                            f"TLS: cannot read a certificate file named in the URL: "
                            f"{exc.strerror or exc} ({exc.filename})",
                            "ca_file",
                        ) from None
                self._pid = os.getpid()
                # An unclosed client can hang the interpreter at exit: close it then.
                self._finalizer = weakref.finalize(self, _let_go, self._inner, self._pid)
            return self._inner

    @contextlib.contextmanager
    def _errors(self, stream: str, expected: object = None, *, action: str) -> Iterator[None]:
        """Re-raise transport exceptions as plumberd-logging ones (passwords masked)."""
        try:
            yield
        except Exception as exc:
            _scrub(exc, self._redact)
            translated = translate_error(exc, stream, expected, self._redact, action=action)
            if translated is exc:
                raise
            _drop_tracebacks(exc)
            try:
                raise translated from exc
            finally:
                # No reference cycle through this frame: it would keep the failed gRPC call
                # alive until a garbage collection, which can deadlock at interpreter exit.
                del translated, exc


class StreamSubscription:
    """The events of one stream, as they are written: iterate; ``stop()`` ends the iteration
    (from any thread). Made by :meth:`EventStoreClient.subscribe_stream`."""

    def __init__(self, client: EventStoreClient, stream: str, inner: Any) -> None:
        self._client = client
        self._stream = stream
        self._inner = inner
        self._stopped = False

    @property
    def stream(self) -> str:
        """The stream's name."""
        return self._stream

    def __iter__(self) -> StreamSubscription:
        return self

    def __next__(self) -> RecordedEvent:
        if self._stopped:
            raise StopIteration
        try:
            recorded = next(self._inner)
        except StopIteration:
            raise
        except Exception:
            if self._stopped:  # stop() cancels the call: the end, not an error
                raise StopIteration from None
            with self._client._errors(self._stream, action="read"):
                raise
            raise  # pragma: no cover  (_errors always raises)
        return _decode(recorded)

    def stop(self) -> None:
        """End the subscription (safe to call more than once, from any thread)."""
        self._stopped = True
        with contextlib.suppress(Exception):
            self._inner.stop(cancel=True)

    def __enter__(self) -> StreamSubscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<StreamSubscription {self._stream!r}{' stopped' if self._stopped else ''}>"


def translate_error(
    exc: BaseException,
    stream: str,
    expected: object = None,
    redact: Redactor | None = None,
    *,
    action: str = "access",
) -> PlumberdError | BaseException:
    """Map a kurrentdbclient exception to ours (non-transport exceptions are returned as is).

    ``action`` ("write to", "read", ...) and ``stream`` say what was refused in an
    :class:`AccessDenied` message; ``redact`` masks the password and names the user.
    """
    from kurrentdbclient import exceptions as k

    if isinstance(exc, PlumberdError) or not isinstance(exc, k.KurrentDBClientError):
        return exc
    text = str(exc) or type(exc).__name__
    text = redact(text) if redact is not None else text
    code = _status_code(exc)
    if isinstance(exc, k.WrongCurrentVersionError):
        actual = exc.actual_version
        return WrongExpectedVersion(
            exc.stream_name or stream,
            _from_kdb_version(
                exc.expected_version if exc.expected_version is not None else expected
            ),
            _from_kdb_version(actual),
        )
    if isinstance(exc, k.MaximumAppendSizeExceededError | k.RecordMaxSizeExceededError):
        return EventTooLarge(f"stream {stream!r}: {text}")
    if isinstance(exc, k.TransactionMaxSizeExceededError):
        return EventTooLarge(f"stream {stream!r}: {text}")
    if isinstance(exc, k.StreamIsDeletedError | k.StreamTombstonedError):
        return StreamDeleted(f"stream {stream!r} is deleted: {text}")
    if isinstance(exc, k.NodeIsNotLeaderError):
        return _not_leader(exc, redact)
    if isinstance(exc, k.NotFoundError):
        return StreamNotFound(f"stream {stream!r} not found")
    user = redact.user if redact is not None else None
    # kurrentdbclient 1.3 raises v2 (multi-stream) refusals as a plain KurrentDBClientError:
    # the gRPC status of the call it wraps says what happened.
    if isinstance(exc, k.UnauthenticatedError) or code == "UNAUTHENTICATED":
        if user is None:
            return Unauthenticated(
                "authentication failed: the server needs a user name and password "
                "(user:password@ in the URL, which the client sends over TLS only)"
            )
        return Unauthenticated(
            f"authentication failed: the server refused the credentials of user {user!r} "
            "(unknown user or wrong password)"
        )
    if isinstance(exc, k.AccessDeniedError) or code == "PERMISSION_DENIED":
        who = f"user {user!r}" if user is not None else "an anonymous client"
        what = f"stream {stream!r}" if stream else "the server"
        detail = "" if text in ("AccessDeniedError", "Access Denied") else f" ({text})"
        return AccessDenied(f"access denied: {who} may not {action} {what}{detail}")
    if isinstance(exc, k.BadRequestError | k.InvalidArgumentError):
        return InvalidEvent(f"the server rejected the append: {text}", stream)
    tls = _tls_error(exc, redact)
    if tls is not None:
        return tls
    if isinstance(
        exc, k.ServiceUnavailableError | k.DeadlineExceededError | k.DiscoveryFailedError
    ):
        return Unavailable(text)
    if code == "UNAVAILABLE":  # a v2 "not ready" answer (no leader elected yet)
        return Unavailable(text)
    if isinstance(exc, k.GrpcError) and "StatusCode.UNIMPLEMENTED" in text:
        return Unsupported(f"the server does not support this operation: {text}")
    if isinstance(exc, k.GrpcError) and "StatusCode.INVALID_ARGUMENT" in text:
        return InvalidEvent(f"the server rejected the append: {text}", stream)
    if isinstance(exc, k.GrpcError | k.AbortedByServerError):
        return TransientError(text)
    return PlumberdError(text)


def _status_code(exc: BaseException) -> str | None:
    """The gRPC status name of the call a kurrentdbclient exception wraps (v2 errors)."""
    code = getattr(exc.__cause__, "code", None)
    if not callable(code):
        return None
    try:
        return getattr(code(), "name", None)
    except Exception:  # not a gRPC call after all
        return None


def _not_leader(exc: Any, redact: Redactor | None) -> NotLeader:
    host, port = getattr(exc, "host", None), getattr(exc, "port", None)
    leader = f"{host}:{port}" if host and port else None
    node = redact.hosts if redact is not None else "the node"
    where = f"; the leader is {leader}" if leader else ""
    message = f"not the leader: {node} is not the cluster's leader{where}"
    if redact is not None and not redact.discovers:
        message += (
            ". With one host in the URL the client cannot follow the leader: use "
            "esdb+discover://HOST or list every node (esdb://node1:2113,node2:2113,node3:2113)"
        )
    return NotLeader(message, leader)


_TLS_MARKS = ("SSL_ERROR", "Hostname Verification", "security handshaker", "Tls handshake")


def _tls_error(exc: BaseException, redact: Redactor | None) -> TlsError | None:
    """A TLS failure anywhere in the exception's chain (discovery wraps it), explained."""
    from kurrentdbclient.exceptions import SSLError

    texts: list[str] = []
    tls = False
    current: BaseException | None = exc
    for _ in range(5):  # the chain is short; never loop on a cycle
        if current is None:
            break
        text = str(current)
        texts.append(text)
        tls = tls or isinstance(current, SSLError) or any(m in text for m in _TLS_MARKS)
        current = current.__cause__
    if not tls:
        return None
    text = " ".join(texts)
    if redact is not None:
        text = redact(text)
    hosts = redact.hosts if redact is not None else "the server"
    ca_file = redact.ca_file if redact is not None else None
    if "Hostname Verification" in text:
        return TlsError(
            f"TLS: the certificate of {hosts} is not valid for the host name in the URL "
            "(hostname verification failed); connect with a name the certificate lists, or "
            "have the certificate issued for this name",
            "wrong_host",
        )
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = text.split("CERTIFICATE_VERIFY_FAILED:", 1)[1].split(":", 1)[0].strip()
        trusted = f"the CA in tlsCAFile={ca_file}" if ca_file else "the system's CAs (no tlsCAFile)"
        return TlsError(
            f"TLS: the certificate of {hosts} is not trusted ({detail or 'verify failed'}); "
            f"it is checked against {trusted}: pass the CA that signed the server's "
            "certificate with tlsCAFile=PATH",
            "unknown_ca",
        )
    if "security handshaker" in text:
        return TlsError(
            f"TLS: no usable CA certificate in tlsCAFile={ca_file} (not a PEM certificate?)"
            if ca_file
            else f"TLS: could not set up a TLS connection to {hosts}",
            "ca_file",
        )
    if "WRONG_VERSION_NUMBER" in text:
        return TlsError(
            f"TLS: {hosts} does not answer with TLS; if the server runs without TLS, use "
            "tls=false in the URL",
            "handshake",
        )
    return TlsError(f"TLS: the handshake with {hosts} failed: {texts[0]}", "handshake")


def _chained(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it chains (``__cause__``/``__context__``), each once, at
    most 21."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _scrub(exc: BaseException, redact: Redactor) -> None:
    """Mask the password in the texts of ``exc`` and the exceptions it chains (kept as
    ``__cause__``/``__context__`` of ours, where a traceback would print them)."""
    for current in _chained(exc):
        args = getattr(current, "args", ())
        if any(isinstance(a, str) and redact(a) != a for a in args):
            with contextlib.suppress(Exception):  # an exception class with odd args
                current.args = tuple(redact(a) if isinstance(a, str) else a for a in args)


def _drop_tracebacks(exc: BaseException) -> None:
    """Forget the tracebacks of ``exc`` and the exceptions it chains (gRPC's and
    kurrentdbclient's, kept as the cause of ours). Their frames hold the connection; through
    the cycles exception -> traceback -> frame -> exception they would keep its socket open
    until a garbage collection, one per failed call."""
    for current in _chained(exc):
        current.__traceback__ = None


def _check_tls_files(url: str) -> None:
    """A CA or client certificate file named in the URL must exist and hold PEM text."""
    options = url_options(url)
    for key, name in (
        ("tlscafile", "tlsCAFile"),
        ("usercertfile", "userCertFile"),
        ("userkeyfile", "userKeyFile"),
    ):
        path = options.get(key)
        if not path:
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(1 << 20)
        except OSError as exc:
            raise ValueError(f"connection_string: {name}={path!r}: {exc.strerror or exc}") from None
        if b"-----BEGIN " not in head:
            raise ValueError(
                f"connection_string: {name}={path!r} is not a PEM file "
                "(expected -----BEGIN CERTIFICATE-----)"
            )


def _reset_lock(ref: weakref.ref[EventStoreClient]) -> None:
    """In a forked child: a fresh lock, and the parent's connection set aside for good."""
    client = ref()
    if client is not None:
        client._lock = threading.Lock()
        if client._finalizer is not None:  # it would close the parent's channel at exit
            client._finalizer.detach()
            client._finalizer = None
        _let_go(client._inner, client._pid)
        client._inner = None


_INHERITED: list[Any] = []
"""Connections a forked child inherited from its parent. They are never closed nor freed in
the child: ``KurrentDBClient.__del__`` closes its gRPC channel, and closing a parent's channel
in a child can hang that child for good (seen about one fork in a hundred)."""

CLOSE_WAIT = 1.0
"""How long ``close()`` waits for a gRPC channel to close (one with a hung call may not)."""


def _let_go(inner: Any, pid: int) -> None:
    """Release ``inner`` (a ``KurrentDBClient`` or None) opened by process ``pid``: close it
    within :data:`CLOSE_WAIT` when it is this process's own, keep it untouched when it is a
    parent's."""
    if inner is None:
        return
    if pid != os.getpid():
        _INHERITED.append(inner)
        return
    closer = threading.Thread(
        target=_close_quietly, args=(inner,), name="plumberd-close", daemon=True
    )
    try:
        closer.start()
    except RuntimeError:  # no new threads at interpreter exit: close here
        _close_quietly(inner)
        return
    closer.join(CLOSE_WAIT)


@functools.cache
def _client_class() -> type[KurrentDBClient]:
    """``KurrentDBClient`` whose gRPC channels each have their own connections.

    By default gRPC shares connections between channels to the same address. A new client
    would then inherit the old one's state: after a server restart, the shared connection's
    reconnect backoff (it failed while the server was down) refuses the new client's calls for
    seconds; after a hung call, ``reset()`` would get the hung connection back.
    """
    from kurrentdbclient import KurrentDBClient
    from kurrentdbclient.common import GrpcOptions

    own: GrpcOptions = (("grpc.use_local_subchannel_pool", 1),)
    _keep_grpc_running()

    class OwnConnections(KurrentDBClient):
        def _construct_grpc_channel(self, grpc_target: str, grpc_options: GrpcOptions = ()) -> Any:
            return super()._construct_grpc_channel(grpc_target, grpc_options + own)

    return OwnConnections


_KEEPER: list[Any] = []


def _keep_grpc_running() -> None:
    """Hold one idle gRPC channel for the life of the process, so that closing a client's
    channel never closes the last one.

    Closing the last channel stops gRPC's event engine inside ``Channel.close()``, with the
    GIL held, waiting for its threads; a thread of it that is finishing a call made with call
    credentials (a user name and password) waits for the GIL meanwhile: the process hangs for
    good (grpc/grpc#42247). Seen about once in a thousand discoveries of a cluster whose
    leader is not the first seed (each closes its gossip channel). The idle channel never
    connects: it is a local target that is never called.
    """
    if not _KEEPER:
        import grpc

        _KEEPER.append(grpc.insecure_channel("127.0.0.1:9"))


def _prepare_grpc() -> None:
    """Before grpc is first imported: let it survive ``fork()`` (gunicorn, multiprocessing).

    Without fork support a child that uses gRPC after its parent did can hang; with it, gRPC
    resets itself in the child (when no call is in flight at the moment of the fork). An
    application that set ``GRPC_ENABLE_FORK_SUPPORT`` itself keeps its choice.
    """
    if "grpc" not in sys.modules:
        os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "true")


def _decode(r: Any) -> RecordedEvent:
    return RecordedEvent(
        stream=r.stream_name,
        type=r.type,
        id=r.id,
        data=_json_or_none(r.data) if r.content_type == CONTENT_TYPE else None,
        metadata=_json_object(r.metadata),
        revision=r.stream_position,
        position=r.commit_position,
        content_type=r.content_type,
        recorded_at=r.recorded_at,
        raw_data=r.data,
        raw_metadata=r.metadata,
    )


_STREAM_METADATA_INTS = {"$maxAge": 1, "$maxCount": 1, "$tb": 0, "$cacheControl": 1}


def _stream_metadata(metadata: object) -> dict[str, Any]:
    """Validate stream metadata before it is written (``kurrentdbclient`` would send anything)."""
    if not isinstance(metadata, Mapping):
        raise TypeError(
            f"set_stream_metadata(metadata=...): expected a dict, got {type(metadata).__name__}"
        )
    body = dict(metadata)
    for key, value in body.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"set_stream_metadata(metadata=...): bad key {key!r}")
        minimum = _STREAM_METADATA_INTS.get(key)
        if minimum is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < minimum
        ):
            raise ValueError(
                f"set_stream_metadata(metadata[{key!r}]): expected an int >= {minimum}, "
                f"got {value!r}"
            )
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"set_stream_metadata(metadata=...): not JSON: {exc}") from None
    return body


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _json_object(raw: bytes) -> dict[str, Any]:
    value = _json_or_none(raw)
    return value if isinstance(value, dict) else {}


def _to_kdb_version(expected: int | StreamState) -> Any:
    from kurrentdbclient import StreamState as KState

    if isinstance(expected, int):
        return expected
    return {
        StreamState.ANY: KState.ANY,
        StreamState.NO_STREAM: KState.NO_STREAM,
        StreamState.EXISTS: KState.EXISTS,
    }[expected]


def _from_kdb_version(version: object) -> int | StreamState | None:
    if isinstance(version, int) and not isinstance(version, bool):
        return version if version >= 0 else NO_STREAM
    if isinstance(version, StreamState) or version is None:
        return version
    name = getattr(version, "name", "")
    return {"ANY": ANY, "NO_STREAM": NO_STREAM, "EXISTS": StreamState.EXISTS}.get(name)


def _positive(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{what}: expected a positive number of seconds, got {value!r}")
    return float(value)


def _with_keep_alive(url: str, interval: float | None, timeout: float | None) -> str:
    given = {k.lower() for k, _ in parse_qsl(urlsplit(url).query)}
    for key, value in (("keepaliveinterval", interval), ("keepalivetimeout", timeout)):
        if value is not None and key in given:
            raise ValueError(
                f"connection_string: {key} is set both in the URL and as an argument; keep one"
            )
    extra = {}
    if interval is not None:
        extra["KeepAliveInterval"] = str(round(interval * 1000))
    if timeout is not None:
        extra["KeepAliveTimeout"] = str(round(timeout * 1000))
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(extra)


def _close_quietly(inner: Any) -> None:
    with contextlib.suppress(Exception):  # best effort; nothing useful to report at exit
        inner.close()


class _Sender:
    """Sends the append requests :mod:`plumberd_logging._wire` writes as bytes on a
    ``KurrentDBClient``'s channel, wrapped in its own reconnect/retry and error mapping."""

    _BATCH_APPEND = "/event_store.client.streams.Streams/BatchAppend"
    _APPEND_SESSION = "/kurrentdb.protocol.v2.streams.StreamsService/AppendSession"

    def __init__(self) -> None:
        import grpc
        from kurrentdbclient.client import autoreconnect, retrygrpc
        from kurrentdbclient.common import handle_rpc_error
        from kurrentdbclient.exceptions import KurrentDBClientError, ProgrammingError
        from kurrentdbclient.protos.v1 import streams_pb2
        from kurrentdbclient.protos.v2.streams import streams_pb2 as v2_pb2
        from kurrentdbclient.streams import BaseStreamsService

        from plumberd_logging import _wire

        batch_resp = streams_pb2.BatchAppendResp.FromString
        session_resp = v2_pb2.AppendSessionResponse.FromString
        convert = BaseStreamsService._convert_batch_append_resp

        def batch_call(client: KurrentDBClient, bodies: list[bytes], timeout: float | None) -> Any:
            """The responses of one BatchAppend call sending ``bodies`` (serialized requests)."""
            conn: Any = client._connection
            call = conn._grpc_channel.stream_stream(
                self._BATCH_APPEND, request_serializer=None, response_deserializer=batch_resp
            )
            return call(
                iter(bodies),
                timeout=timeout,
                metadata=conn.streams._metadata(client._call_metadata, requires_leader=True),
                credentials=client._call_credentials,
            )

        def single_call(client: KurrentDBClient, body: bytes, timeout: float | None) -> Any:
            """:func:`batch_call` with one request: the same messages on the wire (the request,
            then the end of the request stream), without the thread gRPC starts per call to
            read a request iterator."""
            conn: Any = client._connection
            call = conn._grpc_channel.unary_stream(
                self._BATCH_APPEND, request_serializer=None, response_deserializer=batch_resp
            )
            return call(
                body,
                timeout=timeout,
                metadata=conn.streams._metadata(client._call_metadata, requires_leader=True),
                credentials=client._call_credentials,
            )

        def batch_append(
            client: KurrentDBClient,
            stream: str,
            expected: int | StreamState,
            events: Sequence[EncodedEvent],
            timeout: float | None,
        ) -> int:
            timeout = timeout if timeout is not None else client._default_deadline
            body = _wire.batch_append_request(
                stream, expected, events, correlation_id=uuid4(), timeout=timeout
            )
            try:
                for response in single_call(client, body, timeout):
                    position: int = convert(response, stream, _to_kdb_version(expected))
                    return position
                raise KurrentDBClientError("Batch append response not received")
            except grpc.RpcError as exc:
                raise handle_rpc_error(exc) from None

        def batch_append_each(
            client: KurrentDBClient,
            batches: Sequence[tuple[str, int | StreamState, Sequence[EncodedEvent]]],
            timeout: float | None,
        ) -> list[int | Exception]:
            timeout = timeout if timeout is not None else client._default_deadline
            asked: dict[str, int] = {}  # correlation id text -> index in batches
            bodies = []
            for i, (stream, expected, events) in enumerate(batches):
                correlation = uuid4()
                asked[str(correlation)] = i
                bodies.append(
                    _wire.batch_append_request(
                        stream, expected, events, correlation_id=correlation, timeout=timeout
                    )
                )
            results: dict[int, int | Exception] = {}
            try:
                for response in batch_call(client, bodies, timeout):
                    i = asked.pop(_correlation_text(response.correlation_id), -1)
                    if i < 0:
                        continue  # not one of ours, or answered twice
                    stream, expected, _ = batches[i]
                    try:
                        results[i] = convert(response, stream, _to_kdb_version(expected))
                    except KurrentDBClientError as exc:
                        results[i] = exc  # this append only; the others stand
                    if not asked:
                        return [results[i] for i in range(len(bodies))]
                raise KurrentDBClientError(
                    f"Batch append response not received for {len(asked)} of {len(bodies)} appends"
                )
            except grpc.RpcError as exc:
                raise handle_rpc_error(exc) from None

        def multi_append(
            client: KurrentDBClient,
            batches: Sequence[tuple[str, int | StreamState, Sequence[EncodedEvent]]],
            timeout: float | None,
        ) -> int:
            conn: Any = client._connection
            timeout = timeout if timeout is not None else client._default_deadline
            try:
                bodies = [_wire.multi_append_request(s, e, evs) for s, e, evs in batches]
            except ValueError as exc:  # kurrentdbclient's own words for the same refusal
                raise ProgrammingError(
                    f"Invalid metadata: {exc}. NewEvent metadata in multi-append call must "
                    "either be empty or a JSON document with string values"
                ) from None
            call = conn._grpc_channel.stream_unary(
                self._APPEND_SESSION, request_serializer=None, response_deserializer=session_resp
            )
            try:
                response = call(
                    iter(bodies),
                    timeout=timeout,
                    metadata=conn.v2streams._metadata(client._call_metadata, requires_leader=True),
                    credentials=client._call_credentials,
                )
            except grpc.RpcError as exc:
                raise handle_rpc_error(exc) from exc
            session_position: int = response.position
            return session_position

        self.batch_append = retrygrpc(autoreconnect(batch_append))
        self.batch_append_each = retrygrpc(autoreconnect(batch_append_each))
        self.multi_append = retrygrpc(autoreconnect(multi_append))


def _correlation_text(value: Any) -> str:
    """An ``event_store.client.UUID`` message as text: its string form, else its two halves."""
    if value.string:
        return str(value.string)
    structured = value.structured
    high = structured.most_significant_bits & 0xFFFFFFFFFFFFFFFF
    low = structured.least_significant_bits & 0xFFFFFFFFFFFFFFFF
    return str(UUID(int=(high << 64) | low))


_SENDERS: list[_Sender] = []


def _sender() -> _Sender:
    """The one :class:`_Sender` (built on first use: ``import plumberd_logging`` stays light)."""
    if not _SENDERS:
        _SENDERS.append(_Sender())
    return _SENDERS[0]
