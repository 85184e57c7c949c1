"""The spool on its own: durable rows, group commit, adoption of orphaned files, dead letters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from helpers import Ping

from plumberd_logging import ANY, NO_STREAM, QueueFull
from plumberd_logging.codec import encode
from plumberd_logging.spool import Spool, iter_records, spool_status


def rows(n: int, stream: str = "S-1") -> list[tuple[str, object, object]]:
    return [(stream, ANY, encode(Ping(n=i))) for i in range(n)]


def test_rows_survive_in_order_and_are_removed_once_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.open() == 0
    seqs = spool.put(rows(5))  # type: ignore[arg-type]
    assert seqs == sorted(seqs)
    assert spool.pending_events == 5
    records = spool.read(0, 10)
    assert [r.seq for r in records] == seqs
    spool.remove(seqs[:3])
    assert [r.seq for r in spool.read(0, 10)] == seqs[3:]
    assert spool.pending_events == 2
    spool.close()


def test_expected_positions_round_trip(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    event = encode(Ping(n=1))
    spool.put([("A-1", NO_STREAM, event), ("A-1", 7, event), ("A-1", ANY, event)])
    assert [r.expected for r in spool.read(0, 10)] == [NO_STREAM, 7, ANY]
    spool.close()


def test_an_orphaned_file_is_adopted_oldest_first_and_a_live_one_is_not(tmp_path: Path) -> None:
    crashed = Spool(tmp_path)
    crashed.open()
    batch = rows(4, "Old-1")
    crashed.put(batch)  # type: ignore[arg-type]
    crashed.close()  # rows left: the file stays for the next writer
    live = Spool(tmp_path)
    assert live.open() == 4  # adopted
    live.put(rows(2, "New-1"))  # type: ignore[arg-type]
    assert [r.stream for r in live.read(0, 10)] == ["Old-1"] * 4 + ["New-1"] * 2
    assert [r.event.id for r in live.read(0, 4)] == [b[2].id for b in batch]  # type: ignore[attr-defined]
    other = Spool(tmp_path)
    assert other.open() == 0  # the live writer's file is not taken
    status = spool_status(tmp_path)
    assert (status.files, status.live_files, status.pending_events) == (2, 2, 6)
    other.close()
    live.close()


def test_concurrent_puts_get_distinct_ordered_seqs(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    results: list[list[int]] = []

    def put() -> None:
        for _ in range(50):
            results.append(spool.put(rows(1)))  # type: ignore[arg-type]

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [s for r in results for s in r]
    assert len(seqs) == len(set(seqs)) == 200
    assert [r.seq for r in spool.read(0, 500)] == sorted(seqs)
    spool.close()


def test_dead_letters_leave_the_queue_but_stay_for_inspection(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    [seq] = spool.put(rows(1))  # type: ignore[arg-type]
    spool.dead_letter(seq, "too_large: 2 MB")
    assert spool.pending_events == 0
    spool.close()
    dead = list(iter_records(tmp_path, "dead_letters"))
    assert [r.seq for r in dead] == [seq]
    assert spool_status(tmp_path).dead_letters == 1  # the file is kept for them


def test_a_full_spool_refuses_more(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1_000)
    spool.open()
    with pytest.raises(QueueFull, match="spool_max_bytes=1000"):
        spool.put(rows(20))  # type: ignore[arg-type]
    assert spool.pending_events == 0
    spool.close()


def test_an_empty_spool_leaves_no_files(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    seqs = spool.put(rows(3))  # type: ignore[arg-type]
    spool.remove(seqs)
    spool.close()
    assert list(tmp_path.iterdir()) == []


def test_bad_options_name_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="spool_sync"):
        Spool(tmp_path, sync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="spool_max_bytes"):
        Spool(tmp_path, max_bytes=0)
