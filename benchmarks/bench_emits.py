"""The caller's cost of ``@emits`` on a 3-field event, over the undecorated function.

    python benchmarks/bench_emits.py                  # 7 rounds, about 30 s on 2 cores
    python benchmarks/bench_emits.py --rounds 15 --save benchmarks/results/emits.json

Every configuration calls ``finish(recording_id, duration, file_path)`` (G1's fields) in a fresh
process: undecorated (the baseline), decorated with ``@emits(RecordingFinished)`` using the class's
stream rule, with a stream template, and called inside a ``correlation()`` scope. A reference row
does by hand what the decorator saves you from writing: build the event, ``writer.submit``.

The writer is idle while timing (a queue large enough for every call, a one-hour linger), so
what is measured is the caller's thread: reserving the event id, the correlation scope, binding
the arguments, building the event and queueing it. Encoding and I/O happen later on the writer's
thread and are measured by ``bench_encode.py`` and ``bench_writer.py``.

``--live`` measures instead with the writer live (lessons-from-log-shippers.md §6, as
``bench_handler.py``): the test server runs in another process, each run makes 2,000 warm-up
calls, then a burst of ``--calls`` calls, then waits until the server acknowledged every event;
it reports the caller thread's CPU (``thread_time``), the whole process's CPU per delivered call
(burst + drain, every thread: the writer's encoding and gRPC included) and the delivered count,
next to the undecorated function in the same surroundings (server running, library imported).

    python benchmarks/bench_emits.py --live --rounds 3 --save benchmarks/results/emits_live.json
    python benchmarks/bench_emits.py --live --against 48b593b   # now vs that commit, interleaved
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _against import use_tree
from _harness import Config, emit, markdown_report, python_command, run_interleaved, time_per_call
from _logging_common import Column, library, run_against

METRIC = "us_per_call"
BASELINE = "undecorated function"
# name -> worker
WORKERS = {
    BASELINE: "plain",
    "@emits, class stream rule": "rule",
    "@emits, stream template": "template",
    "@emits, inside correlation()": "scope",
    "by hand: build event + writer.submit": "manual",
}
# --live: name -> worker
LIVE = {
    "undecorated function, server running": "plain-live",
    "@emits, class stream rule, writer live": "rule-live",
}
LIVE_BASELINE = "undecorated function, server running"
LIVE_COLUMNS = [
    Column("caller_cpu_us", "caller thread CPU µs/call", added=True),
    Column("total_cpu_us", "process CPU µs/call, burst + drain", added=True),
    Column("us_per_call", "wall µs/call"),
    Column("delivered", "delivered", spread=False),
]
PACKAGES = ["plumberd-logging", "kurrentdbclient", "grpcio", "protobuf"]


def _workload(kind: str) -> tuple[Callable[[], object], Callable[[], None]]:
    """The call to time, and a cleanup that discards the (undelivered) queue."""
    from plumberd_logging import Event, EventWriter, StreamName, correlation, emits

    class RecordingFinished(Event, category="Recording", stream_id_field="recording_id"):
        recording_id: str
        duration: float
        file_path: str

    # Idle writer: nothing is sent while timing (no server is needed: it never connects).
    writer = EventWriter(
        "esdb://127.0.0.1:1?tls=false",
        max_queue_events=50_000_000,
        max_queue_bytes=2**50,
        max_batch_events=100_000_000,
        linger=3600,
        close_timeout=0,
    )

    def finish(recording_id: str, duration: float, file_path: str) -> None:
        pass

    def cleanup() -> None:
        writer.close(timeout=0)

    args = ("rec-123", 120.5, "/recordings/rec-123.mp4")
    if kind == "plain":
        return (lambda: finish(*args)), cleanup
    if kind == "manual":

        def manual() -> None:
            finish(*args)
            writer.submit(
                StreamName("Recording", args[0]),
                RecordingFinished(recording_id=args[0], duration=args[1], file_path=args[2]),
            )

        return manual, cleanup
    stream = "Recording-{recording_id}" if kind == "template" else None
    decorated = emits(RecordingFinished, stream, writer=writer)(finish)
    if kind == "scope":
        scope = correlation(user_id="bench")
        scope.__enter__()
    return (lambda: decorated(*args)), cleanup


def run_worker(kind: str, *, min_time: float, repeat: int) -> None:
    """Measure one configuration in this process and print its JSON result line."""
    fn, cleanup = _workload(kind)
    seconds = time_per_call(fn, min_time=min_time, repeat=repeat)
    cleanup()
    emit({METRIC: seconds * 1e6}, packages=["plumberd-logging"])


def run_live_worker(kind: str, *, calls: int, warmup: int) -> None:
    """One ``--live`` run: a burst of calls with the writer sending to a server process."""
    from _logging_common import burst, process_cpu, stderr_to_file

    use_tree()  # --against: the older commit's library, for that row's twin
    with stderr_to_file() as stderr_lines:
        from plumberd_logging import Event, EventWriter, emits
        from plumberd_logging.testing import ServerProcess

        class RecordingFinished(Event, category="Recording", stream_id_field="recording_id"):
            recording_id: str
            duration: float
            file_path: str

        def finish(recording_id: str, duration: float, file_path: str) -> None:
            pass

        with ServerProcess() as server:
            writer = None
            call: Callable[..., object] = finish
            if kind == "rule-live":
                writer = EventWriter(server.url, max_queue_events=2 * (calls + warmup) + 1000)
                call = emits(RecordingFinished, writer=writer)(finish)
            ids = [f"rec-{i % 100}" for i in range(calls + warmup)]

            def loop(start: int, n: int) -> None:
                for i in range(start, start + n):
                    call(ids[i], 120.5, "/recordings/rec-123.mp4")

            before = process_cpu(server.pid)
            gc.collect()  # as bench_handler and bench_structlog: setup's garbage not timed
            result = burst(
                loop,
                calls=calls,
                warmup=warmup,
                delivered=(lambda: writer.stats().sent) if writer is not None else None,
                drain_timeout=120.0,
            )
            result["server_cpu_us"] = (process_cpu(server.pid) - before) / calls * 1e6
            if writer is not None:
                stats = writer.stats()
                result.update(dropped=sum(stats.dropped.values()), retries=stats.retries)
                writer.close()
        noise = stderr_lines()
    result.update(stderr_lines=len(noise), stderr_sample=noise[:5], library=library())
    emit(result, packages=PACKAGES)


def live_report(runs: dict[str, list[dict[str, Any]]], info: dict[str, str]) -> str:
    """The ``--live`` table: caller CPU, total CPU per delivered call, delivered/attempted."""
    from _logging_common import command_line, info_lines, table, versions

    lines = ["### @emits with the writer live, server in another process", ""]
    lines += table(runs, LIVE_COLUMNS, baseline=LIVE_BASELINE)
    lines += ["", f"Command: `{command_line()}`", "", *info_lines(info), *versions(runs)]
    return "\n".join(lines) + "\n"


def overhead_notes(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Cost over the undecorated call, per configuration (median of per-round differences)."""
    base = [r[METRIC] for r in runs[BASELINE]]
    notes = ["Cost over the undecorated call (median of per-round differences):", ""]
    for name, results in runs.items():
        if name == BASELINE:
            continue
        diffs = [r[METRIC] - b for r, b in zip(results, base, strict=False)]
        notes.append(
            f"- {name}: {statistics.median(diffs):.2f} µs "
            f"(min {min(diffs):.2f}, max {max(diffs):.2f})"
        )
    return notes


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs per configuration")
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per timed loop")
    parser.add_argument("--repeat", type=int, default=5, help="timed loops per run (best kept)")
    parser.add_argument("--save", type=Path, help="also write the raw results as JSON here")
    parser.add_argument("--live", action="store_true", help="writer live, server process")
    parser.add_argument("--calls", type=int, default=20_000, help="--live: timed calls per run")
    parser.add_argument("--warmup", type=int, default=2_000, help="--live: warm-up calls")
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="--live: the decorated row now and at COMMIT (its library from a git worktree)",
    )
    parser.add_argument("--worker", choices=sorted([*WORKERS.values(), *LIVE.values()]))
    args = parser.parse_args(argv)
    if args.against and not args.live:
        parser.error("--against needs --live")
    if args.worker in LIVE.values():
        run_live_worker(args.worker, calls=args.calls, warmup=args.warmup)
        return 0
    if args.worker:
        run_worker(args.worker, min_time=args.min_time, repeat=args.repeat)
        return 0

    from _harness import machine_info

    if args.live:
        sizes = ["--calls", str(args.calls), "--warmup", str(args.warmup)]
        live = [
            Config(name, python_command(sys.executable, __file__, "--worker", worker, *sizes))
            for name, worker in LIVE.items()
        ]
        if args.against:
            return run_against(
                args, live, LIVE_BASELINE, LIVE_COLUMNS, lambda n: n.startswith("@emits")
            )
        info = machine_info()
        runs = run_interleaved(live, args.rounds, timeout=600)
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
        print(live_report(runs, info))
        return 0

    timing = ["--min-time", str(args.min_time), "--repeat", str(args.repeat)]
    configs = [
        Config(name, python_command(sys.executable, __file__, "--worker", worker, *timing))
        for name, worker in WORKERS.items()
    ]
    info = machine_info()
    runs = run_interleaved(configs, args.rounds)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    print(
        markdown_report(
            "@emits on a 3-field event",
            runs,
            metric=METRIC,
            unit="µs per call",
            baseline=BASELINE,
            info=info,
            notes=overhead_notes(runs),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
