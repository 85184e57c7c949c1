"""Caller-thread cost of a ``logging`` call with EventStoreHandler, next to NullHandler, stdlib
QueueHandler and OpenTelemetry; and the whole process's CPU per captured event.

    python benchmarks/bench_handler.py                 # 3 rounds, about 1.5-2 minutes on 2 cores
    python benchmarks/bench_handler.py --rounds 5 --save benchmarks/results/handler.json
    python benchmarks/bench_handler.py --profile capture      # cProfile caller and writer thread
    python benchmarks/bench_handler.py --against 48b593b --only capture tagged  # now vs then

The method of lessons-from-log-shippers.md §6: one fresh process per configuration and run;
2,000 warm-up calls, wait until the sink has seen them, then time 100,000 calls of
``logger.info("order %s placed by %s", i, "alice")`` made from inside a function, with
``perf_counter`` (wall), ``thread_time`` (caller thread) and ``process_time`` (all threads);
then wait until the sink has received every event (the drain) and time ``close()``.
Configurations run interleaved, rounds rotate their order, the table shows medians.

Our rows need a server: each of their runs starts the in-process test server in **another
process** (``ServerProcess``), so the writer's thread really encodes and sends over gRPC and
the process CPU we report includes the gRPC client's work, not the server's (reported apart).
"Delivered" for our rows is the writer's ``sent`` counter: events the server acknowledged.

OpenTelemetry (``opentelemetry-sdk``) is a benchmark-only dependency; without it its row is
left out with a note.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

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

# key -> table row name
CONFIGS = {
    "null": "NullHandler",
    "null-extra": "NullHandler, call with extra={'event': ...}",
    "queue": "stdlib QueueHandler(SimpleQueue) -> QueueListener -> no-op handler",
    "otel": "OpenTelemetry LoggingHandler + BatchLogRecordProcessor (defaults) + no-op exporter",
    "off": "ours, capture_logs=False, untagged lines",
    "capture": "ours, capture_logs=True, untagged lines",
    "capture-idle": "ours, capture_logs=True, writer idle during the burst (linger=3600)",
    "tagged": "ours, capture_logs=False, tagged lines (extra={'event': OrderPlaced})",
}
BASELINE = "NullHandler"
PACKAGES = ["plumberd-logging", "kurrentdbclient", "grpcio", "protobuf", "opentelemetry-sdk"]
LOGGER = "bench.orders"
OTEL_NAME = CONFIGS["otel"]


def otel_available() -> bool:
    try:
        importlib.import_module("opentelemetry.sdk._logs")
    except ImportError:
        return False
    return True


# -- worker (runs in the subprocesses) -----------------------------------------------------------


@dataclass
class Setup:
    """What a configuration attaches, how to count what its sink got, how to close it."""

    handler: logging.Handler
    delivered: Callable[[], int] | None = None
    close: Callable[[], object] = lambda: None
    stats: Callable[[], dict[str, Any]] = field(default=dict)
    writer: Any = None  # our EventWriter, for --profile


class _Counting(logging.Handler):
    """The no-op sink behind QueueListener: counts what reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle(self, record: logging.LogRecord) -> bool:
        self.count += 1
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() counts
        self.count += 1


def _queue_setup() -> Setup:
    import logging.handlers
    import queue

    q: queue.SimpleQueue[Any] = queue.SimpleQueue()
    sink = _Counting()
    listener = logging.handlers.QueueListener(q, sink)
    listener.start()
    return Setup(logging.handlers.QueueHandler(q), lambda: sink.count, listener.stop)


