"""The durable outbox: encoded events on disk (SQLite, WAL) until the server acknowledges them.

A spool is a directory. Each live writer owns one file in it, ``spool-<token>.sqlite3``, held
with an exclusive ``flock`` on ``<file>.lock``; a writer that opens the directory *adopts* the
files of writers that are gone (crashed, killed, exited with events left): it moves their rows
into its own file, oldest first, under their lock, so two processes never replay the same rows.
Event ids are stored with the rows, so a replay after a crash is idempotent on the server.

    spool = Spool("/var/spool/myapp", max_bytes=256 * 2**20)
    adopted = spool.open()
    seqs = spool.put([(stream, ANY, encoded_event)])   # on disk when this returns
    ...
    spool.remove(seqs)                                # after the server acknowledged them

``put`` commits concurrent callers together (group commit): one transaction per group, not per
event. With the default ``sync="normal"`` a commit survives the process being killed (SIGKILL);
``sync="full"`` also survives power loss, at the cost of an fsync per commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal
from uuid import UUID

from plumberd_logging.codec import EncodedEvent
from plumberd_logging.errors import PlumberdError, QueueFull
from plumberd_logging.streams import ANY, NO_STREAM, STREAM_EXISTS, StreamState

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: single-process spools only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DeadLetter",
    "Spool",
    "SpoolFile",
    "SpoolRecord",
    "SpoolStatus",
    "iter_records",
    "read_dead_letters",
    "read_records",
    "remove_orphan",
    "spool_files",
    "spool_status",
]

SpoolSync = Literal["normal", "full"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    expected INTEGER NOT NULL,
    id BLOB NOT NULL,
    type TEXT NOT NULL,
    data BLOB NOT NULL,
    metadata BLOB NOT NULL,
    spooled_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    expected INTEGER NOT NULL,
    id BLOB NOT NULL,
    type TEXT NOT NULL,
    data BLOB NOT NULL,
    metadata BLOB NOT NULL,
    spooled_at REAL NOT NULL,
    reason TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""
_COLUMNS = "stream, expected, id, type, data, metadata, spooled_at"
_STATE_CODES = {ANY: -2, NO_STREAM: -1, STREAM_EXISTS: -4}
_CODE_STATES = {code: state for state, code in _STATE_CODES.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class SpoolRecord:
    """One spooled event: its position in the spool, target stream and expected position."""

    seq: int
    stream: str
    expected: int | StreamState
    event: EncodedEvent
    spooled_at: float

    @property
    def size(self) -> int:
        """Bytes of data and metadata."""
        return len(self.event.data) + len(self.event.metadata)


@dataclasses.dataclass(frozen=True, slots=True)
class SpoolStatus:
    """What a spool directory holds (see :func:`spool_status`)."""

    directory: str
    files: int
    live_files: int
    pending_events: int
    pending_bytes: int
    dead_letters: int
    oldest: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class SpoolFile:
    """One writer's file in a spool directory (see :func:`spool_files`).

    ``live`` is True while a running writer holds the file's lock; ``pid`` is the process that
    created it (from the file name), which may be gone.
    """

    path: Path
    pid: int | None
    live: bool
    pending_events: int
    pending_bytes: int
    dead_letters: int
    oldest: float | None


@dataclasses.dataclass(frozen=True, slots=True)
class DeadLetter:
    """A spooled event the server refused for good, with the reason and when it failed."""

    record: SpoolRecord
    reason: str
    failed_at: float


class _Group:
    __slots__ = ("done", "error", "rows", "seqs")

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, bytes, str, bytes, bytes, float]] = []
        self.seqs: list[int] = []
        self.done = False
        self.error: BaseException | None = None


class Spool:
    """One writer's file in a spool directory; see the module docstring."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int | None = 256 * 2**20,
        sync: SpoolSync = "normal",
    ) -> None:
        if sync not in ("normal", "full"):
            raise ValueError(f"spool_sync: expected 'normal' or 'full', got {sync!r}")
        if max_bytes is not None and (isinstance(max_bytes, bool) or max_bytes <= 0):
            raise ValueError(f"spool_max_bytes: expected a positive int or None, got {max_bytes!r}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.sync = sync
        self.path: Path | None = None
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._db_lock = threading.Lock()
        self._cond = threading.Condition()
        self._group = _Group()
        self._committing = False
        self._pending_events = 0
        self._pending_bytes = 0
        self._pid = os.getpid()

    # -- lifecycle -----------------------------------------------------------------------------

    def open(self) -> int:
        """Create this writer's file and adopt orphaned ones; return the number of rows adopted."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PlumberdError(f"spool_path {str(self.directory)!r}: {exc.strerror}") from None
        token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path = self.directory / f"spool-{token}.sqlite3"
        self._lock_fd = _lock_exclusive(path, blocking=True)
        self._db = _connect(path, self.sync)
        self.path = path
        adopted = 0
        for other in sorted(self.directory.glob("spool-*.sqlite3")):
            if other != path:
                adopted += self._adopt(other)
        with self._db_lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(data) + LENGTH(metadata)), 0) FROM events"
            ).fetchone()
        self._pending_events, self._pending_bytes = int(row[0]), int(row[1])
        return adopted

    def close(self) -> None:
        """Close the file; rows not yet removed stay for the next writer to adopt.

        A file left with nothing in it (no pending row, no dead letter) is deleted.
        """
        with self._db_lock:
            db, self._db = self._db, None
            ours = self._pid == os.getpid()
            if db is not None and ours:
                empty = not db.execute(
                    "SELECT EXISTS(SELECT 1 FROM events) OR EXISTS(SELECT 1 FROM dead_letters)"
                ).fetchone()[0]
                db.close()
                if empty and self.path is not None:
                    for suffix in ("", "-wal", "-shm", ".lock"):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(f"{self.path}{suffix}")
            if self._lock_fd is not None and ours:
                os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's file without touching it (the parent owns it)."""
        self._db = None  # never closed here: closing could disturb the parent's locks
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # the child's copy only; the parent keeps its lock
        self._lock_fd = None
        self._db_lock = threading.Lock()
        self._cond = threading.Condition()
        self._group = _Group()
        self._committing = False
        self._pid = os.getpid()

    # -- writing -------------------------------------------------------------------------------

    @property
    def pending_events(self) -> int:
        """Rows waiting for the server."""
        return self._pending_events

    @property
    def pending_bytes(self) -> int:
        """Bytes (data + metadata) waiting for the server."""
        return self._pending_bytes

    def has_room(self, size: int) -> bool:
        """Whether ``size`` more bytes fit under ``max_bytes``."""
        return self.max_bytes is None or self._pending_bytes + size <= self.max_bytes

    def put(self, items: Sequence[tuple[str, int | StreamState, EncodedEvent]]) -> list[int]:
        """Store events durably; return their sequence numbers. Raises ``QueueFull`` when full."""
        now = time.time()
        rows = [
            (stream, _code(expected), e.id.bytes, e.type, e.data, e.metadata, now)
            for stream, expected, e in items
        ]
        size = sum(len(r[4]) + len(r[5]) for r in rows)
        with self._cond:
            if not self.has_room(size):
                raise QueueFull(
                    f"spool {str(self.directory)!r} is full ({self._pending_bytes} bytes pending, "
                    f"spool_max_bytes={self.max_bytes})"
                )
            self._pending_events += len(rows)
            self._pending_bytes += size
            group = self._group
            start = len(group.rows)
            group.rows.extend(rows)
            while not group.done and self._committing:
                self._cond.wait()
            if not group.done:  # lead: commit everything gathered so far in one transaction
                self._committing = True
                self._group = _Group()
                leader = True
            else:
                leader = False
        if leader:
            try:
                group.seqs = self._insert(group.rows)
            except BaseException as exc:
                group.error = exc
            with self._cond:
                group.done = True
                self._committing = False
                if group.error is not None:
                    self._pending_events -= len(group.rows)
                    self._pending_bytes -= sum(len(r[4]) + len(r[5]) for r in group.rows)
                self._cond.notify_all()
        if group.error is not None:
            raise PlumberdError(f"spool write failed: {group.error}") from group.error
        return group.seqs[start : start + len(rows)]

    def read(self, after_seq: int, limit: int) -> list[SpoolRecord]:
        """Up to ``limit`` rows with ``seq > after_seq``, oldest first."""
        with self._db_lock:
            rows = (
                self._conn()
                .execute(
                    f"SELECT seq, {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after_seq, limit),
                )
                .fetchall()
            )
        return [_record(row) for row in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        """Delete acknowledged rows."""
        keys = [(s,) for s in seqs]
        if not keys:
            return
        with self._db_lock:
            db = self._conn()
            with db:
                sizes = _sizes(db, [k[0] for k in keys])
                db.executemany("DELETE FROM events WHERE seq = ?", keys)
        self._forget(sizes)

    def dead_letter(self, seq: int, reason: str) -> None:
        """Move a row the server will never accept to ``dead_letters``, with the reason."""
        with self._db_lock:
            db = self._conn()
            with db:
                sizes = _sizes(db, [seq])
                db.execute(
                    f"INSERT OR REPLACE INTO dead_letters (seq, {_COLUMNS}, reason, failed_at) "
                    f"SELECT seq, {_COLUMNS}, ?, ? FROM events WHERE seq = ?",
                    (reason, time.time(), seq),
                )
                db.execute("DELETE FROM events WHERE seq = ?", (seq,))
        self._forget(sizes)

    # -- internals -----------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise PlumberdError(f"spool {str(self.directory)!r} is not open")
        return self._db

    def _insert(self, rows: list[tuple[str, int, bytes, str, bytes, bytes, float]]) -> list[int]:
        with self._db_lock:
            db = self._conn()
            with db:
                insert = f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)"
                return [int(db.execute(insert, row).lastrowid or 0) for row in rows]

    def _forget(self, sizes: list[int]) -> None:
        with self._cond:
            self._pending_events -= len(sizes)
            self._pending_bytes -= sum(sizes)
            self._cond.notify_all()

    def _adopt(self, other: Path) -> int:
        """Move an orphan file's rows into ours (oldest first); 0 if its owner is alive."""
        try:
            fd = _lock_exclusive(other, blocking=False)
        except BlockingIOError:
            return 0  # a live writer owns it
        try:
            if not other.exists():  # adopted by someone else meanwhile
                return 0
            with self._db_lock:
                db = self._conn()
                db.execute("ATTACH DATABASE ? AS orphan", (str(other),))
                try:
                    with db:
                        moved = db.execute(
                            f"INSERT INTO events ({_COLUMNS}) "
                            f"SELECT {_COLUMNS} FROM orphan.events ORDER BY seq"
                        ).rowcount
                        db.execute(
                            f"INSERT INTO dead_letters (seq, {_COLUMNS}, reason, failed_at) "
                            f"SELECT NULL, {_COLUMNS}, reason, failed_at "
                            f"FROM orphan.dead_letters ORDER BY seq"
                        )
                finally:
                    db.execute("DETACH DATABASE orphan")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{other}{suffix}")
            return max(moved, 0)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{other}.lock")
            os.close(fd)


def spool_status(directory: str | os.PathLike[str]) -> SpoolStatus:
    """Count what a spool directory holds, without adopting or changing anything."""
    root = Path(directory)
    files = sorted(root.glob("spool-*.sqlite3")) if root.is_dir() else []
    live = pending = size = dead = 0
    oldest: float | None = None
    for path in files:
        live += _is_locked(path)
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(data) + LENGTH(metadata)), 0), "
                "MIN(spooled_at) FROM events"
            ).fetchone()
            dead += db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        pending += row[0]
        size += row[1]
        if row[2] is not None:
            oldest = row[2] if oldest is None else min(oldest, row[2])
    return SpoolStatus(str(root), len(files), live, pending, size, dead, oldest)


