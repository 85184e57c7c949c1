"""Memory of ``EventWriter``: bytes per queued event while the server is unreachable, and bounds.

    python benchmarks/bench_memory.py                 # 5 rounds, under 2 minutes on 2 cores
    python benchmarks/bench_memory.py --rounds 9 --save benchmarks/results/memory.json

The server is unreachable: the writer's URL points at a port nobody listens on (bound, then
closed), so the worker retries its first append with backoff and every later event stays queued.
Each run is a fresh process that starts the writer, waits for its first failed attempt (so grpc
and the channel are loaded before measuring), then:

* ``N queued``: builds N ``OrderPlaced(order_id, amount, currency)`` events with distinct values
  (measured: the events themselves), submits them (measured: what the writer adds), with
  ``max_queue_events`` above N. Measured either as resident set size growth
  (``/proc/self/statm``, after ``gc.collect()``) or, in another process, with ``tracemalloc``;
* ``bounded``: the default ``max_queue_events=10,000`` with ``overflow="drop_newest"``; events are
  built and submitted one by one (as an application does) and RSS is sampled every
  ``--step`` submits: it must stop growing once the queue is full;
* ``bounded, 4 KiB field``: the same with a 4 KiB ``order_id``, to see whether
  ``max_queue_bytes`` (16 MiB) also bounds events that are queued but not yet encoded.
"""

from __future__ import annotations

import argparse
import gc
import socket
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _harness import Config, emit, machine_info, run_interleaved
from _writer_common import (
    Column,
    command_line,
    order_placed_class,
    relayed,
    rss_bytes,
    save,
    stderr_notes,
    table,
    versions,
    wait_until,
)

STREAM = "Order-1"
MB = 2**20
QUEUED = {
    "10,000 queued, RSS": ["queued", "--events", "10000", "--measure", "rss"],
    "100,000 queued, RSS": ["queued", "--events", "100000", "--measure", "rss"],
    "10,000 queued, tracemalloc": ["queued", "--events", "10000", "--measure", "tracemalloc"],
    "100,000 queued, tracemalloc": ["queued", "--events", "100000", "--measure", "tracemalloc"],
}
BOUNDED = {
    "bounded: 200,000 submitted, 3 fields": ["bounded", "--events", "200000"],
    "bounded: 40,000 submitted, 4 KiB order_id": [
        "bounded",
        "--events",
        "40000",
        "--field-bytes",
        "4096",
        "--step",
        "5000",
    ],
}


# -- workers (run in the subprocesses) -----------------------------------------------------------


def _unreachable_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"esdb://127.0.0.1:{port}?tls=false"


def _started_writer(**options: Any) -> Any:
    """A writer to an unreachable server whose first attempt has already failed."""
    from plumberd_logging.writer import EventWriter

    writer = EventWriter(_unreachable_url(), close_timeout=0.5, **options)
    order_placed = order_placed_class()
    writer.submit(STREAM, order_placed(order_id="warm-up", amount=1.0, currency="EUR"))
    wait_until(lambda: writer.stats().retries >= 1, 30, "the first failed append")
    time.sleep(0.2)  # let the failed attempt's garbage go
    return writer


def _queued(events: int, measure: str) -> None:
    writer = _started_writer(max_queue_events=2 * events + 10)
    order_placed = order_placed_class()
    probe: Callable[[], int]
    if measure == "tracemalloc":
        tracemalloc.start()

        def probe() -> int:
            gc.collect()
            return tracemalloc.get_traced_memory()[0]

    else:

        def probe() -> int:
            gc.collect()
            return rss_bytes()

    m0 = probe()
    payload = [
        order_placed(order_id=f"order-{i:08d}", amount=i + 0.5, currency="EUR")
        for i in range(events)
    ]
    m1 = probe()
    submit = writer.submit
    receipts = [submit(STREAM, event) for event in payload]
    del payload  # the writer keeps the events alive from here on
    m2 = probe()
    stats = writer.stats()
    if stats.queue_events != events + 1 or stats.sent:
        raise RuntimeError(f"expected {events + 1} queued, none sent: {stats}")
    writer.close(0.5)
    emit(
        {
            "writer_bytes_per_event": (m2 - m1) / events,
            "event_bytes_per_event": (m1 - m0) / events,
            "total_bytes_per_event": (m2 - m0) / events,
            "total_mb": (m2 - m0) / MB,
        },
        packages=["plumberd-logging"],
        extra={
            "queue_events": stats.queue_events,
            "queue_bytes": stats.queue_bytes,
            "retries": stats.retries,
            "receipts": len(receipts),
        },
    )


