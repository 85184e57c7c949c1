"""The exceptions plumberd-logging raises.

Everything the library raises on purpose derives from :class:`PlumberdError`, so one ``except``
clause catches it all; the subclasses say what went wrong in terms a caller can act on. The
transport's own exceptions (``kurrentdbclient``) never escape: they are wrapped, and the original
is kept as ``__cause__``.

    try:
        client.append_to_stream(stream, event, expected_position=3)
    except WrongExpectedVersion as exc:
        print(exc.stream, exc.expected, exc.actual)
    except Unavailable:
        ...  # the server could not be reached; the append may be retried with the same event

Security and clusters: :class:`Unauthenticated` (wrong user name or password) and
:class:`AccessDenied` (the user may not do this) are permanent; :class:`TlsError` (the TLS
handshake failed: unknown CA, a certificate for another host, TLS on one side only) and
:class:`NotLeader` (a follower answered a write) are transient, because they end when the
server's certificate or the cluster's leadership changes. Messages name the user, never the
password.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDenied",
    "EventTooLarge",
    "InvalidEvent",
    "NotLeader",
    "PlumberdError",
    "QueueFull",
    "StreamDeleted",
    "StreamNotFound",
    "TlsError",
    "TransientError",
    "Unauthenticated",
    "Unavailable",
    "Unsupported",
    "WriterClosed",
    "WrongExpectedVersion",
]


class PlumberdError(Exception):
    """Base class of every error raised by plumberd-logging.

    ``dead_letter_reason`` is the name a writer counts an event under (``stats().dead_lettered``,
    ``stats().dropped``) when this error ends it: one place per rule, read by the writer.
    """

    dead_letter_reason: ClassVar[str] = "rejected"


class InvalidEvent(PlumberdError, ValueError):
    """An event, a value inside it, or its metadata cannot be written in the C#-compatible format.

    ``path`` names the offending field, e.g. ``OrderPlaced.items[1].unit_price``.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


class TransientError(PlumberdError):
    """A failure that may succeed when retried with the same event ids."""

    dead_letter_reason: ClassVar[str] = "gave_up"


class Unavailable(TransientError):
    """The server could not be reached, or did not answer in time."""


class TlsError(Unavailable):
    """The TLS connection failed: the server's certificate is not signed by a trusted CA
    (``reason == "unknown_ca"``), is not valid for the host name in the URL (``"wrong_host"``),
    the CA file cannot be read (``"ca_file"``), or the handshake failed otherwise, e.g. TLS on
    one side only (``"handshake"``). The message says which, and what to change.
    """

    def __init__(self, message: str, reason: str = "handshake") -> None:
        super().__init__(message)
        self.reason = reason


class NotLeader(TransientError):
    """A cluster node that is not the leader refused a write (or a read that needs the leader).

    ``leader`` is the leader's ``host:port`` when the node named it. With ``esdb+discover://`` or
    a list of hosts the client follows the leader by itself; with one host it cannot.
    """

    def __init__(self, message: str, leader: str | None = None) -> None:
        super().__init__(message)
        self.leader = leader


class WrongExpectedVersion(PlumberdError):
    """The stream was not at the expected position (optimistic concurrency check failed)."""

    dead_letter_reason: ClassVar[str] = "wrong_expected_version"

    def __init__(self, stream: str, expected: object, actual: object) -> None:
        super().__init__(
            f"stream {stream!r} is at {_describe_version(actual)}, "
            f"expected {_describe_version(expected)}"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class EventTooLarge(PlumberdError):
    """An append exceeded the server's maximum append size (1 MiB by default)."""

    dead_letter_reason: ClassVar[str] = "too_large"


class StreamDeleted(PlumberdError):
    """The stream was deleted (tombstoned); it cannot be written again."""

    dead_letter_reason: ClassVar[str] = "stream_deleted"


class StreamNotFound(PlumberdError, LookupError):
    """The stream does not exist (or was soft-deleted)."""


class AccessDenied(PlumberdError):
    """The user may not perform the operation (e.g. write to the stream), or (as the subclass
    :class:`Unauthenticated`) the server refused the credentials. Never retried."""

    dead_letter_reason: ClassVar[str] = "access_denied"


class Unauthenticated(AccessDenied):
    """The server refused the credentials: unknown user or wrong password. Never retried."""

    dead_letter_reason: ClassVar[str] = "unauthenticated"


class Unsupported(PlumberdError):
    """The server does not offer the operation (e.g. multi-stream appends before KurrentDB 25.1)."""


class QueueFull(PlumberdError):
    """The writer's bounded queue stayed full for the whole blocking timeout."""

    dead_letter_reason: ClassVar[str] = "queue_full"


class WriterClosed(PlumberdError):
    """The writer is closed: an event submitted after ``close()``, or one it could not confirm
    before its close timeout (the message says which, and where the event is)."""

    dead_letter_reason: ClassVar[str] = "closed"


def _describe_version(version: object) -> str:
    if version is None:
        return "no stream"
    if isinstance(version, int):
        return f"revision {version}"
    return str(version)
