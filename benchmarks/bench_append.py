"""Appends per second through the real kurrentdbclient, the server in another process.

    python benchmarks/bench_append.py                 # 5 rounds, about 45 s on 2 cores
    python benchmarks/bench_append.py --rounds 9 --save benchmarks/results/append.json

The parent starts ``python -m plumberd_logging.testing`` once (``ServerProcess``); every run is
a fresh client process appending to a stream of its own, for three configurations, interleaved:
one event per call through ``Streams.Append`` (``events=NewEvent``), one event per call through
``Streams.BatchAppend`` (``events=[NewEvent]``), and 100 events per call through BatchAppend.
Each run reports events per second (best of ``--repeat`` timed loops); the table shows the
medians of the runs and the ratio to one-event ``Append``, so the batch/single ratio is the
last row's ratio.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from uuid import uuid4

from _harness import Config, emit, markdown_report, python_command, run_interleaved, time_per_call

METRIC = "events_per_s"
PACKAGES = ["kurrentdbclient", "grpcio", "protobuf", "plumberd-logging"]

# name -> (worker name, events per call)
CONFIGS = {
    "1 per call, events=NewEvent (Append)": ("single-append", 1),
    "1 per call, events=[NewEvent] (BatchAppend)": ("single-batch", 1),
    "100 per call (BatchAppend)": ("batch-100", 100),
}
BASELINE = "1 per call, events=NewEvent (Append)"
DATA = b'{"OrderId":"4f6c2a1e-0000-4c5e-8f70-1a2b3c4d5e6f","Amount":49.99,"Currency":"EUR"}'
METADATA = b'{"Created":"2026-11-26T10:00:00Z","$correlationId":"c-1"}'


# -- worker (runs in the subprocesses) -----------------------------------------------------------


def _worker(name: str, url: str, min_time: float, repeat: int) -> None:
    from kurrentdbclient import KurrentDBClient, NewEvent, StreamState

    per_call = next(n for worker, n in CONFIGS.values() if worker == name)
    stream = f"bench-{name}-{uuid4().hex[:8]}"
    client = KurrentDBClient(url)
    try:

        def one_event() -> NewEvent:
            return NewEvent(type="OrderPlaced", data=DATA, metadata=METADATA)

        append: Callable[[], object]
        if name == "single-append":

            def append() -> object:
                return client.append_to_stream(
                    stream, current_version=StreamState.ANY, events=one_event()
                )

        else:

            def append() -> object:
                events = [one_event() for _ in range(per_call)]
                return client.append_to_stream(
                    stream, current_version=StreamState.ANY, events=events
                )

        seconds = time_per_call(append, min_time=min_time, repeat=repeat)
        written = client.get_current_version(stream)
    finally:
        client.close()
    emit(
        {METRIC: per_call / seconds, "us_per_call": seconds * 1e6},
        packages=PACKAGES,
        extra={"events_written": 1 + int(written) if isinstance(written, int) else 0},
    )


# -- parent ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per timed loop")
    parser.add_argument("--repeat", type=int, default=3, help="timed loops per run (best kept)")
    parser.add_argument("--save", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument(
        "--worker", choices=[w for w, _ in CONFIGS.values()], help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        _worker(args.worker, args.url, args.min_time, args.repeat)
        return 0

    from _harness import machine_info

    from plumberd_logging.testing import ServerProcess

    info = machine_info()
    with ServerProcess() as server:
        configs = [
            Config(
                name,
                python_command(
                    sys.executable,
                    __file__,
                    "--worker",
                    worker,
                    "--url",
                    server.url,
                    "--min-time",
                    str(args.min_time),
                    "--repeat",
                    str(args.repeat),
                ),
            )
            for name, (worker, _) in CONFIGS.items()
        ]
        runs = run_interleaved(configs, rounds=args.rounds)
    if args.save:
        import json
        from pathlib import Path

        Path(args.save).write_text(json.dumps(runs, indent=2), encoding="utf-8")
    print(
        markdown_report(
            "Appends per second, server in another process",
            runs,
            metric=METRIC,
            unit="events/s",
            baseline=BASELINE,
            lower_is_better=False,
            info=info,
            notes=[
                "Server: `python -m plumberd_logging.testing` (in-process test server) in its "
                "own process; client: kurrentdbclient in a fresh process per run, "
                "`current_version=StreamState.ANY`, an 80-byte JSON body and 57 bytes of "
                "metadata per event."
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