def _bounded(events: int, step: int, field_bytes: int) -> None:
    writer = _started_writer(overflow="drop_newest")
    order_placed = order_placed_class()
    filler = "x" * max(0, field_bytes - 16)
    submit = writer.submit
    gc.collect()
    base = rss_bytes()
    samples: list[float] = []
    for i in range(events):
        # a new string per event, as a real application's values are
        submit(
            STREAM, order_placed(order_id=f"order-{i:08d}{filler}", amount=i + 0.5, currency="EUR")
        )
        if (i + 1) % step == 0:
            gc.collect()
            samples.append((rss_bytes() - base) / MB)
    stats = writer.stats()
    writer.close(0.5)
    limit = 10_000  # the default max_queue_events
    full_at = next(k for k in range(len(samples)) if (k + 1) * step >= limit)
    emit(
        {
            "rss_growth_when_full_mb": samples[full_at],
            "rss_growth_after_full_mb": samples[-1] - samples[full_at],
            "rss_growth_mb": samples[-1],
        },
        packages=["plumberd-logging"],
        extra={
            "samples_mb": [round(s, 2) for s in samples],
            "step": step,
            "queue_events": stats.queue_events,
            "queue_bytes": stats.queue_bytes,
            "dropped": dict(stats.dropped),
            "enqueued": stats.enqueued,
        },
    )


# -- parent --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per configuration")
    parser.add_argument("--save", help="also write the raw results as JSON here")
    parser.add_argument("--worker", choices=["queued", "bounded"], help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=["rss", "tracemalloc"], help=argparse.SUPPRESS)
    parser.add_argument("--step", type=int, default=20_000, help=argparse.SUPPRESS)
    parser.add_argument("--field-bytes", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "queued":
        _queued(args.events, args.measure)
        return 0
    if args.worker == "bounded":
        _bounded(args.events, args.step, args.field_bytes)
        return 0

    configs = [
        Config(name, relayed([sys.executable, str(__file__), "--worker", *worker]))
        for name, worker in {**QUEUED, **BOUNDED}.items()
    ]
    info = machine_info()
    runs = run_interleaved(configs, args.rounds)
    save(args.save, runs)
    print(report(runs, info))
    return 0


def report(runs: dict[str, list[dict[str, Any]]], info: dict[str, str]) -> str:
    """The README section body."""
    queued = {name: runs[name] for name in QUEUED}
    bounded = {name: runs[name] for name in BOUNDED}
    lines = [
        "### Memory per queued event, server unreachable",
        "",
        f"{max(len(r) for r in runs.values())} rounds, configurations interleaved, each run a "
        "fresh process. `writer` = what submitting adds per event (the queue entry, receipt, "
        "captured metadata and context); `event` = the `OrderPlaced` object and its values, "
        "kept alive by the queue; `total` = both.",
        "",
        *table(
            queued,
            [
                Column("writer_bytes_per_event", "writer bytes/event"),
                Column("event_bytes_per_event", "event bytes/event"),
                Column("total_bytes_per_event", "total bytes/event"),
                Column("total_mb", "total MiB"),
            ],
        ),
        "",
        'Bounded queue (`max_queue_events=10,000`, `overflow="drop_newest"`), RSS growth in '
        "MiB since the writer started:",
        "",
        *table(
            bounded,
            [
                Column("rss_growth_when_full_mb", "when the queue is full"),
                Column("rss_growth_after_full_mb", "growth after that"),
                Column("rss_growth_mb", "at the end"),
            ],
        ),
        "",
        "Command:",
        "",
        "```bash",
        command_line(),
        "```",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        *versions(dict(list(runs.items())[:1])),
        "",
        "Checks:",
        "",
    ]
    for name, results in queued.items():
        lines.append(
            f"- `{name}`: stats().queue_events {[r['queue_events'] for r in results]}, "
            f"queue_bytes {[r['queue_bytes'] for r in results]}"
        )
    for name, results in bounded.items():
        last = results[-1]
        lines.append(
            f"- `{name}`: RSS samples (MiB, every {last['step']:,} submits, last run) "
            f"{last['samples_mb']}; queue_events {last['queue_events']}, queue_bytes "
            f"{last['queue_bytes']}, dropped {last['dropped']}"
        )
    lines += stderr_notes(runs)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
