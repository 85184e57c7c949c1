"""The writer's spool side: events on disk before ``submit`` returns, spilled when memory is
full, replayed (oldest first) by the worker, removed once delivered::

    spill = Spill(Spool(path), buffer)
    spill.store(receipt, "block", closed="...")  # on disk (the caller encoded it), then queued
    chunk = spill.load(2000)                     # the worker reads spilled events back
    spill.forget([r for r in chunk])             # delivered: off the disk

While ``active`` (spill mode), events wait on disk rather than in memory, and new ones go
there too, so order is kept. Rows an earlier run left are adopted and sent first.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable

from plumberd_logging._buffer import Buffer, Overflow, Receipt
from plumberd_logging._diagnostics import report
from plumberd_logging.errors import QueueFull, WriterClosed
from plumberd_logging.spool import Spool, SpoolRecord

__all__ = ["Spill"]


class Spill:
    """One writer's spool, in step with its :class:`Buffer` (whose lock it uses)."""

    def __init__(self, spool: Spool, buffer: Buffer) -> None:
        self.spool = spool
        self.buffer = buffer
        self.opened = False
        self.active = False  # events wait in the spool, not in memory
        self.replaying = False  # rows left by an earlier run are not all read yet
        self.read_upto = 0  # highest spool seq handed to the worker
        self.spilled: dict[int, Receipt] = {}  # spool seq -> receipt, oldest first
        self.generation = 0  # bumped whenever an event goes to disk only
        buffer.backlog = self.before

    @property
    def directory(self) -> str:
        return str(self.spool.directory)

    def open(self) -> Spool:
        """Open the spool file on first use; rows left by an earlier run are sent first."""
        if not self.opened:
            with self.buffer.lock:
                if not self.opened:
                    self.spool.open()
                    if self.spool.pending_events:
                        self.active = self.replaying = True
                        self.generation += 1
                    self.opened = True
        return self.spool

    def before(self, target: int) -> bool:
        """Whether events up to ``target`` still wait on disk (with the buffer's lock held)."""
        if self.replaying:
            return True
        spilled = self.spilled
        return bool(spilled) and next(iter(spilled.values()))._seq <= target

    def store(self, r: Receipt, overflow: Overflow, closed: str) -> bool:
        """Put encoded ``r`` on disk, then queue it (memory) or keep it there (spill mode).

        Returns False when the spool was full and ``overflow`` dropped it (the caller resolves
        it); raises ``QueueFull`` (``block`` timed out) or ``WriterClosed``."""
        spool, buffer = self.open(), self.buffer
        assert r._encoded is not None
        deadline = time.monotonic() + buffer.block_timeout
        while True:
            try:
                [r._spool_seq] = spool.put([(r.stream, r._expected, r._encoded)])
                break
            except QueueFull:
                if overflow != "block":
                    return False
                with buffer.lock:
                    if time.monotonic() >= deadline or buffer.closing:
                        buffer.dropped["queue_full_raised"] += 1
                        raise
                    buffer.space.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        r._event = r._metadata = r._context = None  # on disk now; keep memory small
        with buffer.lock:
            if buffer.closing:
                raise WriterClosed(closed)
            buffer.number(r)
            room = buffer.count < buffer.max_events and buffer.bytes < buffer.max_bytes
            if self.active or not room:
                self.active = True
                self.generation += 1
                self.spilled[r._spool_seq] = r
                r._encoded = None  # read back from disk when its turn comes
                wake = True
            else:
                buffer.queue.append(r)
                buffer.count += 1
                r._counted = r._size
                buffer.bytes += r._size
                self.read_upto = max(self.read_upto, r._spool_seq)
                wake = buffer.idle or buffer.count == buffer.batch_events
            if wake:
                buffer.idle = False
        if wake:
            buffer.wakeup.set()
        return True

    def load(self, window: int) -> list[Receipt]:
        """Read the next spilled events from disk (oldest first), now in flight; leave spill
        mode once everything on disk has been read."""
        buffer = self.buffer
        with buffer.lock:
            generation, after = self.generation, self.read_upto
        records = self.spool.read(after, window)
        with buffer.lock:
            chunk: list[Receipt] = []
            for record in records:
                r = self.spilled.pop(record.seq, None) or self._adopted(record)
                r._encoded, r._size, r._spool_seq = record.event, record.size, record.seq
                r._counted = r._size
                r._strings_only = _all_strings(record.event.metadata)
                chunk.append(r)
            if records:
                self.read_upto = records[-1].seq
            if len(records) < window and self.generation == generation:
                self.active = self.replaying = False
            buffer.inflight = chunk
            buffer.count += len(chunk)
            buffer.bytes += sum(r._counted for r in chunk)
            return chunk

    def _adopted(self, record: SpoolRecord) -> Receipt:
        """A receipt for a row spooled by an earlier run (nobody waits on it)."""
        return Receipt(
            self.buffer, record.stream, None, None, None, record.expected, record.spooled_at, None
        )

    def forget(self, items: Iterable[Receipt]) -> None:
        """Delivered: remove the rows (before a flush() can see them delivered)."""
        seqs = [r._spool_seq for r in items if r._spool_seq is not None]
        if seqs:
            try:
                self.spool.remove(seqs)
            except Exception as exc:  # stays on disk; a later replay is idempotent
                report("spool", f"could not remove delivered events from the spool: {exc}")

    def dead_letter(self, r: Receipt, text: str) -> None:
        """Keep a refused event's row as a dead letter (``plumberd spool export`` shows it)."""
        if r._spool_seq is not None:
            with contextlib.suppress(Exception):
                self.spool.dead_letter(r._spool_seq, text)
            r._spool_seq = None

    def take_spilled(self) -> list[Receipt]:
        """The receipts waiting on disk, forgotten here (with the buffer's lock held)."""
        spilled, self.spilled = list(self.spilled.values()), {}
        self.active = self.replaying = False
        return spilled

    def close(self) -> None:
        if self.opened:
            with contextlib.suppress(Exception):
                self.spool.close()

    def after_fork(self, buffer: Buffer) -> Spill:
        """In a forked child: a new spool file of its own (the parent keeps its file)."""
        self.spool.forget_after_fork()
        spool = Spool(self.spool.directory, max_bytes=self.spool.max_bytes, sync=self.spool.sync)
        return Spill(spool, buffer)


def _all_strings(metadata: bytes) -> bool:
    """v2 multi-stream appends take metadata as string properties only."""
    try:
        value = json.loads(metadata)
    except ValueError:
        return False
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
