"""End-to-end throughput of ``EventWriter`` versus py-micro-plumberd 0.1.9's one append per event.

    python benchmarks/bench_writer.py                 # 5 rounds, about 2 minutes on 2 cores
    python benchmarks/bench_writer.py --rounds 9 --save benchmarks/results/writer.json
    python benchmarks/bench_writer.py --profile       # one cProfile run of each of our rows
    python benchmarks/bench_writer.py --against 8323a28  # our rows, now vs that commit (_against)

The server is the in-process test server in **another process**, started fresh for every
measurement (``_writer_common.served``). Every run is a fresh client process that builds its
events first (untimed), makes one warm-up append (the connection), then times from the first
submit to ``flush()`` returning (ours), or the loop of ``append_to_stream(StreamName(...),
event)`` calls (py-micro-plumberd, in its own venv), for one stream and round-robin across 100
streams. Both sides collect garbage once after building their events (untimed), so the timed
part does not pay for moving the benchmark's own 30,000 prebuilt events to the collector's old
generation (the entry-point benchmarks do the same). Ours is ``EventWriter(url)`` with its
defaults (so ``submit`` blocks while its 10,000 event queue is full); one row adds
``multi_stream="never"``, the fallback used against servers older than KurrentDB 25.1, which
have no multi-stream append. The event is the 3-field ``OrderPlaced(order_id, amount,
currency)`` on both sides. After the timed part every run
reads the stream revisions back and reports how many events the server holds.
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _against import against, older_tree, use_tree
from _harness import Config, machine_info, run_interleaved
from _writer_common import (
    Column,
    command_line,
    cpu_seconds,
    order_placed_class,
    save,
    served,
    stderr_notes,
    table,
    versions,
)

BASE = "py-micro-plumberd 0.1.9"
# name -> (side, streams, extra worker arguments)
CONFIGS: dict[str, tuple[str, int, list[str]]] = {
    f"{BASE}, 1 stream": ("baseline", 1, []),
    "ours, 1 stream": ("ours", 1, []),
    f"{BASE}, 100 streams": ("baseline", 100, []),
    "ours, 100 streams (multi-stream appends)": ("ours", 100, []),
    'ours, 100 streams, multi_stream="never"': ("ours", 100, ["--multi-stream", "never"]),
}
BASELINES = {
    "ours, 1 stream": f"{BASE}, 1 stream",
    f"{BASE}, 1 stream": f"{BASE}, 1 stream",
    f"{BASE}, 100 streams": f"{BASE}, 100 streams",
    "ours, 100 streams (multi-stream appends)": f"{BASE}, 100 streams",
    'ours, 100 streams, multi_stream="never"': f"{BASE}, 100 streams",
}
GOALS = {"ours, 1 stream": 40.0, "ours, 100 streams (multi-stream appends)": 25.0}
PACKAGES_OURS = ["plumberd-logging", "kurrentdbclient", "grpcio", "protobuf"]
PACKAGES_BASE = ["py-micro-plumberd", "esdbclient", "grpcio", "protobuf", "pydantic"]


# -- workers (run in the subprocesses) -----------------------------------------------------------


def _stream_names(streams: int, events: int, prefix: str) -> list[str]:
    return [f"{prefix}-{i % streams}" for i in range(events)]


def _ours(url: str, streams: int, events: int, multi_stream: str, profile: str | None) -> None:
    from plumberd_logging import EventStoreClient
    from plumberd_logging.writer import EventWriter

    order_placed = order_placed_class()
    payload = [
        order_placed(order_id=f"order-{i}", amount=12.5 + i, currency="EUR") for i in range(events)
    ]
    names = _stream_names(streams, events, "OrderBench")
    writer = EventWriter(url, multi_stream="never" if multi_stream == "never" else "auto")
    profiler = _profile_writer_thread(writer) if profile else None
    calls = _count_calls(writer._client, ["append_encoded", "multi_append_encoded"])
    writer.submit("Warmup-1", order_placed(order_id="w", amount=1.0, currency="EUR"))
    if not writer.flush(30):
        raise RuntimeError("warm-up event not delivered within 30 s")
    before = writer.stats()
    calls.clear()
    submit = writer.submit
    gc.collect()  # the prebuilt events to the old generation first, as bench_handler does
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    for name, event in zip(names, payload, strict=True):
        submit(name, event)
    submitted = time.perf_counter()
    if not writer.flush(300):
        raise RuntimeError(f"flush timed out: {writer.stats()}")
    end = time.perf_counter()
    cpu = cpu_seconds() - cpu0
    stats = writer.stats()
    writer.close()
    if profiler is not None:
        profiler.dump_stats(profile)
    with EventStoreClient(url) as client:
        stored = 0
        for name in dict.fromkeys(names):
            revision = client.stream_revision(name)
            stored += 0 if revision is None else revision + 1
    _emit(
        events,
        end - start,
        cpu,
        PACKAGES_OURS,
        {
            "submit_s": submitted - start,
            "stored": stored,
            "stream_batches": stats.batches - before.batches,
            "append_calls": calls["append_encoded"],
            "multi_append_calls": calls["multi_append_encoded"],
            "retries": stats.retries,
            "dropped": sum(stats.dropped.values()),
            "dead_lettered": sum(stats.dead_lettered.values()),
            "multi_stream": writer._multi,  # True once a multi-stream append worked
            "library": _library(),
        },
    )


def _library() -> str:
    """The folder ``plumberd_logging`` was imported from (``--against`` checks it)."""
    import plumberd_logging

    return str(Path(plumberd_logging.__file__).parent.parent)


def _count_calls(client: Any, methods: list[str]) -> collections.Counter[str]:
    """Count calls of ``client``'s ``methods`` (instance attributes wrapping the originals)."""
    counts: collections.Counter[str] = collections.Counter()

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return method(*args, **kwargs)

        return call

    for name in methods:
        setattr(client, name, counted(name, getattr(client, name)))
    return counts


