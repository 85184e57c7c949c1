"""The caller-thread cost of ``EventWriter.submit`` for a 3-field event, idle and busy writer.

    python benchmarks/bench_submit.py                 # 5 rounds, about 90 s on 2 cores
    python benchmarks/bench_submit.py --rounds 9 --save benchmarks/results/submit.json
    python benchmarks/bench_submit.py --against 8323a28  # now vs that commit (_against)

Each run is a fresh process with a fresh test server in another process. It times loops of
``--calls`` calls of ``writer.submit("Order-1", event)`` (distinct, already built
``OrderPlaced(order_id, amount, currency)`` events) and, alternating with them in the same
process, loops of an empty function called the same way (``noop("Order-1", event)``); the
result is the median over ``--repeat`` loops of each, in µs per call, and their difference.

* ``idle writer``: ``linger=3600``, ``max_batch_events=10**9``, ``max_queue_events=10**6``: the
  queue has room and the worker sleeps through the timed loops (checked: no append happens);
* ``busy writer``: the defaults except ``max_queue_events=10**6``; before every timed loop
  ``--backlog`` events are submitted untimed, so the worker is encoding and appending
  (checked: events are delivered during the loop) while the caller submits: the GIL is shared.

A last loop times every call on its own (``perf_counter_ns``) for the percentiles. At the end
everything is flushed and checked as delivered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _against import against, older_tree, use_tree
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

CONFIGS = {"idle writer": "idle", "busy writer (appending a backlog)": "busy"}
STREAM = "Order-1"


# -- worker (runs in the subprocesses) -----------------------------------------------------------


def noop(stream: str, event: object) -> None:
    """The empty function the submit cost is compared with."""


def _loop(fn: Callable[[str, object], object], events: list[Any]) -> float:
    """Seconds per call of ``fn(STREAM, event)`` over ``events``."""
    start = time.perf_counter()
    for event in events:
        fn(STREAM, event)
    return (time.perf_counter() - start) / len(events)


def _encoded(r: Any) -> Any:
    """A receipt's encoded event (``_encoded``; ``encoded`` before the writer split)."""
    return getattr(r, "_encoded", None) or getattr(r, "encoded", None)


def _worker(mode: str, url: str, calls: int, repeat: int, backlog: int) -> None:
    from plumberd_logging.writer import EventWriter

    order_placed = order_placed_class()
    counter = iter(range(10**9))

    def build(n: int) -> list[Any]:
        return [
            order_placed(order_id=f"order-{next(counter)}", amount=12.5, currency="EUR")
            for _ in range(n)
        ]

    if mode == "idle":
        writer = EventWriter(url, linger=3600, max_batch_events=10**9, max_queue_events=10**6)
    else:
        writer = EventWriter(url, max_queue_events=10**6)
    writer.submit(STREAM, build(1)[0])  # starts the thread, connects
    if not writer.flush(30):
        raise RuntimeError("warm-up event not delivered")

    queued: list[Any] = []  # the receipts of the current backlog

    def prepare() -> list[Any]:
        """The events of the next timed loop; in busy mode, first give the worker a backlog."""
        queued.clear()
        events = build(calls)
        if mode == "busy":  # right before the timed loop, which is much shorter than the drain
            writer.flush(60)
            queued.extend(writer.submit(STREAM, event) for event in build(backlog))
        return events

    def processed() -> int:
        """Backlog events the worker has encoded (or resolved) so far."""
        return sum(1 for r in queued if _encoded(r) is not None or r.done())

    noop_us, submit_us, busy_work = [], [], []
    appends_before = writer.stats().batches
    for _ in range(repeat):
        events = prepare()
        noop_us.append(_loop(noop, events) * 1e6)
        events = prepare()
        before = processed()
        submit_us.append(_loop(writer.submit, events) * 1e6)
        busy_work.append(processed() - before)
    appends_during = writer.stats().batches - appends_before

    events = prepare()  # percentiles: each call timed on its own
    clock = time.perf_counter_ns
    single = []
    submit = writer.submit
    for event in events:
        t0 = clock()
        submit(STREAM, event)
        single.append(clock() - t0)
    timer = []
    for event in events:
        t0 = clock()
        noop(STREAM, event)
        timer.append(clock() - t0)
    single.sort()
    timer.sort()

    if not writer.flush(120):
        raise RuntimeError(f"final flush timed out: {writer.stats()}")
    stats = writer.stats()
    writer.close()
    noop_med, submit_med = statistics.median(noop_us), statistics.median(submit_us)

    def pct(values: list[int], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] / 1000

    emit(
        {
            "noop_us": noop_med,
            "submit_us": submit_med,
            "overhead_us": submit_med - noop_med,
            "p50_us": pct(single, 0.50),
            "p99_us": pct(single, 0.99),
            "p999_us": pct(single, 0.999),
            "max_us": single[-1] / 1000,
            "timed_noop_p50_us": pct(timer, 0.50),
        },
        packages=["plumberd-logging", "kurrentdbclient", "grpcio"],
        extra={
            "appends_during_timed_loops": appends_during if mode == "idle" else None,
            "worker_progress_during_timed_loops": busy_work,
            "enqueued": stats.enqueued,
            "sent": stats.sent,
            "retries": stats.retries,
            "dropped": sum(stats.dropped.values()),
            "library": str(Path(sys.modules["plumberd_logging"].__file__ or "").parent.parent),
        },
    )


