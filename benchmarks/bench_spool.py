"""Throughput of ``EventWriter`` with the durable spool versus in memory, 1 and 4 threads.

    python benchmarks/bench_spool.py                  # 5 rounds, about 70 s on 2 cores
    python benchmarks/bench_spool.py --rounds 9 --save benchmarks/results/spool.json

With ``spool_path`` every ``submit`` encodes the event on the caller's thread and commits it to
SQLite (WAL) before it returns; concurrent submitters share commits (group commit). Each run is
a fresh process (with a fresh spool directory) against a fresh test server in another process.
It builds its events, makes one warm-up submit + flush, then starts 1 or 4 threads that submit
their share of the events (each thread its own stream), and reports:

* ``submits/s``: events / time from the start until the last ``submit`` returned;
* ``delivered/s``: events / time from the start until ``flush()`` returned (end to end).

All writers use ``max_queue_events=100,000`` (more than the events of a run), so the in-memory
writer's callers never wait for room and the spool writer never spills to disk-only mode: the
submit rates compare what the caller pays. ``spool_sync="full"`` (an fsync per commit, the
case group commit is for) runs fewer events.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _harness import Config, emit, machine_info, run_interleaved
from _writer_common import (
    Column,
    command_line,
    order_placed_class,
    save,
    served,
    stderr_notes,
    table,
    versions,
)

# name -> (mode, threads)
CONFIGS = {
    "in memory, 1 thread": ("memory", 1),
    "spool, 1 thread": ("normal", 1),
    'spool, spool_sync="full", 1 thread': ("full", 1),
    "in memory, 4 threads": ("memory", 4),
    "spool, 4 threads": ("normal", 4),
    'spool, spool_sync="full", 4 threads': ("full", 4),
}
BASELINES = {
    "in memory, 1 thread": "in memory, 1 thread",
    "spool, 1 thread": "in memory, 1 thread",
    'spool, spool_sync="full", 1 thread': "in memory, 1 thread",
    "in memory, 4 threads": "in memory, 4 threads",
    "spool, 4 threads": "in memory, 4 threads",
    'spool, spool_sync="full", 4 threads': "in memory, 4 threads",
}


# -- worker (runs in the subprocesses) -----------------------------------------------------------


def _worker(url: str, mode: str, threads: int, events: int) -> None:
    from plumberd_logging import EventStoreClient
    from plumberd_logging.writer import EventWriter

    order_placed = order_placed_class()
    per_thread = events // threads
    events = per_thread * threads
    payload = [
        [
            order_placed(order_id=f"order-{k}-{i}", amount=12.5 + i, currency="EUR")
            for i in range(per_thread)
        ]
        for k in range(threads)
    ]
    with tempfile.TemporaryDirectory(prefix="bench-spool-") as tmp:
        options: dict[str, Any] = {"max_queue_events": 100_000}
        if mode != "memory":
            options.update(spool_path=Path(tmp) / "spool", spool_sync=mode)
        writer = EventWriter(url, **options)
        writer.submit("Warmup-1", order_placed(order_id="w", amount=1.0, currency="EUR"))
        if not writer.flush(30):
            raise RuntimeError("warm-up event not delivered")
        before = writer.stats()
        finished = [0.0] * threads
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads + 1)

        def submitter(k: int) -> None:
            submit, stream = writer.submit, f"Order-{k}"
            barrier.wait()
            try:
                for event in payload[k]:
                    submit(stream, event)
            except BaseException as exc:
                errors.append(exc)
            finished[k] = time.perf_counter()

        workers = [threading.Thread(target=submitter, args=(k,)) for k in range(threads)]
        for t in workers:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in workers:
            t.join()
        submitted = max(finished)
        if errors:
            raise RuntimeError(f"submit failed: {errors[0]!r}")
        if not writer.flush(300):
            raise RuntimeError(f"flush timed out: {writer.stats()}")
        end = time.perf_counter()
        stats = writer.stats()
        writer.close()
        left = sorted(p.name for p in (Path(tmp) / "spool").glob("*")) if mode != "memory" else []
    stored = 0
    with EventStoreClient(url) as client:
        for k in range(threads):
            revision = client.stream_revision(f"Order-{k}")
            stored += 0 if revision is None else revision + 1
    emit(
        {
            "submits_per_s": events / (submitted - start),
            "delivered_per_s": events / (end - start),
            "submit_us": (submitted - start) / events * 1e6,
        },
        packages=["plumberd-logging", "kurrentdbclient", "grpcio"],
        extra={
            "events": events,
            "stored": stored,
            "spooled_after_flush": stats.spooled,
            "retries": stats.retries,
            "batches": stats.batches - before.batches,
            "dropped": sum(stats.dropped.values()),
            "spool_files_after_close": left,
        },
    )


# -- parent --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per configuration")
    parser.add_argument("--events", type=int, default=20_000, help="events per run")
    parser.add_argument("--full-events", type=int, default=4_000, help='with spool_sync="full"')
    parser.add_argument("--save", help="also write the raw results as JSON here")
    parser.add_argument("--worker", choices=["memory", "normal", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.url, args.worker, args.threads, args.events)
        return 0

    configs = []
    for name, (mode, threads) in CONFIGS.items():
        events = args.full_events if mode == "full" else args.events
        command = [
            sys.executable,
            str(__file__),
            "--worker",
            mode,
            "--url",
            "{url}",
            "--threads",
            str(threads),
            "--events",
            str(events),
        ]
        configs.append(Config(name, served(command)))
    info = machine_info()
    runs = run_interleaved(configs, args.rounds)
    save(args.save, runs)
    print(report(runs, info))
    return 0


def report(runs: dict[str, list[dict[str, Any]]], info: dict[str, str]) -> str:
    """The README section body."""
    lines = [
        "### Durable spool versus in memory",
        "",
        f"Events/s (higher is better); {max(len(r) for r in runs.values())} rounds, "
        "configurations interleaved, each run a fresh process against a fresh server process; "
        "ratio = median / median of the in-memory writer with the same number of threads.",
        "",
        *table(
            runs,
            [
                Column("submits_per_s", "submits/s", ratio=True),
                Column("submit_us", "µs per submit"),
                Column("delivered_per_s", "delivered/s", ratio=True),
            ],
            baselines=BASELINES,
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
    for name, results in runs.items():
        lines.append(
            f"- `{name}`: events missing on the server "
            f"{[r['events'] - r['stored'] for r in results]}, left in the spool after flush "
            f"{[r['spooled_after_flush'] for r in results]}, retries "
            f"{[r['retries'] for r in results]}, files left after close (last run) "
            f"{results[-1]['spool_files_after_close']}"
        )
    lines += stderr_notes(runs)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