def _profile_writer_thread(writer: Any) -> Any:
    """cProfile the writer's thread only (wraps this writer worker's ``_run``)."""
    import cProfile

    profiler = cProfile.Profile()
    run = writer._worker._run

    def profiled() -> None:
        profiler.enable()
        try:
            run()
        finally:
            profiler.disable()

    writer._worker._run = profiled
    return profiler


def _baseline(url: str, streams: int, events: int) -> None:
    from py_micro_plumberd import (  # type: ignore[import-not-found]
        Event,
        EventStoreClient,
        StreamName,
    )

    class OrderPlaced(Event):  # type: ignore[misc]  # its documented annotated-field style
        order_id: str
        amount: float
        currency: str

    payload = [
        OrderPlaced(order_id=f"order-{i}", amount=12.5 + i, currency="EUR") for i in range(events)
    ]
    names = [StreamName("OrderBench", str(i % streams)) for i in range(events)]
    client = EventStoreClient(url)
    client.append_to_stream(
        StreamName("Warmup", "1"), OrderPlaced(order_id="w", amount=1.0, currency="EUR")
    )
    append = client.append_to_stream
    gc.collect()  # as ours
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    for name, event in zip(names, payload, strict=True):
        append(name, event)
    end = time.perf_counter()
    cpu = cpu_seconds() - cpu0
    stored = 0
    for name in dict.fromkeys(str(n) for n in names):
        revision = client._client.get_current_version(name)
        stored += revision + 1 if isinstance(revision, int) else 0
    client.close()
    _emit(events, end - start, cpu, PACKAGES_BASE, {"stored": stored, "append_calls": events})


def _emit(
    events: int, seconds: float, cpu: float, packages: list[str], extra: dict[str, Any]
) -> None:
    from _harness import emit

    emit(
        {
            "events_per_s": events / seconds,
            "seconds": seconds,
            "events": events,
            "client_cpu_us_per_event": cpu / events * 1e6,
        },
        packages=packages,
        extra=extra,
    )


