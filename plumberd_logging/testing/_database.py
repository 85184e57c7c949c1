"""The data behind the in-process EventStoreDB server: streams, the ``$all`` log, write rules.

:class:`Database` is pure Python and thread-safe, and knows nothing about gRPC. The server
(:class:`~plumberd_logging.testing.InMemoryEventStore`) translates RPCs into calls on it; several
server nodes can share one database (a cluster), and tests can seed or inspect it directly::

    db = Database()
    db.append("order-1", [ProposedEvent("OrderPlaced", b'{"id": 1}')], expected_version=NO_STREAM)
    assert [e.type for e in db.events("order-1")] == ["OrderPlaced"]

The write rules follow KurrentDB's ``IndexWriter.CheckCommit`` and ``StorageWriterService``:
expected versions, idempotent retries (positional for an explicit version or ``NO_STREAM``,
through the recent-ids cache for ``ANY``/``STREAM_EXISTS``), "corrupted idempotency" reported as a
wrong expected version, soft delete (``$tb`` set to ``DELETED_STREAM`` in the ``$$stream``
metadata, undone by the next append), and tombstones.

Like a real node, ``$all`` begins with server-written system records (the ``$metadata`` of system
streams, see :data:`SYSTEM_RECORDS`), and KurrentDB's two standard system projections run, in
memory: ``$by_event_type`` links every user event into ``$et-{type}`` and ``$by_category`` into
``$ce-{category}`` (the stream name before its first ``-``). Their ``$>`` link events point at
``{revision}@{stream}``. As on a real node they are records of ``$all`` too, written a moment
after the events they link (when ``$all`` or a projection stream is next read);
``Database(system_projections=False)`` turns them off, as ``--run-projections=none`` does::

    db.append("order-1", [ProposedEvent("OrderPlaced", b"{}")])
    [link] = db.events("$ce-order")
    assert (link.type, link.data) == ("$>", b"0@order-1")
    assert db.resolve_link(link).type == "OrderPlaced"
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4

__all__ = [
    "ANY",
    "DELETED_STREAM",
    "LINK_TYPE",
    "NO_STREAM",
    "STREAM_EXISTS",
    "SYSTEM_RECORDS",
    "AppendResult",
    "Database",
    "EventFilter",
    "MultiAppendResult",
    "ProposedEvent",
    "StoreError",
    "StoredEvent",
    "StreamDeleted",
    "StreamNotFound",
    "WrongExpectedVersion",
]

ANY = -2
"""Expected version: append whatever the stream's state (``StreamState.ANY``)."""
NO_STREAM = -1
"""Expected version: the stream must not exist, or be soft-deleted (``StreamState.NO_STREAM``)."""
STREAM_EXISTS = -4
"""Expected version: the stream (or its metadata stream) must exist (``StreamState.EXISTS``)."""
DELETED_STREAM = 9_223_372_036_854_775_807
"""``long.MaxValue``: the ``$tb`` of a soft-deleted stream and the revision of a tombstone."""

LINK_TYPE = "$>"
"""The event type of a link event (its data: ``{revision}@{stream}``)."""

SYSTEM_RECORDS: tuple[tuple[str, bytes], ...] = (("$$$scavenges", b'{"$maxAge":2592000}'),)
"""The ``$metadata`` records a fresh database starts ``$all`` with (stream, data), as a node
writes at start-up (a real one writes more, with different positions)."""

_PROJECTION_PREFIXES = ("$et-", "$ce-")
_FIRST_POSITION = 1_024  # like a real log, no user event sits at position 0
_RECORD_OVERHEAD = 88  # rough size of a prepare record's header, so positions look like offsets
_TICKS_PER_SECOND = 10_000_000  # "created" is in .NET ticks (100 ns) since the Unix epoch
_WAIT_POLL_SECONDS = 0.05  # wait_for re-checks at least this often (for non-write conditions)

_T = TypeVar("_T")


class StoreError(Exception):
    """Base class of the errors a :class:`Database` operation reports."""


