"""Shared pieces of the logging benchmarks (bench_handler, bench_structlog, bench_latency).

Worker side: :func:`stderr_to_file` (everything written on fd 2, by Python or by grpc's C core,
is kept and returned with the result), :func:`wait_until`, :func:`process_cpu` (another
process's CPU, for the test server) and :func:`burst`, the measurement of the research notes
(lessons-from-log-shippers.md §6): warm-up calls, wait until the sink has them, a timed burst
(wall, caller-thread CPU, process CPU), then the drain until the sink has every event.
Parent side: :func:`table`, several metrics of a run in one markdown table with differences
against a baseline row; :func:`stderr_notes`; :func:`save`.

Importing this module imports neither plumberd_logging nor any logging library.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _against import against, older_tree
from _harness import Config, Runs, machine_info, run_interleaved

__all__ = [
    "Column",
    "burst",
    "command_line",
    "fmt",
    "info_lines",
    "library",
    "process_cpu",
    "run_against",
    "save",
    "stderr_notes",
    "stderr_to_file",
    "table",
    "versions",
    "wait_until",
]

STDERR_KEPT = 5  # stderr lines a worker passes back


# -- worker side ---------------------------------------------------------------------------------


@contextlib.contextmanager
def stderr_to_file() -> Iterator[Callable[[], list[str]]]:
    """Redirect fd 2 to a temporary file; yields a function returning the lines so far.

    The parent's harness shows a worker's stderr only when it fails; this keeps the library's
    diagnostics and grpc's noise visible in the results of runs that succeed.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)

        def lines() -> list[str]:
            sys.stderr.flush()
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            return [line for line in text.splitlines() if line.strip()]

        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    """Poll ``predicate`` every ``interval`` seconds; False when ``timeout`` passed first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``; 0.0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def burst(
    loop: Callable[[int, int], None],
    *,
    calls: int,
    warmup: int,
    delivered: Callable[[], int] | None,
    drain_timeout: float,
) -> dict[str, Any]:
    """The §6 measurement: ``loop(start, n)`` makes ``n`` log calls numbered from ``start``.

    ``warmup`` calls first, then wait until ``delivered()`` (the sink's count, None: no sink)
    reaches them; then ``calls`` timed calls (``perf_counter`` for wall, ``thread_time`` for the
    caller thread, ``process_time`` for all threads of the process), then wait until the sink
    has everything (the drain). ``total_cpu_us`` is the process CPU from the start of the
    burst until the drain ended, per call; ``gc_us_per_call`` the wall time the cyclic garbage
    collector ran during the burst (in any thread), per call.
    """
    loop(0, warmup)
    if delivered is not None and not wait_until(lambda: delivered() >= warmup, drain_timeout):
        raise RuntimeError(f"the sink got {delivered()} of {warmup} warm-up events")
    gc_time = [0.0, 0.0, 0]  # started, total seconds, collections (any thread)

    def on_gc(phase: str, info: Mapping[str, int]) -> None:
        if phase == "start":
            gc_time[0] = time.perf_counter()
        else:
            gc_time[1] += time.perf_counter() - gc_time[0]
            gc_time[2] += 1

    gc.callbacks.append(on_gc)
    p0, c0, t0 = time.process_time(), time.thread_time(), time.perf_counter()
    loop(warmup, calls)
    t1, c1, p1 = time.perf_counter(), time.thread_time(), time.process_time()
    gc.callbacks.remove(on_gc)
    drained = True
    if delivered is not None:
        drained = wait_until(lambda: delivered() >= warmup + calls, drain_timeout)
    t2, p2 = time.perf_counter(), time.process_time()
    return {
        "gc_us_per_call": gc_time[1] / calls * 1e6,
        "gc_collections": gc_time[2],
        "us_per_call": (t1 - t0) / calls * 1e6,
        "caller_cpu_us": (c1 - c0) / calls * 1e6,
        "burst_process_cpu_us": (p1 - p0) / calls * 1e6,
        "total_cpu_us": (p2 - p0) / calls * 1e6,
        "drain_s": t2 - t1 if delivered is not None else 0.0,
        "drained": drained,
        "delivered": (delivered() - warmup) if delivered is not None else -1,
        "attempted": calls,
    }


# -- parent side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One metric of :func:`table`: the result key, its header, and what else to show."""

    key: str
    header: str
    digits: int = 3  # significant digits
    added: bool = False  # also show median - baseline's median (and the per-round range)
    spread: bool = True  # show (min..max)


def fmt(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, with thousands separators."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if value.is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{round(value, decimals):,.{decimals}f}"


def table(
    runs: Runs, columns: Sequence[Column], *, baseline: str, rows: Sequence[str] | None = None
) -> list[str]:
    """Markdown lines: per configuration the median of each column (min..max), and for
    ``added`` columns the difference to ``baseline``'s median (per-round differences pair the
    runs of the same round)."""
    header = ["configuration"]
    for c in columns:
        header.append(c.header)
        if c.added:
            header.append(f"{c.header}: added over `{baseline}` (per-round range)")
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    base_runs = runs[baseline]
    for name in rows or list(runs):
        cells = [name]
        for c in columns:
            values = [float(r[c.key]) for r in runs[name] if r.get(c.key) is not None]
            if not values or (c.key == "delivered" and max(values) < 0):
                cells += ["—", "—"] if c.added else ["—"]
                continue
            median = statistics.median(values)
            cell = fmt(median, c.digits)
            if c.spread and len(values) > 1:
                cell += f" ({fmt(min(values), c.digits)}..{fmt(max(values), c.digits)})"
            cells.append(cell)
            if c.added:
                base = [float(r.get(c.key) or 0.0) for r in base_runs]
                diffs = [v - b for v, b in zip(values, base, strict=False)]
                added = median - statistics.median(base)
                cells.append(
                    f"**{added:+.2f}** ({min(diffs):+.2f}..{max(diffs):+.2f})"
                    if name != baseline
                    else "0"
                )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def command_line() -> str:
    """The command that ran this script, as typed from the repository root."""
    argv = list(sys.argv)
    root = Path(__file__).resolve().parent.parent
    script = Path(argv[0]).resolve() if argv else None
    if script is not None and script.is_relative_to(root):
        argv[0] = str(script.relative_to(root))
    return shlex.join(["python", *argv])


def stderr_notes(runs: Runs) -> list[str]:
    """One line per configuration whose workers wrote anything on stderr."""
    notes = []
    for name, results in runs.items():
        counts = [int(r.get("stderr_lines", 0)) for r in results]
        if any(counts):
            sample: list[str] = next(
                (r["stderr_sample"] for r in results if r.get("stderr_sample")), []
            )
            notes.append(
                f"- stderr of `{name}`: {counts} lines per run; first: "
                + "; ".join(f"`{line[:160]}`" for line in sample[:2])
            )
    return notes


def versions(runs: Runs) -> list[str]:
    """One line per configuration: its python and the package versions its worker reported."""
    lines = []
    for name, results in runs.items():
        last = results[-1]
        packages = ", ".join(f"{k} {v}" for k, v in sorted(last.get("packages", {}).items()))
        lines.append(f"- `{name}`: python {last.get('python', '?')}; {packages or 'stdlib only'}")
    return lines


def save(path: str | os.PathLike[str] | None, runs: Runs) -> None:
    """Write the raw results as JSON when ``--save`` was given."""
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")


def info_lines(info: Mapping[str, str]) -> list[str]:
    """``- key: value`` lines of :func:`_harness.machine_info`."""
    return [f"- {key}: {value}" for key, value in info.items()]


# -- now against an older commit -----------------------------------------------------------------


def library() -> str:
    """In a worker: the folder ``plumberd_logging`` was imported from (``--against`` checks)."""
    import plumberd_logging

    return os.path.dirname(os.path.dirname(plumberd_logging.__file__))


def run_against(
    args: Any,
    configs: Sequence[Config],
    baseline: str,
    columns: Sequence[Column],
    ours: Callable[[str], bool],
) -> int:
    """``--against COMMIT`` (``args``: the parsed ``against``, ``rounds`` and ``save``): our
    rows (``ours(name)``) on the current tree and on ``COMMIT``'s library, the others
    (baselines, references) once, all interleaved; prints the caller and process CPU added
    over ``baseline`` now and then, with ratios, then every metric."""
    commit_ref, rounds, save_path = args.against, args.rounds, args.save
    mine = [c for c in configs if ours(c.name)]
    others = [c for c in configs if not ours(c.name)]
    with older_tree(commit_ref) as (commit, folder):
        twinned, twins = against(mine, commit, folder)
        info = machine_info()
        runs = run_interleaved([*others, *twinned], rounds=rounds, timeout=600)
    save(save_path, runs)
    print(f"### Now and at {commit}, writer live\n")
    print(
        f"{rounds} rounds, configurations interleaved, each run a fresh process; the older "
        "library is imported from a `git worktree` of the commit. Added = median minus "
        f"`{baseline}`'s median; ratio = added now / added at {commit} (lower is better).\n"
    )
    print("| row | caller CPU µs added: now / then / ratio | process CPU µs added: ditto |")
    print("| --- | ---: | ---: |")
    for name, old_name in twins.items():
        if name == old_name:
            continue
        cells = []
        for key in ("caller_cpu_us", "total_cpu_us"):
            now, then = (
                _added(runs[name], runs[baseline], key),
                _added(runs[old_name], runs[baseline], key),
            )
            if now is None or then is None:
                cells.append("—")
                continue
            cells.append(f"{now:.2f} / {then:.2f} / **{now / then:.2f}x**")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    print("\nAll metrics:\n")
    print("\n".join(table(runs, columns, baseline=baseline)))
    print(f"\nCommand: `{command_line()}`\n")
    print("\n".join(info_lines(info) + versions(runs) + stderr_notes(runs)))
    for name, results in runs.items():
        print(f"- `{name}`: library from {sorted({str(r.get('library')) for r in results})}")
    return 0


def _added(results: list[dict[str, Any]], base: list[dict[str, Any]], key: str) -> float | None:
    """Median of ``key`` over ``results`` minus its median over ``base``; None when absent."""
    values = [float(r[key]) for r in results if r.get(key) is not None]
    if not values:
        return None
    return statistics.median(values) - statistics.median(float(r.get(key) or 0.0) for r in base)