# -- parent --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per configuration")
    parser.add_argument("--events", type=int, default=50_000, help="events per run, ours")
    parser.add_argument("--base-events", type=int, default=1_500, help="events per run, baseline")
    parser.add_argument("--profile", action="store_true", help="profile our writer thread once")
    parser.add_argument("--save", help="also write the raw results as JSON here")
    parser.add_argument(
        "--against", metavar="COMMIT", help="our rows only, side by side with COMMIT's library"
    )
    parser.add_argument("--worker", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--streams", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--multi-stream", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "ours":
        use_tree()
        _ours(args.url, args.streams, args.events, args.multi_stream, args.profile_to)
        return 0
    if args.worker == "baseline":
        _baseline(args.url, args.streams, args.events)
        return 0
    if args.profile:
        return _profile(args)
    if args.against:
        return _against_run(args)

    from _baseline import baseline_python

    pythons = {"ours": sys.executable, "baseline": str(baseline_python())}
    configs = []
    for name, (side, streams, extra) in CONFIGS.items():
        events = args.events if side == "ours" else args.base_events
        command = [
            pythons[side],
            str(__file__),
            "--worker",
            side,
            "--url",
            "{url}",
            "--streams",
            str(streams),
            "--events",
            str(events),
            *extra,
        ]
        configs.append(Config(name, served(command)))
    info = machine_info()
    runs = run_interleaved(configs, args.rounds)
    save(args.save, runs)
    print(report(runs, info))
    return 0


def report(runs: dict[str, list[dict[str, Any]]], info: dict[str, str]) -> str:
    """The README section body: the table, goals, command, machine, versions, checks."""
    lines = [
        "### End-to-end throughput, server in another process",
        "",
        f"Events/s (higher is better); {max(len(r) for r in runs.values())} rounds, "
        "configurations interleaved, each run a fresh client process against a fresh server "
        "process; ratio = our median / the baseline's median for the same streams "
        "(per-round ratios pair runs of the same round).",
        "",
        *table(
            runs,
            [
                Column("events_per_s", "events/s", ratio=True),
                Column("client_cpu_us_per_event", "client CPU µs/event"),
                Column("server_cpu_s", "server CPU s/run"),
            ],
            baselines=BASELINES,
        ),
        "",
    ]
    for name, goal in GOALS.items():
        base = BASELINES[name]
        ours = sorted(r["events_per_s"] for r in runs[name])[len(runs[name]) // 2]
        theirs = sorted(r["events_per_s"] for r in runs[base])[len(runs[base]) // 2]
        verdict = "met" if ours / theirs >= goal else "MISSED"
        lines.append(f"- goal for `{name}`: >= {goal:g}x: {ours / theirs:.1f}x, {verdict}")
    lines += ["", "Command:", "", "```bash", command_line(), "```", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += versions(runs)
    checks = []
    for name, results in runs.items():
        lost = [r["events"] - r["stored"] for r in results]
        extra = ""
        if "retries" in results[0]:
            extra = (
                f", per run: stream batches (stats().batches) "
                f"{[r['stream_batches'] for r in results]}, append calls "
                f"{[r['append_calls'] for r in results]}, multi-stream append calls "
                f"{[r['multi_append_calls'] for r in results]}, retries "
                f"{[r['retries'] for r in results]}, dropped {[r['dropped'] for r in results]}, "
                f"submit phase s {[round(r['submit_s'], 2) for r in results]}"
            )
        checks.append(f"- `{name}`: events missing on the server per run {lost}{extra}")
    lines += ["", "Checks:", "", *checks, *stderr_notes(runs)]
    return "\n".join(lines) + "\n"


def _our_command(streams: int, events: int, extra: list[str]) -> list[str]:
    return served(
        [
            sys.executable,
            str(__file__),
            "--worker",
            "ours",
            "--url",
            "{url}",
            "--streams",
            str(streams),
            "--events",
            str(events),
            *extra,
        ]
    )


def _against_run(args: argparse.Namespace) -> int:
    """Our rows on the current tree and on ``--against COMMIT``, interleaved (issue #11)."""
    ours = [
        Config(name, _our_command(streams, args.events, extra))
        for name, (side, streams, extra) in CONFIGS.items()
        if side == "ours"
    ]
    with older_tree(args.against) as (commit, folder):
        configs, twins = against(ours, commit, folder)
        info = machine_info()
        runs = run_interleaved(configs, args.rounds)
    save(args.save, runs)
    print(report_against(runs, info, twins, commit))
    return 0


def report_against(
    runs: dict[str, list[dict[str, Any]]], info: dict[str, str], twins: dict[str, str], commit: str
) -> str:
    """Now vs ``commit``: events/s and client CPU per event, ratios against the older commit."""
    lines = [
        f"### The writer now and at {commit}, server in another process",
        "",
        f"{max(len(r) for r in runs.values())} rounds, configurations interleaved, each run a "
        "fresh client process (the same benchmark body; the older library imported from a "
        "`git worktree` of the commit) against a fresh server process; ratio = median / the "
        f"median of the same row at {commit} (events/s: higher is better; client CPU: lower).",
        "",
        *table(
            runs,
            [
                Column("events_per_s", "events/s", ratio=True),
                Column("client_cpu_us_per_event", "client CPU µs/event", ratio=True),
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
        *[
            f"- load (1 min) of `{name}` per run: "
            f"{[round(r['load'][0], 1) for r in results if 'load' in r]}"
            for name, results in runs.items()
        ],
        "",
        "Checks:",
        "",
        *[
            f"- `{name}`: events missing on the server per run "
            f"{[r['events'] - r['stored'] for r in results]}; library imported from "
            f"{sorted({r['library'] for r in results})}"
            for name, results in runs.items()
        ],
        *stderr_notes(runs),
    ]
    return "\n".join(lines) + "\n"


def _profile(args: argparse.Namespace) -> int:
    """One profiled run of each of our configurations; prints the top of each profile."""
    import pstats
    import subprocess
    import tempfile

    for name, (side, streams, extra) in CONFIGS.items():
        if side != "ours":
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "writer.prof")
            command = [
                sys.executable,
                str(__file__),
                "--worker",
                "ours",
                "--url",
                "{url}",
                "--streams",
                str(streams),
                "--events",
                str(args.events),
                "--profile-to",
                out,
                *extra,
            ]
            subprocess.run(served(command), check=True, capture_output=True)
            print(f"## {name}: writer thread, by cumulative time\n")
            pstats.Stats(out).sort_stats("cumulative").print_stats(30)
            print(f"## {name}: writer thread, by own time\n")
            pstats.Stats(out).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
