"""Run every benchmark and regenerate the performance tables from their saved results.

    python benchmarks/report.py              # run the suite (~6 min on 2 cores), save, render
    python benchmarks/report.py --render     # only re-render from benchmarks/results.json
    python benchmarks/report.py --check      # exit 1 when a committed table is stale

The suite runs each benchmark script (each runs its configurations interleaved, in fresh
processes, side by side with its baseline); the raw results of one suite run go to
``benchmarks/results/<name>.json`` (git-ignored) and, merged with the machine, the load before
and after each benchmark and the exact commands, to ``benchmarks/results.json`` (committed: the
source of the tables). The tables are written between ``<!-- perf-table:start -->`` and
``<!-- perf-table:end -->`` in ``benchmarks/README.md`` and ``docs/performance.md``;
``tests/test_perf_tables.py`` checks that they equal what this script renders.

Rendering imports nothing but the standard library.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
RAW = ROOT / "benchmarks" / "results"
DOCS = [ROOT / "benchmarks" / "README.md", ROOT / "docs" / "performance.md"]
START, END = "<!-- perf-table:start -->", "<!-- perf-table:end -->"

# name -> (script, arguments): the whole suite, about 6 minutes on 2 cores. The live rows take
# 9 rounds: with 3, two runs on a quiet machine gave 3.8 and 6.5 µs for the same caller row,
# and with 5 a run's rounds still spread ±30% around the median (2026-12-04)
SUITE: dict[str, tuple[str, list[str]]] = {
    "encode": ("bench_encode.py", ["--rounds", "5"]),
    "wire": ("bench_wire.py", ["--rounds", "5"]),
    "handler": (
        "bench_handler.py",
        [
            "--rounds",
            "9",
            "--calls",
            "20000",
            "--only",
            "null",
            "null-extra",
            "queue",
            "otel",
            "capture",
            "tagged",
        ],
    ),
    "structlog": ("bench_structlog.py", ["--rounds", "9", "--calls", "20000", "--only", "capture"]),
    "emits": ("bench_emits.py", ["--live", "--rounds", "9", "--calls", "20000"]),
    "writer": ("bench_writer.py", ["--rounds", "9", "--events", "30000"]),
}

# (label, benchmark, configuration, baseline configuration, goal: caller µs, total µs)
ENTRY_ROWS: list[tuple[str, str, str, str, float | None, float | None]] = [
    (
        "handler, `capture_logs=True`, untagged line",
        "handler",
        "ours, capture_logs=True, untagged lines",
        "NullHandler",
        3.0,
        12.0,
    ),
    (
        "handler, tagged event (`extra={'event': OrderPlaced}`)",
        "handler",
        "ours, capture_logs=False, tagged lines (extra={'event': OrderPlaced})",
        "NullHandler, call with extra={'event': ...}",
        None,
        15.0,
    ),
    (
        "structlog processor, `capture_logs=True`",
        "structlog",
        "with EventStoreProcessor, capture_logs=True",
        "structlog chain, without our processor",
        3.0,
        12.0,
    ),
    (
        "`@emits`, 3 fields",
        "emits",
        "@emits, class stream rule, writer live",
        "undecorated function, server running",
        6.0,
        15.0,
    ),
    (
        "reference: stdlib `QueueHandler` + `QueueListener` (no-op handler)",
        "handler",
        "stdlib QueueHandler(SimpleQueue) -> QueueListener -> no-op handler",
        "NullHandler",
        None,
        None,
    ),
    (
        "reference: OpenTelemetry `BatchLogRecordProcessor` (no-op exporter)",
        "handler",
        "OpenTelemetry LoggingHandler + BatchLogRecordProcessor (defaults) + no-op exporter",
        "NullHandler",
        None,
        None,
    ),
]

# (label, configuration, baseline, goal: client CPU µs/event, goal: throughput ratio)
WRITER_ROWS = [
    ("1 stream", "ours, 1 stream", "py-micro-plumberd 0.1.9, 1 stream", 8.0, 40.0),
    (
        "100 streams",
        "ours, 100 streams (multi-stream appends)",
        "py-micro-plumberd 0.1.9, 100 streams",
        12.0,
        25.0,
    ),
    (
        '100 streams, `multi_stream="never"`',
        'ours, 100 streams, multi_stream="never"',
        "py-micro-plumberd 0.1.9, 100 streams",
        None,
        None,
    ),
]


# -- rendering (pure: results in, markdown out) --------------------------------------------------


def _values(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in runs if isinstance(r.get(key), int | float)]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _over(runs: list[dict[str, Any]], base: list[dict[str, Any]], key: str) -> float | None:
    ours, theirs = _median(_values(runs, key)), _median(_values(base, key))
    return None if ours is None or theirs is None else ours - theirs


def _load(runs: list[dict[str, Any]]) -> str:
    loads = [float(r["load"][0]) for r in runs if r.get("load")]
    return f"{statistics.median(loads):.1f}" if loads else "—"


def _verdict(value: float | None, goal: float | None, *, at_least: bool = False) -> str:
    if goal is None or value is None:
        return ""
    met = value >= goal if at_least else value <= goal
    return " ✓" if met else " ✗"


def _delivered(runs: list[dict[str, Any]], total: str, done: str) -> str:
    pairs = [(int(r[done]), int(r[total])) for r in runs if done in r and total in r]
    if not pairs or any(d < 0 for d, _ in pairs):
        return "—"
    return f"{sum(d for d, _ in pairs):,} / {sum(t for _, t in pairs):,}"


def render(results: dict[str, Any]) -> str:
    """The markdown put between the markers (a pure function of ``results``)."""
    benches: dict[str, Any] = results.get("benchmarks", {})
    meta: dict[str, Any] = results.get("meta", {})
    lines = [
        f"Measured on {meta.get('cpus', '?')}, CPython {meta.get('python', '?')} "
        "(each benchmark's date and commit are under Commands). "
        "Medians over rounds; every figure next to its baseline from the same run; "
        "✓/✗ against the goal of issue #12. Regenerate: `python benchmarks/report.py`.",
        "",
        "**Entry points, writer live, server in another process** (µs per event; "
        '"over" = our median minus the baseline\'s median in the same run):',
        "",
        "| entry point | caller thread CPU over baseline | process CPU per delivered event "
        "over baseline | delivered / attempted | goal (caller / total) | load (1 min) |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for label, bench, name, base, goal_caller, goal_total in ENTRY_ROWS:
        runs = benches.get(bench, {}).get("runs", {})
        if name not in runs or base not in runs:
            lines.append(f"| {label} | not run | | | | |")
            continue
        caller = _over(runs[name], runs[base], "caller_cpu_us")
        total = _over(runs[name], runs[base], "total_cpu_us")
        goal = (
            "reference"
            if goal_caller is None and goal_total is None
            else f"{'≤ ' + _num(goal_caller, 0) if goal_caller else '—'} / ≤ {_num(goal_total, 0)}"
        )
        lines.append(
            f"| {label} | {_num(caller, 2)}{_verdict(caller, goal_caller)} | "
            f"{_num(total, 1)}{_verdict(total, goal_total)} | "
            f"{_delivered(runs[name], 'attempted', 'delivered')} | {goal} | {_load(runs[name])} |"
        )
    lines += [
        "",
        "**Writer alone** (`EventWriter.submit` then `flush()`, 3-field events; "
        "client CPU = the whole client process per delivered event):",
        "",
        "| streams | events/s, ours | events/s, py-micro-plumberd 0.1.9 | ratio | client CPU "
        "µs/event, ours | stored / submitted | goal (CPU / ratio) | load (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    wruns = benches.get("writer", {}).get("runs", {})
    for label, name, base, goal_cpu, goal_ratio in WRITER_ROWS:
        if name not in wruns or base not in wruns:
            lines.append(f"| {label} | not run | | | | | | |")
            continue
        ours = _median(_values(wruns[name], "events_per_s"))
        theirs = _median(_values(wruns[base], "events_per_s"))
        ratio = ours / theirs if ours and theirs else None
        cpu = _median(_values(wruns[name], "client_cpu_us_per_event"))
        goal = f"≤ {_num(goal_cpu, 0)} / ≥ {_num(goal_ratio, 0)}x" if goal_cpu else "—"
        lines.append(
            f"| {label} | {_num(ours, 0)} | {_num(theirs, 0)} | "
            f"{_num(ratio, 1)}x{_verdict(ratio, goal_ratio, at_least=True)} | "
            f"{_num(cpu, 1)}{_verdict(cpu, goal_cpu)} | "
            f"{_delivered(wruns[name], 'events', 'stored')} | {goal} | {_load(wruns[name])} |"
        )
    lines += _single_table(
        "**Encoding one G1 event** (no network; µs per event, caller thread):",
        benches.get("encode", {}).get("runs", {}),
        "us_per_event",
        "py-micro-plumberd 0.1.9: serialize",
    )
    lines += _single_table(
        "**Building the append request of 500 encoded events** (no network; µs per event):",
        benches.get("wire", {}).get("runs", {}),
        "us_per_event",
        "kurrentdbclient: BatchAppendReq (NewEvent + protobuf)",
    )
    lines += [
        "",
        "Commands (from the repository root; date, commit, load before → after, and the speed "
        "probe before → after: ms of CPU for a fixed pure-Python loop in a fresh process, lower "
        "is faster; compare runs by it, this machine's speed moves between runs):",
        "",
    ]
    for name, bench in benches.items():
        before, after = bench.get("load_before"), bench.get("load_after")
        load = f", load {before[0]:.1f} → {after[0]:.1f}" if before and after else ""
        probe = bench.get("probe_ms") or [None, None]
        speed = f", probe {probe[0]:.0f} → {probe[1]:.0f} ms" if None not in probe else ""
        when = f"{bench.get('date', '?')}, `{bench.get('commit', '?')}`"
        lines.append(f"- {name}: `{bench.get('command', '?')}` ({when}{load}{speed})")
    return "\n".join(lines) + "\n"


def _single_table(
    title: str, runs: dict[str, list[dict[str, Any]]], metric: str, baseline: str
) -> list[str]:
    """One metric per configuration, with its ratio to ``baseline`` (nothing when not run)."""
    if not runs:
        return []
    lines = [
        "",
        title,
        "",
        f"| configuration | median µs | ratio to `{baseline}` | load (1 min) |",
        "| --- | ---: | ---: | ---: |",
    ]
    base = _median(_values(runs.get(baseline, []), metric))
    for name, results in runs.items():
        value = _median(_values(results, metric))
        ratio = value / base if value is not None and base else None
        lines.append(f"| {name} | {_num(value, 2)} | {_num(ratio, 2)}x | {_load(results)} |")
    return lines


def replace_section(text: str, block: str) -> str:
    """``text`` with what is between the markers replaced by ``block``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {START} ... {END} are missing")
    return text[: start + len(START)] + "\n" + block + text[end:]


