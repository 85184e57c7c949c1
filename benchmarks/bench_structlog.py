"""Cost of EventStoreProcessor in a structlog chain: the same chain with and without it.

    python benchmarks/bench_structlog.py               # 3 rounds, about 35 s on 2 cores
    python benchmarks/bench_structlog.py --rounds 5 --final json --save PATH
    python benchmarks/bench_structlog.py --against 48b593b --only capture  # now vs then

The chain (``structlog.configure``-style, held by a bound logger made directly with
``make_filtering_bound_logger(logging.INFO)`` over a ``ReturnLogger``, so no proxy or cache is
involved): ``merge_contextvars``, ``add_log_level``, ``TimeStamper(fmt="iso")``, then
``EventStoreProcessor`` in our rows, then a final step: ``--final drop`` (default) raises
``DropEvent`` as the research notes' reference did (lessons-from-log-shippers.md §6, nothing
rendered or written), ``--final json`` runs ``JSONRenderer()`` and hands the string to the
``ReturnLogger`` (a null sink). Lines are untagged: ``log.info("order %s placed by %s", i,
"alice")``, structlog interpolating the arguments.

Rows: the chain without our processor; with ``EventStoreProcessor(url, capture_logs=False)``
(the processor present, the lines not tagged: the common case); with ``capture_logs=True``
(every line becomes a ``LogRecorded`` event); and the research's sketch of the cheapest
structlog shipper (a processor copying the event dict into a ``deque``). Same method as
bench_handler.py: fresh process per run, 2,000 warm-up calls, wait until the sink has them,
100,000 timed calls, drain; every run with the test server running in another process.
"""

from __future__ import annotations

import argparse
import collections
import gc
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from _against import use_tree
from _harness import Config, emit, machine_info, markdown_report, python_command, run_interleaved
from _logging_common import (
    Column,
    burst,
    command_line,
    info_lines,
    library,
    process_cpu,
    run_against,
    save,
    stderr_notes,
    stderr_to_file,
    table,
    versions,
)

CONFIGS = {
    "bare": "structlog chain, without our processor",
    "off": "with EventStoreProcessor, capture_logs=False (untagged lines)",
    "capture": "with EventStoreProcessor, capture_logs=True",
    "deque": "research sketch: processor copying the dict into a deque",
}
BASELINE = CONFIGS["bare"]
PACKAGES = ["structlog", "plumberd-logging", "kurrentdbclient", "grpcio", "protobuf"]


# -- worker (runs in the subprocesses) -----------------------------------------------------------


def _drop(logger: object, method_name: str, event_dict: Any) -> Any:
    import structlog

    raise structlog.DropEvent


def build(
    key: str, url: str, final: str, queue_events: int, linger: float
) -> tuple[Any, Callable[[], int] | None, Callable[[], object], Callable[[], dict[str, Any]]]:
    """The bound logger of a configuration, its sink's count, its close, its counters."""
    import structlog

    from plumberd_logging import EventStoreProcessor

    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    delivered: Callable[[], int] | None = None
    close: Callable[[], object] = lambda: None  # noqa: E731
    stats: Callable[[], dict[str, Any]] = dict
    if key in ("off", "capture"):
        processor = EventStoreProcessor(
            url,
            capture_logs=key == "capture",
            service="bench",
            max_queue_events=queue_events,  # above the burst: nothing is dropped
            linger=linger,
        )
        chain.append(processor)
        writer = processor.writer
        if key == "capture":
            delivered = lambda: writer.stats().sent  # noqa: E731
        close = processor.close

        def stats() -> dict[str, Any]:
            s = writer.stats()
            return {
                "enqueued": s.enqueued,
                "sent": s.sent,
                "dropped": sum(s.dropped.values()),
                "dead_lettered": sum(s.dead_lettered.values()),
            }

    elif key == "deque":
        queue: collections.deque[dict[str, Any]] = collections.deque()

        def to_deque(logger: object, method_name: str, event_dict: Any) -> Any:
            queue.append(dict(event_dict))
            return event_dict

        chain.append(to_deque)
    chain.append(_drop if final == "drop" else structlog.processors.JSONRenderer())
    bound_class: Any = structlog.make_filtering_bound_logger(logging.INFO)
    log = bound_class(structlog.ReturnLogger(), chain, {})
    return log, delivered, close, stats


def _worker(key: str, args: argparse.Namespace) -> None:
    use_tree()  # --against: the older commit's library, for that row's twin
    with stderr_to_file() as stderr_lines:
        from plumberd_logging.testing import ServerProcess

        with ServerProcess() as server:
            before = process_cpu(server.pid)
            queue_events = 2 * (args.calls + args.warmup) + 1000
            log, delivered, close, stats = build(
                key, server.url, args.final, queue_events, args.linger
            )

            def loop(start: int, n: int) -> None:
                for i in range(start, start + n):
                    log.info("order %s placed by %s", i, "alice")

            gc.collect()
            result = burst(
                loop,
                calls=args.calls,
                warmup=args.warmup,
                delivered=delivered,
                drain_timeout=args.drain_timeout,
            )
            start = time.perf_counter()
            close()
            result["close_s"] = time.perf_counter() - start
            result.update(stats())
            if key == "capture":
                result["server_cpu_us"] = (process_cpu(server.pid) - before) / args.calls * 1e6
        noise = stderr_lines()
    result.update(stderr_lines=len(noise), stderr_sample=noise[:5], library=library())
    emit(result, packages=PACKAGES)