class WrongExpectedVersion(StoreError):
    """The stream is not at the expected version (``actual`` is -1 when it does not exist)."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream!r}: expected version {expected}, actual {actual}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class StreamDeleted(StoreError):
    """The stream is tombstoned (or soft-deleted where the operation needs it to exist)."""

    def __init__(self, stream: str) -> None:
        super().__init__(f"stream {stream!r} is deleted")
        self.stream = stream


class StreamNotFound(StoreError):
    """A read of a stream that has no readable events (never written, or soft-deleted)."""

    def __init__(self, stream: str) -> None:
        super().__init__(f"stream {stream!r} not found")
        self.stream = stream


@dataclass(frozen=True, slots=True)
class ProposedEvent:
    """An event to append, as a client proposes it.

    ``content_type`` is what the client sends; the server keeps only whether it is JSON.
    """

    type: str
    data: bytes = b""
    metadata: bytes = b""
    content_type: str = "application/json"
    id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as recorded: what a reader gets back, plus conveniences for assertions.

    >>> event = StoredEvent("s", "T", UUID(int=1), b'{"a": 1}', b"", "application/json",
    ...                     0, 1024, 1024, 0)
    >>> event.json()
    {'a': 1}
    """

    stream: str
    type: str
    id: UUID
    data: bytes
    metadata: bytes
    content_type: str
    """``application/json`` or ``application/octet-stream``, as a real server answers."""
    revision: int
    commit_position: int
    prepare_position: int
    created_ticks: int = field(repr=False)
    """Creation time in .NET ticks (100 ns) since the Unix epoch, as sent on the wire."""

    @property
    def created(self) -> datetime:
        """When the event was recorded (UTC)."""
        return datetime.fromtimestamp(self.created_ticks / _TICKS_PER_SECOND, tz=timezone.utc)

    @property
    def is_system(self) -> bool:
        """True for server-written events (type or stream starting with ``$``)."""
        return self.type.startswith("$") or self.stream.startswith("$")

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)

    def metadata_json(self) -> Any:
        """The metadata parsed as JSON (``None`` when the event has no metadata)."""
        return json.loads(self.metadata) if self.metadata else None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The outcome of a successful append to one stream."""

    stream: str
    current_revision: int
    """The stream's last revision after the append (-1: still no stream, for an empty append)."""
    position: int | None
    """Commit position of the last event (the already written one for an idempotent retry);
    ``None`` when no events were appended."""
    idempotent: bool = False
    """True when every event was already written, so nothing was written again."""


