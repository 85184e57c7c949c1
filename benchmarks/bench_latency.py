"""End-to-end latency of a single tagged log event at a low rate: from the ``logger.info`` call
until the event is on the server.

    python benchmarks/bench_latency.py                 # 3 rounds x 4 rows, about 75 s
    python benchmarks/bench_latency.py --samples 50 --rounds 5 --save PATH

Every run is a fresh process with the test server in **another process** (``ServerProcess``)
and ``EventStoreHandler(url, linger=L)`` on a logger. It logs ``--samples`` events, one at a
time, each ``logger.info("order %s placed", i, extra={"event": OrderPlaced(...)})`` (the
event built before the clock starts), at least ``--interval`` (0.1 s) after the previous log
call and 20 ms after the previous event arrived, so that no two events share a batch.
Two clocks, both ``perf_counter`` in the benchmark process:

* **acknowledged**: the writer's ``on_delivered`` callback (run on the writer's thread right
  after the server acknowledged the append, so the event is committed and readable by then);
* **readable** (``polled`` rows only): a second client in the benchmark process reads the
  stream's last event every 0.5 ms until it is the logged one (resolution: one read round trip).

The goal is "on the server within the linger time plus one round trip": each run also times
20 single-event appends through ``EventStoreClient``, ``--interval`` apart (the round trip,
RTT), and the table shows latency - linger next to it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from typing import Any

from _harness import Config, emit, machine_info, python_command, run_interleaved
from _logging_common import (
    Column,
    command_line,
    info_lines,
    save,
    stderr_notes,
    stderr_to_file,
    table,
    versions,
)

# key -> (row name, linger, polled)
CONFIGS: dict[str, tuple[str, float, bool]] = {
    "default": ("linger=0.1 (default), acknowledged (on_delivered)", 0.1, False),
    "polled": ("linger=0.1 (default), readable (server polled)", 0.1, True),
    "short": ("linger=0.01, acknowledged (on_delivered)", 0.01, False),
    "zero": ("linger=0, acknowledged (on_delivered)", 0.0, False),
}
PACKAGES = ["plumberd-logging", "kurrentdbclient", "grpcio", "protobuf"]
STREAM = "Order"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# -- worker (runs in the subprocesses) -----------------------------------------------------------


def _rtt_ms(client: Any, event_class: type[Any], gap: float, n: int = 20) -> float:
    """Median ms of a one-event append through EventStoreClient (encode + round trip), the
    appends ``gap`` seconds apart like the samples (an idle connection answers slower than
    one kept busy by back-to-back calls)."""
    times = []
    for i in range(n):
        event = event_class(order_id=-i, amount=1.0, customer="rtt")
        time.sleep(gap)
        start = time.perf_counter()
        client.append_to_stream("Rtt", event)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _measure(key: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    import logging

    from bench_handler import order_placed_class

    from plumberd_logging import EventStoreClient, EventStoreHandler

    _, linger, polled = CONFIGS[key]
    event_class = order_placed_class()
    acked: dict[Any, float] = {}
    arrived = threading.Event()

    def on_delivered(receipt: Any) -> None:
        acked[receipt.event_id] = time.perf_counter()
        arrived.set()

    handler = EventStoreHandler(url, linger=linger, on_delivered=on_delivered)
    logger = logging.getLogger("bench.latency")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    reader = EventStoreClient(url)
    rtt = _rtt_ms(reader, event_class, args.interval)

    def last_id() -> Any:
        try:
            events = reader.read_stream(STREAM, backwards=True, limit=1)
        except Exception:  # StreamNotFound before the first event
            return None
        return events[0].id if events else None

    # one untimed event: starts the writer's thread and its connection
    logger.info("warm-up", extra={"event": event_class(order_id=-1, amount=0.0, customer="w")})
    if not arrived.wait(5):
        raise RuntimeError("the warm-up event was not delivered within 5 s")
    latencies, readable = [], []
    last_log = time.perf_counter()
    for i in range(args.samples):
        event = event_class(order_id=i, amount=49.99, customer="alice")
        arrived.clear()
        time.sleep(max(0.0, last_log + args.interval - time.perf_counter()))
        start = last_log = time.perf_counter()
        logger.info("order %s placed", i, extra={"event": event})
        if polled:
            deadline = start + 5
            while last_id() != event.id:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"event {i} not readable within 5 s")
                time.sleep(0.0005)
            readable.append((time.perf_counter() - start) * 1e3)
        if not arrived.wait(5):
            raise RuntimeError(f"event {i} not acknowledged within 5 s")
        latencies.append((acked[event.id] - start) * 1e3)
        time.sleep(0.02)
    handler.close()
    reader.close()
    shown = readable if polled else latencies
    result = {
        "median_ms": statistics.median(shown),
        "p90_ms": percentile(shown, 0.9),
        "max_ms": max(shown),
        "min_ms": min(shown),
        "acked_median_ms": statistics.median(latencies),
        "rtt_ms": rtt,
        "over_linger_ms": statistics.median(shown) - linger * 1e3,
        "p90_over_linger_ms": percentile(shown, 0.9) - linger * 1e3,
        "samples": len(shown),
    }
    s = handler.writer.stats()
    result.update(sent=s.sent, dropped=sum(s.dropped.values()), batches=s.batches)
    return result


def _worker(key: str, args: argparse.Namespace) -> None:
    with stderr_to_file() as stderr_lines:
        from plumberd_logging.testing import ServerProcess

        with ServerProcess() as server:
            result = _measure(key, server.url, args)
        noise = stderr_lines()
    result.update(stderr_lines=len(noise), stderr_sample=noise[:5])
    emit(result, packages=PACKAGES)


# -- parent ----------------------------------------------------------------------------------------


COLUMNS = [
    Column("median_ms", "median ms"),
    Column("p90_ms", "p90 ms"),
    Column("max_ms", "max ms"),
    Column("over_linger_ms", "median - linger ms"),
    Column("p90_over_linger_ms", "p90 - linger ms"),
    Column("rtt_ms", "RTT ms (1-event append)"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--samples", type=int, default=30, help="events per run (default 30)")
    parser.add_argument("--interval", type=float, default=0.1, help="s between log calls")
    parser.add_argument("--only", nargs="+", choices=list(CONFIGS), help="run these rows only")
    parser.add_argument("--save", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument("--worker", choices=list(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        _worker(args.worker, args)
        return 0

    keys = list(args.only or CONFIGS)
    passed = ["--samples", str(args.samples), "--interval", str(args.interval)]
    configs = [
        Config(CONFIGS[k][0], python_command(sys.executable, __file__, "--worker", k, *passed))
        for k in keys
    ]
    info = machine_info()
    runs = run_interleaved(configs, rounds=args.rounds, timeout=600)
    save(args.save, runs)
    first = CONFIGS[keys[0]][0]
    print(
        f"### Latency of one tagged log event at a low rate ({args.samples} events per run)\n\n"
        f"Per run the median, p90 and max over its events; the table shows the median of the "
        f"{args.rounds} runs (min..max across runs).\n"
    )
    print("\n".join(table(runs, COLUMNS, baseline=first)))
    print()
    print(f"Command: `{command_line()}`\n")
    print("\n".join(info_lines(info) + versions(runs) + stderr_notes(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