def section(text: str) -> str:
    """What is between the markers of ``text``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {START} ... {END} are missing")
    return text[start + len(START) + 1 : end]


# -- running -------------------------------------------------------------------------------------


# A fixed pure-Python workload (dict and str churn, as the hot paths do), timed in a fresh
# process before and after each benchmark: the same C code took 0.10 µs on this machine one
# day and 0.13-0.14 µs in every run the next, so a figure is read next to how fast the machine
# was at the time.
PROBE = """
import time
best = 1e9
for _ in range(5):
    t = time.process_time()
    d = {}
    for i in range(200_000):
        d[i] = str(i)
    best = min(best, time.process_time() - t)
print(round(best * 1e3, 1))
"""


def speed_probe() -> float | None:
    """Milliseconds of CPU for :data:`PROBE` (best of 5) in a fresh process; lower is faster."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False
    )
    try:
        return float(proc.stdout.strip())
    except ValueError:
        return None


def _load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def run_suite(names: Sequence[str]) -> dict[str, Any]:
    """Run the named benchmarks; their raw results and the merged ``results.json`` content."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _harness import machine_info

    info = machine_info()
    old: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    benches: dict[str, Any] = dict(old.get("benchmarks", {}))
    RAW.mkdir(parents=True, exist_ok=True)
    probe = speed_probe()  # one probe between two benchmarks: the after of one, before of next
    for name in names:
        script, args = SUITE[name]
        raw = RAW / f"{name}.json"
        shown = ["python", f"benchmarks/{script}", *args]
        command = [sys.executable, str(ROOT / "benchmarks" / script), *args, "--save", str(raw)]
        print(f"== {shlex.join(shown)}", file=sys.stderr, flush=True)
        probe_before = probe
        before, start = _load_now(), time.monotonic()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{script} failed:\n{proc.stderr[-4000:]}")
        (RAW / f"{name}.md").write_text(proc.stdout, encoding="utf-8")
        runs = json.loads(raw.read_text())
        for results in runs.values():
            for r in results:
                r.pop("executable", None)  # local paths say nothing about the figures
        benches[name] = {
            "command": shlex.join(shown),
            "date": info.get("date"),
            "commit": info.get("commit"),
            "load_before": before,
            "load_after": _load_now(),
            "seconds": round(time.monotonic() - start, 1),
            "probe_ms": [probe_before, probe := speed_probe()],
            "runs": runs,
        }
    meta = {
        "date": info.get("date"),
        "cpus": info.get("cpus"),
        "platform": info.get("platform"),
        "python": info.get("python (parent)", "").split(" ")[0],
        "commit": info.get("commit"),
    }
    return {"meta": meta, "benchmarks": benches}


def write_tables(results: dict[str, Any]) -> list[Path]:
    """Render into every document; the paths whose text changed."""
    block = render(results)
    changed = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        new = replace_section(text, block)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run, render or check."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--render", action="store_true", help="only re-render the tables")
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    parser.add_argument("--only", nargs="+", choices=list(SUITE), help="run these benchmarks")
    args = parser.parse_args(argv)
    if args.check:
        block = render(json.loads(RESULTS.read_text()))
        stale = [str(p) for p in DOCS if section(p.read_text(encoding="utf-8")) != block]
        print("stale: " + ", ".join(stale) if stale else "tables up to date")
        return 1 if stale else 0
    if not args.render:
        if importlib.util.find_spec("opentelemetry") is None:
            print(
                "note: opentelemetry-sdk is not installed, so the OpenTelemetry reference row "
                'will read "not run" (pip install -e ".[dev,bench]")',
                file=sys.stderr,
            )
        results = run_suite(args.only or list(SUITE))
        RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    changed = write_tables(json.loads(RESULTS.read_text()))
    print(render(json.loads(RESULTS.read_text())))
    print("updated: " + (", ".join(str(p.relative_to(ROOT)) for p in changed) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