def iter_records(directory: str | os.PathLike[str], table: str = "events") -> Iterator[SpoolRecord]:
    """Every row of every file in a spool directory, file by file, oldest first (read-only)."""
    if table not in ("events", "dead_letters"):
        raise ValueError(f"table: expected 'events' or 'dead_letters', got {table!r}")
    for path in sorted(Path(directory).glob("spool-*.sqlite3")):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            for row in db.execute(f"SELECT seq, {_COLUMNS} FROM {table} ORDER BY seq"):
                yield _record(row)


def spool_files(directory: str | os.PathLike[str]) -> list[SpoolFile]:
    """Each file of a spool directory with what it holds, oldest name first (read-only)."""
    root = Path(directory)
    files: list[SpoolFile] = []
    for path in sorted(root.glob("spool-*.sqlite3")) if root.is_dir() else []:
        live = _is_locked(path)
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                row = db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(data) + LENGTH(metadata)), 0), "
                    "MIN(spooled_at) FROM events"
                ).fetchone()
                dead = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        except sqlite3.OperationalError:
            if path.exists():  # not a spool file (no tables yet: a writer is creating it)
                files.append(SpoolFile(path, _pid_of(path), live, 0, 0, 0, None))
            continue  # else adopted by a writer meanwhile
        files.append(SpoolFile(path, _pid_of(path), live, row[0], row[1], dead, row[2]))
    return files