def _otel_setup() -> Setup:
    import warnings

    logs = importlib.import_module("opentelemetry.sdk._logs")
    export = importlib.import_module("opentelemetry.sdk._logs.export")
    count = [0]

    def export_batch(self: object, batch: Any) -> Any:
        count[0] += len(batch)
        return export.LogRecordExportResult.SUCCESS

    exporter_class = type(
        "NoOpExporter",
        (export.LogRecordExporter,),
        {
            "export": export_batch,
            "shutdown": lambda self: None,
            "force_flush": lambda self, timeout_millis=30_000: True,
        },
    )
    provider = logs.LoggerProvider()
    provider.add_log_record_processor(export.BatchLogRecordProcessor(exporter_class()))
    with warnings.catch_warnings():  # the SDK's handler is deprecated in favour of a new one
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = logs.LoggingHandler(logger_provider=provider)
    return Setup(handler, lambda: count[0], provider.shutdown)


def _ours_setup(key: str, url: str, queue_events: int, linger: float) -> Setup:
    from plumberd_logging import EventStoreHandler

    idle = key == "capture-idle"
    handler = EventStoreHandler(
        url,
        capture_logs=key.startswith("capture"),
        service="bench",
        max_queue_events=queue_events,  # above the burst: nothing is dropped
        linger=3600.0 if idle else linger,
        max_batch_events=10**9 if idle else 1000,  # idle: no batch fills up, nothing is sent
    )
    writer = handler.writer

    def stats() -> dict[str, Any]:
        s = writer.stats()
        return {
            "enqueued": s.enqueued,
            "sent": s.sent,
            "batches": s.batches,
            "retries": s.retries,
            "dropped": sum(s.dropped.values()),
            "dead_lettered": sum(s.dead_lettered.values()),
        }

    if idle:  # the events are sent after the timed part, by close() (its time is no drain)

        def close() -> None:
            writer.flush(120)
            handler.close()

        return Setup(handler, None, close, stats, writer)
    delivered = (lambda: writer.stats().sent) if key != "off" else None
    return Setup(handler, delivered, handler.close, stats, writer)


def order_placed_class() -> type[Any]:
    """The tagged event: 3 fields, category ``Order`` (so every event goes to stream Order)."""
    from plumberd_logging import Event

    class OrderPlaced(Event, category="Order"):
        order_id: int
        amount: float
        customer: str

    return OrderPlaced


def plain_loop(logger: logging.Logger) -> Callable[[int, int], None]:
    def loop(start: int, n: int) -> None:
        for i in range(start, start + n):
            logger.info("order %s placed by %s", i, "alice")

    return loop


def tagged_loop(logger: logging.Logger, events: list[Any]) -> Callable[[int, int], None]:
    def loop(start: int, n: int) -> None:
        for i in range(start, start + n):
            logger.info("order %s placed by %s", i, "alice", extra={"event": events[i]})

    return loop


def prepare(
    key: str, url: str | None, calls: int, warmup: int, linger: float
) -> tuple[Setup, Callable[[int, int], None], float]:
    """The configuration's handler on a fresh logger, its loop, and the seconds spent building
    the tagged events (outside the timed region)."""
    logger = logging.getLogger(LOGGER)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    queue_events = 2 * (calls + warmup) + 1000
    if key in ("null", "null-extra"):
        setup = Setup(logging.NullHandler())
    elif key == "queue":
        setup = _queue_setup()
    elif key == "otel":
        setup = _otel_setup()
    else:
        assert url is not None
        setup = _ours_setup(key, url, queue_events, linger)
    logger.addHandler(setup.handler)
    build_s = 0.0
    if key in ("null-extra", "tagged"):
        event_class = order_placed_class()
        start = time.perf_counter()
        events = [
            event_class(order_id=i, amount=49.99, customer="alice") for i in range(calls + warmup)
        ]
        build_s = time.perf_counter() - start
        return setup, tagged_loop(logger, events), build_s
    return setup, plain_loop(logger), build_s