@dataclass(frozen=True, slots=True)
class MultiAppendResult:
    """The outcome of a successful atomic append to several streams."""

    position: int
    revisions: dict[str, int]
    idempotent: bool = False


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A server-side ``$all`` filter on the stream name or the event type.

    Regexes are searched (like .NET ``Regex.IsMatch``), prefixes matched with ``startswith``.
    """

    on: Literal["stream", "type"]
    regex: str | None = None
    prefixes: tuple[str, ...] = ()

    _compiled: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.regex is None) == (not self.prefixes):
            msg = "EventFilter needs either a regex or at least one prefix"
            raise ValueError(msg)
        object.__setattr__(self, "_compiled", re.compile(self.regex) if self.regex else None)

    def matches(self, event: StoredEvent) -> bool:
        """Whether the event passes the filter."""
        value = event.stream if self.on == "stream" else event.type
        if self._compiled is not None:
            return self._compiled.search(value) is not None
        return value.startswith(self.prefixes)


@dataclass
class _Stream:
    name: str
    events: list[StoredEvent] = field(default_factory=list)
    tombstoned: bool = False

    @property
    def last_revision(self) -> int:
        if self.tombstoned:
            return DELETED_STREAM
        return len(self.events) - 1


@dataclass(frozen=True, slots=True)
class _Check:
    """One stream's commit decision (mirrors KurrentDB's ``CommitCheckResult``)."""

    decision: Literal["ok", "idempotent", "wrong_version", "deleted"]
    current: int
    soft_deleted: bool = False
    idempotent_end: int = -1
    idempotent_position: int = -1


@dataclass(frozen=True, slots=True)
class _Write:
    stream: str
    expected: int
    events: Sequence[ProposedEvent]


def _meta_stream(stream: str) -> str:
    return "$$" + stream


def _is_json(content_type: str) -> bool:
    return content_type == "application/json"


class Database:
    """Streams and the ``$all`` log of one (simulated) EventStoreDB, safe to share between threads.

    Reads return snapshots (lists), so callers never iterate while holding the lock. Every
    successful write bumps :attr:`version` and wakes :meth:`wait_for` callers.
    """

    def __init__(self, *, system_projections: bool = True) -> None:
        self.system_projections = system_projections
        """Whether ``$by_event_type`` and ``$by_category`` run (``$et-``/``$ce-`` streams)."""
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._streams: dict[str, _Stream] = {}
        self._log: list[StoredEvent] = []
        self._positions: list[int] = []
        self._next_position = _FIRST_POSITION
        self._recent_ids: dict[UUID, tuple[str, int]] = {}
        self._version = 0
        self._unprojected: list[StoredEvent] = []  # linked when a projection stream is used
        self._write_system_records()

    # -- writes --------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[ProposedEvent],
        expected_version: int = ANY,
    ) -> AppendResult:
        """Append events to one stream atomically.

        Raises :class:`WrongExpectedVersion` or :class:`StreamDeleted`; an exact retry of an
        append that already succeeded returns the original position with ``idempotent=True``.
        """
        result = self.append_many([(stream, expected_version, events)])
        return AppendResult(
            stream=stream,
            current_revision=result.revisions[stream],
            position=result.position if result.position >= 0 else None,
            idempotent=result.idempotent,
        )

    def append_many(
        self, writes: Sequence[tuple[str, int, Sequence[ProposedEvent]]]
    ) -> MultiAppendResult:
        """Append to several distinct streams in one all-or-nothing transaction.

        ``position`` is -1 when no events were written at all (an empty append).
        """
        batch = [_Write(stream, expected, tuple(events)) for stream, expected, events in writes]
        names = [w.stream for w in batch]
        if len(set(names)) != len(names):
            msg = f"each stream may appear once in an atomic append: {names}"
            raise ValueError(msg)
        with self._lock:
            checks = [self._check(w.stream, w.expected, [e.id for e in w.events]) for w in batch]
            for write, check in zip(batch, checks, strict=True):
                if check.decision == "deleted":
                    raise StreamDeleted(write.stream)
            if all(c.decision == "idempotent" for c in checks):
                return MultiAppendResult(
                    position=max(c.idempotent_position for c in checks),
                    revisions={
                        w.stream: c.idempotent_end for w, c in zip(batch, checks, strict=True)
                    },
                    idempotent=True,
                )
            for write, check in zip(batch, checks, strict=True):
                if check.decision != "ok":
                    raise WrongExpectedVersion(write.stream, write.expected, check.current)
            return self._commit(batch, checks)

    def delete(self, stream: str, expected_version: int = ANY) -> int:
        """Soft-delete a stream (``$tb`` = ``DELETED_STREAM``); returns the metadata's position.

        Reads then report "not found"; the next append recreates the stream, continuing its
        revisions. Deleting a stream that never existed is a wrong expected version (actual -1).
        """
        with self._lock:
            check = self._check(stream, expected_version, [uuid4()])
            self._raise_unless_ok(stream, expected_version, check)
            meta = self._streams.get(_meta_stream(stream))
            if check.current < 0 and (meta is None or meta.last_revision < 0):
                raise WrongExpectedVersion(stream, expected_version, -1)
            data = json.dumps({"$tb": DELETED_STREAM}, separators=(",", ":")).encode()
            event = self._write_event(_meta_stream(stream), "$metadata", data)
            self._notify()
            return event.commit_position

    def tombstone(self, stream: str, expected_version: int = ANY) -> int:
        """Hard-delete a stream for ever; returns the tombstone's position."""
        with self._lock:
            check = self._check(stream, expected_version, [uuid4()])
            self._raise_unless_ok(stream, expected_version, check)
            target = self._streams.setdefault(stream, _Stream(stream))
            record = self._make_event(stream, "$streamDeleted", b"", revision=DELETED_STREAM)
            target.tombstoned = True
            self._log_event(record)
            self._notify()
            return record.commit_position

    def forget_recent_ids(self) -> None:
        """Drop the recent-event-ids cache, as a restarted server loses it.

        Retries with ``ANY``/``STREAM_EXISTS`` are then written again (duplicates), exactly as
        on a real server after a restart; explicit expected versions stay idempotent.
        """
        with self._lock:
            self._recent_ids.clear()

    def clear(self) -> None:
        """Remove every stream and event (positions keep increasing)."""
        with self._lock:
            self._streams.clear()
            self._unprojected.clear()
            self._log.clear()
            self._positions.clear()
            self._recent_ids.clear()
            self._write_system_records()
            self._notify()

    # -- reads ---------------------------------------------------------------------------------

    def read_stream(
        self,
        stream: str,
        *,
        from_revision: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """Read a stream as a client would (``from_revision`` is inclusive).

        Raises :class:`StreamNotFound` (never written, or soft-deleted) or
        :class:`StreamDeleted` (tombstoned; also for the ``$$`` metadata of a tombstoned stream).
        """
        with self._lock:
            if stream.startswith("$$"):
                original = self._streams.get(stream[2:])
                if original is not None and original.tombstoned:
                    raise StreamDeleted(stream)
            target = self._stream(stream)
            if target is not None and target.tombstoned:
                raise StreamDeleted(stream)
            if target is None or not target.events:
                raise StreamNotFound(stream)
            truncate_before = self._truncate_before(stream)
            if truncate_before >= DELETED_STREAM:
                raise StreamNotFound(stream)
            events = target.events
            count = len(events) if limit is None else limit
            if backwards:
                start = len(events) - 1 if from_revision is None else from_revision
                start = min(start, len(events) - 1)
                stop = max(max(truncate_before, 0) - 1, start - count)
                return [events[r] for r in range(start, stop, -1)]
            start = max(from_revision or 0, truncate_before, 0)
            return events[start : start + count]

    def read_all(
        self,
        *,
        from_position: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
        event_filter: EventFilter | None = None,
    ) -> list[StoredEvent]:
        """Read ``$all`` in commit order, including system events (``$metadata`` and so on).

        Forwards from a position includes that position; backwards from it excludes it.
        The filter is applied before the limit, as on the server.
        """
        with self._lock:
            self._project_pending()
            if backwards:
                end = (
                    len(self._log)
                    if from_position is None
                    else bisect.bisect_left(self._positions, from_position)
                )
                candidates: Iterable[StoredEvent] = (self._log[i] for i in range(end - 1, -1, -1))
            else:
                start = (
                    0
                    if from_position is None
                    else bisect.bisect_left(self._positions, from_position)
                )
                candidates = (self._log[i] for i in range(start, len(self._log)))
            if event_filter is not None:
                candidates = (e for e in candidates if event_filter.matches(e))
            return _take(candidates, limit)

    def stream_metadata(self, stream: str) -> dict[str, Any]:
        """The latest metadata of a stream (``{}`` if none), as ``get_stream_metadata`` sees it."""
        with self._lock:
            meta = self._streams.get(_meta_stream(stream))
            if meta is None or not meta.events:
                return {}
            parsed = _parse_json_object(meta.events[-1].data)
            return parsed if parsed is not None else {}

    def current_revision(self, stream: str) -> int:
        """The last revision of a stream as written (-1 if none; ``DELETED_STREAM`` if tombstoned).

        Soft-deleted streams keep their revision: appends continue from it.
        """
        with self._lock:
            target = self._stream(stream)
            return -1 if target is None else target.last_revision

    def is_soft_deleted(self, stream: str) -> bool:
        """True when the stream's metadata marks it deleted (``$tb`` = ``DELETED_STREAM``)."""
        with self._lock:
            return self._truncate_before(stream) >= DELETED_STREAM

    def is_tombstoned(self, stream: str) -> bool:
        """True when the stream was hard-deleted."""
        with self._lock:
            target = self._stream(stream)
            return target is not None and target.tombstoned

    def resolve_link(self, link: StoredEvent) -> StoredEvent | None:
        """The event a ``$>`` link event points at; ``None`` when it is no longer readable.

        Events of other types are returned as they are.
        """
        if link.type != LINK_TYPE:
            return link
        revision_text, at, stream = link.data.decode("utf-8", "replace").partition("@")
        if not at or not revision_text.isdigit():
            return None
        revision = int(revision_text)
        with self._lock:
            readable = self.events(stream)
            if not readable or revision < readable[0].revision:
                return None
            target = self._streams[stream]
            return target.events[revision] if revision < len(target.events) else None

    # -- inspection for tests ------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Increases with every change; handy for "has anything happened" checks."""
        with self._lock:
            return self._version

    @property
    def last_position(self) -> int:
        """Commit position of the last record in ``$all`` (0 when empty)."""
        with self._lock:
            self._project_pending()
            return self._positions[-1] if self._positions else 0

    def events(self, stream: str, *, include_deleted: bool = False) -> list[StoredEvent]:
        """The events of a stream in revision order: what a reader would get (``[]`` if none).

        With ``include_deleted=True`` also events hidden by a soft delete, truncation or tombstone.
        """
        with self._lock:
            target = self._stream(stream)
            if target is None:
                return []
            if include_deleted:
                return list(target.events)
            if target.tombstoned:
                return []
            truncate_before = self._truncate_before(stream)
            if truncate_before >= DELETED_STREAM:
                return []
            return target.events[max(truncate_before, 0) :]

    def streams(self, *, include_system: bool = False) -> list[str]:
        """Names of the streams that have events, in order of first write.

        System streams (names starting with ``$``, such as ``$$order-1`` metadata) are left out
        unless ``include_system=True``.
        """
        with self._lock:
            self._project_pending()
            return [
                name
                for name, s in self._streams.items()
                if s.events and (include_system or not name.startswith("$"))
            ]

    def all_events(self, *, include_system: bool = False) -> list[StoredEvent]:
        """Every event in commit order (``$all``), without system events by default."""
        with self._lock:
            if include_system:
                self._project_pending()
            return [e for e in self._log if include_system or not e.is_system]

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for :attr:`version` to move past ``since``; returns it.

        For followers of the data (catch-up subscriptions): read a snapshot, remember the version
        it was read at, then wait here instead of polling.
        """
        with self._changed:
            if self._version == since and timeout > 0:
                self._changed.wait(timeout)
            return self._version

    def wait_for(self, predicate: Callable[[], _T], *, timeout: float = 5.0) -> _T:
        """Wait until ``predicate()`` returns something truthy and return it.

        The predicate runs outside the lock, after every write and at least every 50 ms; raises
        :class:`TimeoutError` when ``timeout`` seconds pass first. Use it instead of sleeping::

            db.wait_for(lambda: len(db.events("orders")) >= 3, timeout=5)
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._version
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"condition not met within {timeout} s"
                raise TimeoutError(msg)
            with self._changed:
                if self._version == seen:
                    self._changed.wait(min(remaining, _WAIT_POLL_SECONDS))

    def wait_for_events(
        self, stream: str, count: int = 1, *, timeout: float = 5.0
    ) -> list[StoredEvent]:
        """Wait until ``stream`` has at least ``count`` readable events and return them all."""
        if count < 1:
            msg = f"count must be at least 1, got {count}"
            raise ValueError(msg)

        def enough() -> list[StoredEvent]:
            events = self.events(stream)
            return events if len(events) >= count else []

        try:
            return self.wait_for(enough, timeout=timeout)
        except TimeoutError:
            have = len(self.events(stream))
            msg = (
                f"stream {stream!r} has {have} event(s), expected at least {count} "
                f"within {timeout} s; streams: {self.streams()}"
            )
            raise TimeoutError(msg) from None

    # -- internals -----------------------------------------------------------------------------

    def _truncate_before(self, stream: str) -> int:
        meta = self._streams.get(_meta_stream(stream))
        if meta is None or not meta.events:
            return 0
        parsed = _parse_json_object(meta.events[-1].data)
        value = parsed.get("$tb") if parsed else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def _check(self, stream: str, expected: int, ids: Sequence[UUID]) -> _Check:
        """KurrentDB's ``IndexWriter.CheckCommit``, for one stream."""
        target = self._stream(stream)
        if target is not None and target.tombstoned:
            return _Check("deleted", DELETED_STREAM)
        if stream.startswith("$$") and self.is_tombstoned(stream[2:]) and target is None:
            # KurrentDB's index reader reports the metadata of a tombstoned stream as deleted,
            # but its writer first asks its cache of stream versions written since start-up:
            # metadata written before the tombstone can still be written (never read) after it.
            return _Check("deleted", DELETED_STREAM)
        current = -1 if target is None else target.last_revision
        soft_deleted = self._truncate_before(stream) >= DELETED_STREAM
        if expected == STREAM_EXISTS:
            if soft_deleted:
                return _Check("deleted", current)
            if current < 0:
                meta = self._streams.get(_meta_stream(stream))
                if meta is None or meta.last_revision < 0:
                    return _Check("wrong_version", current)
        if expected in (ANY, STREAM_EXISTS):
            return self._check_recent_ids(stream, current, ids, soft_deleted)
        if expected < current:
            assert target is not None
            revision = expected
            for index, event_id in enumerate(ids):
                revision += 1
                if revision < len(target.events) and target.events[revision].id == event_id:
                    continue
                if index > 0:  # "corrupted idempotency": reported as a wrong expected version
                    return _Check("wrong_version", current)
                if expected == NO_STREAM and soft_deleted:
                    return _Check("ok", current, soft_deleted=True)
                return _Check("wrong_version", current)
            if not ids:
                if expected == NO_STREAM and soft_deleted:
                    return _Check("ok", current, soft_deleted=True)
                return _Check("wrong_version", current)
            last = target.events[revision]
            return _Check("idempotent", current, False, revision, last.commit_position)
        if expected > current:
            return _Check("wrong_version", current)
        return _Check("ok", current, soft_deleted=soft_deleted)

    def _check_recent_ids(
        self, stream: str, current: int, ids: Sequence[UUID], soft_deleted: bool
    ) -> _Check:
        end = -1
        for index, event_id in enumerate(ids):
            known = self._recent_ids.get(event_id)
            if known is None or known[0] != stream:
                if index == 0:
                    return _Check("ok", current, soft_deleted=soft_deleted)
                return _Check("wrong_version", current)  # corrupted idempotency
            end = known[1]
        if not ids:
            return _Check("ok", current, soft_deleted=soft_deleted)
        position = self._streams[stream].events[end].commit_position
        return _Check("idempotent", current, False, end, position)

    def _raise_unless_ok(self, stream: str, expected: int, check: _Check) -> None:
        if check.decision == "deleted":
            raise StreamDeleted(stream)
        if check.decision != "ok":  # idempotency is impossible with a fresh id
            raise WrongExpectedVersion(stream, expected, check.current)

    def _commit(self, batch: Sequence[_Write], checks: Sequence[_Check]) -> MultiAppendResult:
        position = -1
        revisions: dict[str, int] = {}
        for write, check in zip(batch, checks, strict=True):
            meta_of_soft_deleted = write.stream.startswith("$$") and self.is_soft_deleted(
                write.stream[2:]
            )
            for proposed in write.events:
                event = self._write_event(
                    write.stream,
                    proposed.type,
                    proposed.data,
                    proposed.metadata,
                    is_json=_is_json(proposed.content_type),
                    event_id=proposed.id,
                )
                position = event.commit_position
            revisions[write.stream] = self.current_revision(write.stream)
            if write.events or len(batch) == 1:  # an empty single-stream write undeletes, too
                if check.soft_deleted:
                    self._soft_undelete(write.stream, recreate_from=check.current + 1)
                if meta_of_soft_deleted:
                    original = write.stream[2:]
                    self._soft_undelete(original, self.current_revision(original) + 1)
        self._notify()
        return MultiAppendResult(position=position, revisions=revisions)

    def _write_system_records(self) -> None:
        for stream, data in SYSTEM_RECORDS:
            self._write_event(stream, "$metadata", data)

    def _stream(self, name: str) -> _Stream | None:
        """A stream by name; a projection stream gets its pending links first."""
        if name.startswith(_PROJECTION_PREFIXES):
            self._project_pending()
        return self._streams.get(name)

    def _project_pending(self) -> None:
        """Run the system projections over the events written since they last ran.

        Like KurrentDB's projections, which write their links a moment after the events, the
        links are written when next needed (a read of ``$all`` or of a projection stream), not
        by the append itself, so appends cost no more with the projections on.
        """
        if not self._unprojected:
            return
        pending, self._unprojected = self._unprojected, []
        for event in pending:
            self._project(event)
        self._notify()

    def _project(self, event: StoredEvent) -> None:
        """``$by_event_type`` and ``$by_category``: link a user event into ``$et-``/``$ce-``."""
        targets = [f"$et-{event.type}"]
        category, dash, _ = event.stream.partition("-")
        if dash and category:
            targets.append(f"$ce-{category}")
        metadata = (  # what KurrentDB's projections put in a link's metadata
            f'{{"$v":"1:-1:1:4","$c":{event.commit_position},"$p":{event.prepare_position},'
            f'"$causedBy":"{event.id}","$o":{json.dumps(event.stream)}}}'
        ).encode()
        data = f"{event.revision}@{event.stream}".encode()
        for name in targets:
            self._write_event(name, LINK_TYPE, data, metadata, is_json=False)

    def _soft_undelete(self, stream: str, recreate_from: int) -> None:
        meta = self._streams.get(_meta_stream(stream))
        raw = meta.events[-1].data if meta is not None and meta.events else b"{}"
        parsed = _parse_json_object(raw)
        if parsed is None:
            return
        parsed["$tb"] = recreate_from
        data = json.dumps(parsed, separators=(",", ":")).encode()
        self._write_event(_meta_stream(stream), "$metadata", data)

    def _write_event(
        self,
        stream: str,
        event_type: str,
        data: bytes,
        metadata: bytes = b"",
        *,
        is_json: bool = True,
        event_id: UUID | None = None,
    ) -> StoredEvent:
        self._stream(stream)  # a write to a projection stream comes after its pending links
        target = self._streams.setdefault(stream, _Stream(stream))
        event = self._make_event(
            stream,
            event_type,
            data,
            metadata,
            revision=len(target.events),
            is_json=is_json,
            event_id=event_id,
        )
        target.events.append(event)
        self._recent_ids[event.id] = (stream, event.revision)
        self._log_event(event)
        if self.system_projections and not (stream.startswith("$") or event_type.startswith("$")):
            self._unprojected.append(event)
        return event

    def _make_event(
        self,
        stream: str,
        event_type: str,
        data: bytes,
        metadata: bytes = b"",
        *,
        revision: int,
        is_json: bool = True,
        event_id: UUID | None = None,
    ) -> StoredEvent:
        position = self._next_position
        size = _RECORD_OVERHEAD + len(stream) + len(event_type) + len(data) + len(metadata)
        self._next_position += size
        return StoredEvent(
            stream=stream,
            type=event_type,
            id=event_id or uuid4(),
            data=data,
            metadata=metadata,
            content_type="application/json" if is_json else "application/octet-stream",
            revision=revision,
            commit_position=position,
            prepare_position=position,
            created_ticks=time.time_ns() // 100,
        )

    def _log_event(self, event: StoredEvent) -> None:
        self._log.append(event)
        self._positions.append(event.commit_position)

    def _notify(self) -> None:
        self._version += 1
        self._changed.notify_all()


def _parse_json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _take(items: Iterable[StoredEvent], limit: int | None) -> list[StoredEvent]:
    if limit is None:
        return list(items)
    taken: list[StoredEvent] = []
    if limit <= 0:
        return taken
    for item in items:
        taken.append(item)
        if len(taken) >= limit:
            break
    return taken