def read_records(path: str | os.PathLike[str]) -> Iterator[SpoolRecord]:
    """The pending events of one spool file, oldest first (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        for row in db.execute(f"SELECT seq, {_COLUMNS} FROM events ORDER BY seq"):
            yield _record(row)


def read_dead_letters(path: str | os.PathLike[str]) -> Iterator[DeadLetter]:
    """The dead letters of one spool file, oldest first (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        for row in db.execute(
            f"SELECT seq, {_COLUMNS}, reason, failed_at FROM dead_letters ORDER BY seq"
        ):
            yield DeadLetter(_record(row[:8]), row[8], row[9])


def remove_orphan(path: str | os.PathLike[str]) -> bool:
    """Delete a spool file no writer holds (with its ``-wal``, ``-shm`` and ``.lock``).

    Returns False, touching nothing, when a live writer holds it. Its events are lost: this is
    for files an operator decided to discard (``plumberd spool purge``).
    """
    db_path = Path(path)
    try:
        fd = _lock_exclusive(db_path, blocking=False)
    except BlockingIOError:
        return False
    try:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{db_path}{suffix}")
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{db_path}.lock")
        os.close(fd)


# -- helpers -----------------------------------------------------------------------------------


def _connect(path: Path, sync: SpoolSync) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level="DEFERRED")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={sync.upper()}")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(_SCHEMA)
    return db


