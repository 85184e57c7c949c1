"""Building append requests: ``_wire``'s bytes versus kurrentdbclient's per-event objects.

    python benchmarks/bench_wire.py                 # 5 rounds, about 20 s on 2 cores
    python benchmarks/bench_wire.py --rounds 9 --save benchmarks/results/wire.json

The same 500 encoded 3-field events become one serialized ``BatchAppendReq`` (one stream) and
one v2 ``AppendRequest`` (a multi-stream append's part for one stream): ours writes the bytes
(``plumberd_logging._wire``); the baseline is what kurrentdbclient 1.3 does behind
``append_to_stream`` / ``multi_append_to_stream``: a ``NewEvent`` per event, its generated
protobuf messages, then ``SerializeToString``. No network. µs per event, best of 5 loops, each
run a fresh process; ``tests/core/test_wire.py`` proves both produce the same request.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from _harness import Config, emit, markdown_report, python_command, run_interleaved, time_per_call

METRIC = "us_per_event"
EVENTS = 500
# name -> worker
WORKERS = {
    "kurrentdbclient: BatchAppendReq (NewEvent + protobuf)": "kdb-batch",
    "ours: BatchAppendReq bytes (_wire)": "ours-batch",
    "kurrentdbclient: v2 AppendRequest (NewEvents + protobuf)": "kdb-v2",
    "ours: v2 AppendRequest bytes (_wire)": "ours-v2",
}
BASELINE = "kurrentdbclient: BatchAppendReq (NewEvent + protobuf)"


def _work(kind: str) -> Callable[[], object]:
    from plumberd_logging import Event
    from plumberd_logging.codec import CONTENT_TYPE, encode
    from plumberd_logging.streams import ANY

    class OrderPlaced(Event):
        order_id: str
        amount: float
        currency: str

    events = [
        encode(OrderPlaced(order_id=f"o-{i}", amount=12.5 + i, currency="EUR"))
        for i in range(EVENTS)
    ]
    if kind.startswith("ours"):
        from plumberd_logging import _wire

        if kind == "ours-batch":
            return lambda: _wire.batch_append_request(
                "Order-1", ANY, events, correlation_id=uuid4(), timeout=5.0
            )
        return lambda: _wire.multi_append_request("Order-1", ANY, events)
    from kurrentdbclient import NewEvent, NewEvents, StreamState
    from kurrentdbclient.streams import BaseStreamsService
    from kurrentdbclient.v2streams import AppendRequestIterator

    def new() -> list[NewEvent]:
        return [
            NewEvent(
                type=e.type, data=e.data, metadata=e.metadata, content_type=CONTENT_TYPE, id=e.id
            )
            for e in events
        ]

    if kind == "kdb-batch":
        return lambda: BaseStreamsService._construct_batch_append_req(
            "Order-1", StreamState.ANY, new(), uuid4(), 5.0
        ).SerializeToString()
    return lambda: next(
        AppendRequestIterator([NewEvents("Order-1", new(), StreamState.ANY)])
    ).SerializeToString()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per configuration")
    parser.add_argument("--save", type=Path, help="also write the raw results as JSON here")
    parser.add_argument("--worker", choices=sorted(WORKERS.values()))
    args = parser.parse_args(argv)
    if args.worker:
        seconds = time_per_call(_work(args.worker), min_time=0.1, repeat=5)
        emit(
            {METRIC: seconds / EVENTS * 1e6},
            packages=["plumberd-logging", "kurrentdbclient", "protobuf"],
        )
        return 0
    configs = [
        Config(name, python_command(sys.executable, __file__, "--worker", worker))
        for name, worker in WORKERS.items()
    ]
    runs = run_interleaved(configs, args.rounds)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    print(markdown_report("Building append requests", runs, metric=METRIC, unit="µs per event",
                          baseline=BASELINE))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
