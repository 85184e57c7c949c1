"""Encoding cost of the G1 event (wire-format.md §10): ours versus py-micro-plumberd 0.1.9.

    python benchmarks/bench_encode.py                 # 7 rounds, about 40 s on 2 cores
    python benchmarks/bench_encode.py --rounds 15 --save benchmarks/results/encode.json

Ours is ``plumberd_logging.codec.encode(event)`` (event id, type, data and metadata bytes).
The baseline is what py-micro-plumberd's ``EventStoreClient.append_to_stream`` does before it
builds the ``NewEvent`` (no network): ``event.__class__.__name__``,
``Metadata.default().enrich(str(event.id).lower())``, ``json.dumps(model_dump(by_alias=True))``
and ``json.dumps(metadata)``, in its own venv (see ``_baseline.py``). Both sides encode the
same, already built event; the ``+ construct`` rows also build it each time. Each run is a fresh
process reporting µs per event (best of ``--repeat`` loops); the table shows medians of runs.

The cold row defeats every cache: 20,000 distinct events (new ids and values) built before the
timed loop, each encoded once with a ``created`` time one second after the previous one (so the
per-second ``Created`` text is formatted anew every time); µs per event over the whole loop.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from _harness import Config, emit, markdown_report, python_command, run_interleaved, time_per_call

G1_ID = UUID("9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f")
G1_FIELDS: dict[str, Any] = {
    "recording_id": "rec-123",
    "duration": 120.5,
    "file_path": "/recordings/rec-123.mp4",
}
G1_DATA = (
    '{"Id":"9f2c6a1e-3b4d-4c5e-8f70-1a2b3c4d5e6f","RecordingId":"rec-123",'
    '"Duration":120.5,"FilePath":"/recordings/rec-123.mp4"}'
)
METRIC = "us_per_event"

# name -> (worker, which python: "ours" or "baseline")
WORKERS = {
    "ours: encode": ("ours", "ours"),
    "py-micro-plumberd 0.1.9: serialize": ("baseline", "baseline"),
    "ours: construct + encode": ("ours-construct", "ours"),
    "py-micro-plumberd 0.1.9: construct + serialize": ("baseline-construct", "baseline"),
    "ours: cold (a fresh event each call, each in a new second)": ("ours-cold", "ours"),
}
BASELINE = "py-micro-plumberd 0.1.9: serialize"


# -- workers (run in the subprocesses) -----------------------------------------------------------


def _ours(construct: bool) -> tuple[Callable[[], object], dict[str, str]]:
    from plumberd_logging import Event
    from plumberd_logging.codec import encode

    class RecordingFinished(Event):
        recording_id: str
        duration: float
        file_path: str

    class RecordingFinishedReadme(Event, event_type="RecordingFinished"):
        def __init__(self, recording_id: str, duration: float, file_path: str) -> None:
            super().__init__(id=G1_ID)
            self.recording_id = recording_id
            self.duration = duration
            self.file_path = file_path

    event = RecordingFinished(id=G1_ID, **G1_FIELDS)
    sample = encode(event)
    readme = encode(RecordingFinishedReadme(**G1_FIELDS))
    extra = {
        "type": sample.type,
        "event_id": str(sample.id),
        "data": sample.data.decode(),
        "metadata": sample.metadata.decode(),
        "readme_style_data": readme.data.decode(),
    }
    if construct:
        return lambda: encode(RecordingFinished(id=G1_ID, **G1_FIELDS)), extra
    return lambda: encode(event), extra


def _baseline(construct: bool) -> tuple[Callable[[], object], dict[str, str]]:
    from py_micro_plumberd import Event, Metadata  # type: ignore[import-not-found]

    class RecordingFinished(Event):  # type: ignore[misc]  # the documented annotated style
        recording_id: str
        duration: float
        file_path: str

    class RecordingFinishedReadme(Event):  # type: ignore[misc]  # the README's __init__ style
        def __init__(self, recording_id: str, duration: float, file_path: str) -> None:
            super().__init__(id=G1_ID)
            self.recording_id = recording_id
            self.duration = duration
            self.file_path = file_path

    def serialize(event: Any) -> tuple[str, bytes, bytes]:
        # py_micro_plumberd 0.1.9 client.py, EventStoreClient.append_to_stream, minus NewEvent
        event_type = event.__class__.__name__
        metadata = Metadata.default()
        enriched_metadata = metadata.enrich(str(event.id).lower())
        event_data = event.model_dump(by_alias=True)
        data = json.dumps(event_data).encode("utf-8")
        meta = json.dumps(enriched_metadata).encode("utf-8")
        return event_type, data, meta

    event = RecordingFinished(id=G1_ID, **G1_FIELDS)
    event_type, data, meta = serialize(event)
    extra = {
        "type": event_type,
        "event_id": "random uuid4 (NewEvent is built without id=)",
        "data": data.decode(),
        "metadata": meta.decode(),
        "readme_style_data": serialize(RecordingFinishedReadme(**G1_FIELDS))[1].decode(),
    }
    if construct:
        return lambda: serialize(RecordingFinished(id=G1_ID, **G1_FIELDS)), extra
    return lambda: serialize(event), extra


def _ours_cold(count: int = 20_000) -> float:
    """Seconds per encode of ``count`` distinct, never-seen events, each in a new second."""
    import gc
    import time
    from uuid import uuid4

    from plumberd_logging import Event
    from plumberd_logging.codec import encode

    class RecordingFinished(Event):
        recording_id: str
        duration: float
        file_path: str

    events = [
        RecordingFinished(
            id=uuid4(), recording_id=f"rec-{i}", duration=i + 0.5, file_path=f"/rec/{i}.mp4"
        )
        for i in range(count)
    ]
    encode(RecordingFinished(recording_id="w", duration=1.0, file_path="/w"))  # imports
    base = float(int(time.time()) - 10 * count)
    gc.collect()
    start = time.perf_counter()
    for i, event in enumerate(events):
        encode(event, created=base + i + 0.25)
    return (time.perf_counter() - start) / count


def run_worker(kind: str, *, min_time: float, repeat: int) -> None:
    """Measure one configuration in this process and print its JSON result line."""
    construct = kind.endswith("-construct")
    if kind == "ours-cold":
        emit({METRIC: _ours_cold() * 1e6}, packages=["plumberd-logging"])
        return
    if kind.startswith("ours"):
        fn, extra = _ours(construct)
        packages = ["plumberd-logging"]
    else:
        fn, extra = _baseline(construct)
        packages = ["py-micro-plumberd", "pydantic", "pydantic-core"]
    seconds = time_per_call(fn, min_time=min_time, repeat=repeat)
    emit({METRIC: seconds * 1e6}, packages=packages, extra=extra)


# -- parent --------------------------------------------------------------------------------------


def correctness_notes(runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What each side writes for G1, checked against the golden body."""
    golden = json.loads(G1_DATA)
    notes = ["Output for G1 (correctness, not timed):", ""]
    for name in ("ours: encode", BASELINE):
        r = runs[name][-1]
        same = json.loads(r["data"]) == golden
        readme = json.loads(r["readme_style_data"])
        readme_ok = readme == golden
        notes += [
            f"- `{name}`: type `{r['type']}`, event id {r['event_id']}; "
            f"data {'equals' if same else 'DIFFERS FROM'} golden G1 (key order and spacing aside):",
            f"  `{r['data']}`",
            f"  metadata: `{r['metadata']}`",
            f"  README `__init__` style event -> keys {list(readme)} "
            f"({'PascalCase, matches G1' if readme_ok else 'NOT what C# reads'})",
        ]
    return notes


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the parent, or as one worker with ``--worker``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs per configuration")
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per timed loop")
    parser.add_argument("--repeat", type=int, default=5, help="timed loops per run (best kept)")
    parser.add_argument("--no-construct", action="store_true", help="skip the construct rows")
    parser.add_argument("--save", type=Path, help="also write the raw results as JSON here")
    parser.add_argument("--worker", choices=sorted({w for w, _ in WORKERS.values()}))
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, min_time=args.min_time, repeat=args.repeat)
        return 0

    from _baseline import baseline_python
    from _harness import machine_info

    pythons = {"ours": sys.executable, "baseline": str(baseline_python())}
    timing = ["--min-time", str(args.min_time), "--repeat", str(args.repeat)]
    configs = [
        Config(name, python_command(pythons[which], __file__, "--worker", worker, *timing))
        for name, (worker, which) in WORKERS.items()
        if not (args.no_construct and worker.endswith("-construct"))
    ]
    info = machine_info()
    runs = run_interleaved(configs, args.rounds)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    print(
        markdown_report(
            "Encoding a G1 event",
            runs,
            metric=METRIC,
            unit="µs per event",
            baseline=BASELINE,
            info=info,
            notes=correctness_notes(runs),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