def _lock_exclusive(db_path: Path, *, blocking: bool) -> int:
    fd = os.open(f"{db_path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BaseException:
            os.close(fd)
            raise
    return fd


def _is_locked(db_path: Path) -> bool:
    try:
        fd = _lock_exclusive(db_path, blocking=False)
    except BlockingIOError:
        return True
    os.close(fd)
    return False


def _pid_of(db_path: Path) -> int | None:
    """The pid in ``spool-<pid>-<token>.sqlite3``."""
    pid = db_path.name.removeprefix("spool-").split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _code(expected: int | StreamState) -> int:
    return expected if isinstance(expected, int) else _STATE_CODES[expected]


def _record(row: tuple[int, str, int, bytes, str, bytes, bytes, float]) -> SpoolRecord:
    seq, stream, expected, raw_id, type_, data, metadata, spooled_at = row
    state: int | StreamState = expected if expected >= 0 else _CODE_STATES[expected]
    return SpoolRecord(
        seq, stream, state, EncodedEvent(UUID(bytes=raw_id), type_, data, metadata), spooled_at
    )


def _sizes(db: sqlite3.Connection, seqs: list[int]) -> list[int]:
    sizes: list[int] = []
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sizes.extend(
            r[0]
            for r in db.execute(
                f"SELECT LENGTH(data) + LENGTH(metadata) FROM events WHERE seq IN ({marks})", chunk
            )
        )
    return sizes