def _measure(key: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    setup, loop, build_s = prepare(key, url, args.calls, args.warmup, args.linger)
    gc.collect()
    result = burst(
        loop,
        calls=args.calls,
        warmup=args.warmup,
        delivered=setup.delivered,
        drain_timeout=args.drain_timeout,
    )
    result["build_event_us"] = build_s / (args.calls + args.warmup) * 1e6
    start = time.perf_counter()
    setup.close()
    result["close_s"] = time.perf_counter() - start
    result.update(setup.stats())
    if key == "capture-idle":  # sent by close(), after the measurement: no total, no drain
        result.update(total_cpu_us=None, drain_s=None, delivered=result["sent"] - args.warmup)
    return result


def _worker(key: str, args: argparse.Namespace) -> None:
    use_tree()  # --against: the older commit's library, for that row's twin
    with stderr_to_file() as stderr_lines:
        # Every configuration runs in the same surroundings: the test server running in
        # another process (idle unless our handler sends) and plumberd_logging imported.
        import plumberd_logging.handler  # noqa: F401
        from plumberd_logging.testing import ServerProcess

        with ServerProcess() as server:
            before = process_cpu(server.pid)
            result = _measure(key, server.url, args)
            if key in ("capture", "tagged"):
                result["server_cpu_us"] = (process_cpu(server.pid) - before) / args.calls * 1e6
        noise = stderr_lines()
    result.update(stderr_lines=len(noise), stderr_sample=noise[:5], library=library())
    emit(result, packages=PACKAGES)


# -- profile (one in-process run) ----------------------------------------------------------------


def _profile(key: str, args: argparse.Namespace) -> None:
    """cProfile of the caller's burst and, for our rows, of the writer's thread."""
    import cProfile
    import pstats

    from plumberd_logging.testing import ServerProcess

    with ServerProcess() as server:
        setup, loop, _ = prepare(key, server.url, args.calls, args.warmup, args.linger)
        timer = time.thread_time if args.profile_timer == "cpu" else time.perf_counter
        worker_profile = cProfile.Profile(timer)
        writer = setup.writer
        if writer is not None:  # the thread starts with the first event: wrap its target
            run = writer._worker._run

            def profiled_run() -> None:
                worker_profile.enable()
                try:
                    run()
                finally:
                    worker_profile.disable()

            writer._worker._run = profiled_run
        caller = cProfile.Profile(timer)
        loop(0, args.warmup)
        if setup.delivered is not None:
            deadline = time.monotonic() + args.drain_timeout
            while setup.delivered() < args.warmup and time.monotonic() < deadline:
                time.sleep(0.01)
        caller.enable()
        loop(args.warmup, args.calls)
        caller.disable()
        if setup.delivered is not None:
            deadline = time.monotonic() + args.drain_timeout
            while setup.delivered() < args.warmup + args.calls and time.monotonic() < deadline:
                time.sleep(0.01)
        setup.close()
        print(f"== caller thread, {args.calls} calls ({CONFIGS[key]}), {args.profile_timer} time")
        pstats.Stats(caller).sort_stats("tottime").print_stats(25)
        if writer is not None:
            print(f"== writer thread (whole life, warm-up included), {args.profile_timer} time")
            pstats.Stats(worker_profile).sort_stats("tottime").print_stats(35)


# -- breakdown (one in-process run, no profiler) --------------------------------------------------


def _breakdown(args: argparse.Namespace) -> None:
    """µs per step of the caller's and the writer thread's work, each timed on its own with
    ``time_per_call`` (best of 5 loops), to attribute the burst's totals without a profiler's
    distortion."""
    from _harness import time_per_call

    from plumberd_logging import EventStoreClient, EventStoreHandler
    from plumberd_logging import handler as handler_module
    from plumberd_logging._capture import LogEventSpec, capture_context
    from plumberd_logging._diagnostics import in_library_thread
    from plumberd_logging._values import ValueConverter
    from plumberd_logging.codec import Codec
    from plumberd_logging.metadata import build_metadata
    from plumberd_logging.streams import ANY
    from plumberd_logging.testing import ServerProcess

    rows: list[tuple[str, float]] = []

    def step(name: str, fn: Callable[[], object]) -> float:
        us = time_per_call(fn, min_time=0.1, repeat=5) * 1e6
        rows.append((name, us))
        return us

    with stderr_to_file() as stderr_lines, ServerProcess() as server:
        logger = logging.getLogger("bench.breakdown")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(logging.NullHandler())
        event = order_placed_class()(order_id=1, amount=49.99, customer="alice")

        def record(**extra: Any) -> logging.LogRecord:
            return logger.makeRecord(
                logger.name, logging.INFO, __file__, 1, "order %s placed by %s",
                (1, "alice"), None, extra=extra or None,
            )  # fmt: skip

        plain, tagged = record(), record(event=event)
        idle: dict[str, Any] = {
            "linger": 3600.0,  # the writer's thread waits: only the caller's work is timed
            "max_batch_events": 10**9,
            "max_queue_events": 10**7,
        }
        off = EventStoreHandler(server.url, capture_logs=False)
        capture = EventStoreHandler(server.url, capture_logs=True, service="bench", **idle)
        tag = EventStoreHandler(server.url, capture_logs=False, **idle)
        null = logging.NullHandler()

        step("caller: `logger.info(...)` with NullHandler (whole call)",
             lambda: logger.info("order %s placed by %s", 1, "alice"))  # fmt: skip
        step("caller: `logger.makeRecord(...)` (LogRecord, no findCaller)", record)
        step("caller: NullHandler.handle(record)", lambda: null.handle(plain))
        step("caller: ours capture_logs=False, handle(untagged record)", lambda: off.handle(plain))
        step("  of which `getattr(_guard, 'active', False)` (attribute never set: raises inside)",
             lambda: getattr(handler_module._guard, "active", False))  # fmt: skip
        step("  of which `in_library_thread()` (same pattern on `_local.ours`)", in_library_thread)
        step("caller: ours capture_logs=True, handle(untagged record) (idle writer)",
             lambda: capture.handle(plain))  # fmt: skip
        step("caller: ours, handle(record tagged with an OrderPlaced) (idle writer)",
             lambda: tag.handle(tagged))  # fmt: skip
        spec = LogEventSpec("bench", None, "LogRecorded", "drop_newest", "bench")
        writer = capture.writer
        step(
            "  capture: `capture_context(record.__dict__)`",
            lambda: capture_context(plain.__dict__),
        )
        step("  capture: `writer.submit_deferred(record, spec)` (idle writer)",
             lambda: writer.submit_deferred("Log-bench", plain, spec,
                                            created=plain.created))  # fmt: skip
        step("  capture: `os.getpid()` (submit's fork check; LogRecord makes one too)", os.getpid)

        codec = Codec()
        body, event_type = spec.build(plain)
        step("writer: spec.build(record) (the LogRecorded body)",
             lambda: spec.build(plain))  # fmt: skip
        step("writer: Codec.encode(LogRecorded body) (ids, metadata, 2 JSON documents)",
             lambda: codec.encode(body, None, event_type=event_type, created=plain.created,
                                  context=None))  # fmt: skip
        values = ValueConverter()
        step("  of which ValueConverter.convert(body)", lambda: values.convert(body))
        step("  of which uuid.uuid4()", uuid4)
        converted = values.convert(body)
        step("  of which Codec.dumps(converted body) (JSON)", lambda: codec.dumps(converted, "x"))
        eid = uuid4()
        step("  of which build_metadata(...) (Created, ClientHostName, ids)",
             lambda: build_metadata(eid, None, created=plain.created, context=None))  # fmt: skip
        meta = build_metadata(eid, None, created=plain.created, context=None)
        step("  of which Codec.dumps(metadata) (JSON)", lambda: codec.dumps(meta, "Metadata"))
        step("writer: Codec.encode(OrderPlaced) (tagged event)",
             lambda: codec.encode(event, None, created=plain.created, context=None))  # fmt: skip

        encoded = [
            codec.encode(body, None, event_type=event_type, created=plain.created, context=None)
            for _ in range(500)
        ]
        client = EventStoreClient(server.url)
        client.append_encoded("Log-warm", encoded[:1], ANY)
        batches = 20
        p0, c0, t0 = time.process_time(), time.thread_time(), time.perf_counter()
        for i in range(batches):
            client.append_encoded(f"Log-bench-{i}", encoded, ANY)
        t1, c1, p1 = time.perf_counter(), time.thread_time(), time.process_time()
        n = batches * len(encoded)
        rows.append(("send: append_encoded of 500 LogRecorded events, wall per event",
                     (t1 - t0) / n * 1e6))  # fmt: skip
        rows.append(("send: same, calling thread CPU per event", (c1 - c0) / n * 1e6))
        rows.append(("send: same, process CPU per event (grpc's threads too)", (p1 - p0) / n * 1e6))
        client.close()
        for h in (capture, tag):  # their queued events are not sent: close without waiting
            h.writer.close(0)
        off.close()
        noise = stderr_lines()
    print("| step | µs |\n| --- | ---: |")
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")
    print(f"\n{len(noise)} stderr lines; at exit the idle writers report their unsent events")


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
    Column("close_s", "close() s", digits=2, spread=False),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--calls", type=int, default=100_000, help="timed calls per run")
    parser.add_argument("--warmup", type=int, default=2_000, help="warm-up calls per run")
    parser.add_argument("--linger", type=float, default=0.1, help="our writer's linger (s)")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), help="run these rows only")
    parser.add_argument("--save", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument("--profile", choices=["capture", "capture-idle", "tagged", "off"])
    parser.add_argument("--breakdown", action="store_true", help="time each step on its own")
    parser.add_argument(
        "--profile-timer",
        choices=["cpu", "wall"],
        default="cpu",
        help="cProfile timer: thread CPU time (default) or wall time",
    )
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
    if args.profile:
        _profile(args.profile, args)
        return 0
    if args.breakdown:
        _breakdown(args)
        return 0

    keys = list(args.only or CONFIGS)
    if "null" not in keys:
        keys.insert(0, "null")
    notes_extra = []
    if "otel" in keys and not otel_available():
        keys.remove("otel")
        notes_extra.append(
            "- OpenTelemetry row left out: `opentelemetry-sdk` is not installed in this venv "
            "(`python -m pip install opentelemetry-sdk`)."
        )
    passed = [
        "--calls", str(args.calls), "--warmup", str(args.warmup), "--linger", str(args.linger),
        "--drain-timeout", str(args.drain_timeout),
    ]  # fmt: skip
    configs = [
        Config(CONFIGS[k], python_command(sys.executable, __file__, "--worker", k, *passed))
        for k in keys
    ]
    if args.against:
        return run_against(args, configs, BASELINE, COLUMNS, lambda n: n.startswith("ours"))
    info = machine_info()
    runs = run_interleaved(configs, rounds=args.rounds, timeout=600)
    save(args.save, runs)
    title = "logging call cost: µs per call on the caller thread, 100,000-call burst"
    print(
        markdown_report(title, runs, metric="us_per_call", unit="µs", baseline=BASELINE, info=info)
    )
    print(
        "All metrics (median (min..max) over the rounds; added = median - NullHandler's median):\n"
    )
    print("\n".join(table(runs, COLUMNS, baseline=BASELINE)))
    print()
    print(f"Command: `{command_line()}`\n")
    print("\n".join(info_lines(info) + versions(runs) + stderr_notes(runs) + notes_extra))
    for key in ("null-extra", "tagged"):
        name = CONFIGS[key]
        if name in runs:
            built = sorted(float(r["build_event_us"]) for r in runs[name])
            print(f"- `{name}`: building one OrderPlaced (untimed) {built[len(built) // 2]:.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