# -- parent --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per configuration")
    parser.add_argument("--calls", type=int, default=10_000, help="calls per timed loop")
    parser.add_argument("--repeat", type=int, default=7, help="timed loops per run (median)")
    parser.add_argument("--backlog", type=int, default=10_000, help="busy: events queued first")
    parser.add_argument("--save", help="also write the raw results as JSON here")
    parser.add_argument(
        "--against", metavar="COMMIT", help="side by side with COMMIT's library (_against)"
    )
    parser.add_argument("--worker", choices=sorted(CONFIGS.values()), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        use_tree()
        _worker(args.worker, args.url, args.calls, args.repeat, args.backlog)
        return 0

    sizes = ["--calls", str(args.calls), "--repeat", str(args.repeat)]
    sizes += ["--backlog", str(args.backlog)]
    configs = [
        Config(
            name,
            served([sys.executable, str(__file__), "--worker", mode, "--url", "{url}", *sizes]),
        )
        for name, mode in CONFIGS.items()
    ]
    if args.against:
        with older_tree(args.against) as (commit, folder):
            configs, twins = against(configs, commit, folder)
            info = machine_info()
            runs = run_interleaved(configs, args.rounds)
        save(args.save, runs)
        print(report(runs, info, twins))
        return 0
    info = machine_info()
    runs = run_interleaved(configs, args.rounds)
    save(args.save, runs)
    print(report(runs, info))
    return 0


def report(
    runs: dict[str, list[dict[str, Any]]],
    info: dict[str, str],
    twins: dict[str, str] | None = None,
) -> str:
    """The README section body (``twins``: with ``--against``, each row's older twin)."""
    lines = [
        "### submit() on the caller's thread, 3-field event",
        "",
        f"µs per call (lower is better); {max(len(r) for r in runs.values())} rounds, "
        "configurations interleaved, each run a fresh process (server in another fresh "
        "process); per run the median of the timed loops; `overhead` = submit - empty call "
        "in the same process; percentiles from one loop timing each call alone.",
        "",
        *table(
            runs,
            [
                Column("noop_us", "empty call µs"),
                Column("submit_us", "submit µs"),
                Column("overhead_us", "overhead µs", ratio=twins is not None),
                Column("p50_us", "p50 µs"),
                Column("p99_us", "p99 µs"),
                Column("p999_us", "p99.9 µs"),
                Column("max_us", "max µs"),
            ],
            baselines=twins,
        ),
        "",
        "Command:",
        "",
        "```bash",
        command_line(),
        "```",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        *versions(runs),
        "",
        "Checks:",
        "",
    ]
    for name, results in runs.items():
        delivered = [f"{r['sent']}/{r['enqueued']}" for r in results]
        lines.append(
            f"- `{name}`: appends during the timed loops "
            f"{[r['appends_during_timed_loops'] for r in results]}, backlog events the worker "
            f"encoded during them (first run) "
            f"{results[0]['worker_progress_during_timed_loops']}, sent/enqueued "
            f"{delivered}, retries "
            f"{[r['retries'] for r in results]}, timer cost p50 "
            f"{[round(r['timed_noop_p50_us'], 2) for r in results]} µs, library imported "
            f"from {sorted({r.get('library', '?') for r in results})}, load (1 min) "
            f"{[round(r['load'][0], 1) for r in results if r.get('load')]}"
        )
    lines += stderr_notes(runs)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