# -- breakdown (one in-process run, no profiler) --------------------------------------------------


def _breakdown(args: argparse.Namespace) -> None:
    """µs per call of our processor alone on a representative event dict (``time_per_call``,
    best of 5 loops), and of the pieces of its capture path."""
    import threading

    from _harness import time_per_call

    from plumberd_logging import EventStoreProcessor
    from plumberd_logging._capture import StructlogEventSpec
    from plumberd_logging._diagnostics import in_library_thread
    from plumberd_logging.testing import ServerProcess

    rows: list[tuple[str, float]] = []

    def step(name: str, fn: Callable[[], object]) -> None:
        rows.append((name, time_per_call(fn, min_time=0.1, repeat=5) * 1e6))

    event_dict = {
        "event": "order 1 placed by alice",
        "level": "info",
        "timestamp": "2026-11-26T18:00:00.000000Z",
    }
    with stderr_to_file(), ServerProcess() as server:
        idle: dict[str, Any] = {"linger": 3600.0, "max_batch_events": 10**9}
        off = EventStoreProcessor(server.url, capture_logs=False)
        capture = EventStoreProcessor(
            server.url, capture_logs=True, service="bench", max_queue_events=10**7, **idle
        )
        spec = StructlogEventSpec("bench", None, "LogRecorded", "drop_newest", "bench")
        step("EventStoreProcessor(capture_logs=False)(untagged dict)",
             lambda: off(None, "info", event_dict))  # fmt: skip
        step("EventStoreProcessor(capture_logs=True)(untagged dict) (idle writer)",
             lambda: capture(None, "info", event_dict))  # fmt: skip
        step("  of which `in_library_thread()`", in_library_thread)
        step("  of which `dict(event_dict)`", lambda: dict(event_dict))
        step("  of which `threading.current_thread().name`",
             lambda: threading.current_thread().name)  # fmt: skip
        writer = capture.writer

        def submit() -> object:
            payload = (dict(event_dict), "info", 0.0, "MainThread")
            return writer.submit_deferred("Log-bench", payload, spec)

        step("  of which `writer.submit_deferred(payload, spec)` (idle writer)", submit)
        step("writer: spec.build(payload)",
             lambda: spec.build((dict(event_dict), "info", 0.0, "MainThread")))  # fmt: skip
        off.close()
        capture.writer.close(0)
    print("| step | µs |\n| --- | ---: |")
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")


# -- parent ----------------------------------------------------------------------------------------


COLUMNS = [
    Column("us_per_call", "µs/call wall", added=True),
    Column("caller_cpu_us", "caller CPU µs", added=True),
    Column("total_cpu_us", "process CPU µs/event, until delivered", added=True),
    Column("gc_us_per_call", "of which gc µs/call"),
    Column("server_cpu_us", "server CPU µs/event (other process)", spread=False),
    Column("delivered", "delivered", digits=6, spread=False),
    Column("dropped", "dropped", spread=False),
    Column("drain_s", "drain after burst s", digits=2),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--calls", type=int, default=100_000, help="timed calls per run")
    parser.add_argument("--warmup", type=int, default=2_000, help="warm-up calls per run")
    parser.add_argument("--linger", type=float, default=0.1, help="our writer's linger (s)")
    parser.add_argument("--final", choices=["drop", "json"], default="drop")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), help="run these rows only")
    parser.add_argument("--save", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument("--breakdown", action="store_true", help="time each step on its own")
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="our rows now and at COMMIT (its library from a git worktree), interleaved",
    )
    parser.add_argument("--worker", choices=list(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        _worker(args.worker, args)
        return 0
    if args.breakdown:
        _breakdown(args)
        return 0

    keys = list(args.only or CONFIGS)
    if "bare" not in keys:
        keys.insert(0, "bare")
    passed = [
        "--calls", str(args.calls), "--warmup", str(args.warmup), "--linger", str(args.linger),
        "--final", args.final, "--drain-timeout", str(args.drain_timeout),
    ]  # fmt: skip
    configs = [
        Config(CONFIGS[k], python_command(sys.executable, __file__, "--worker", k, *passed))
        for k in keys
    ]
    if args.against:
        return run_against(args, configs, BASELINE, COLUMNS, lambda n: n.startswith("with"))
    info = machine_info()
    runs = run_interleaved(configs, rounds=args.rounds, timeout=600)
    save(args.save, runs)
    final = "DropEvent" if args.final == "drop" else "JSONRenderer into ReturnLogger"
    title = f"structlog call cost, final step {final}: µs per call, 100,000-call burst"
    print(
        markdown_report(title, runs, metric="us_per_call", unit="µs", baseline=BASELINE, info=info)
    )
    print(f"All metrics (median (min..max); added = median - median of `{BASELINE}`):\n")
    print("\n".join(table(runs, COLUMNS, baseline=BASELINE)))
    print()
    print(f"Command: `{command_line()}`\n")
    print("\n".join(info_lines(info) + versions(runs) + stderr_notes(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
