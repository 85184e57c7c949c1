"""Shared pieces of the writer benchmarks (bench_writer, bench_submit, bench_memory, bench_spool).

* :func:`served` wraps a worker command so that it runs against a **fresh test server in another
  process**: ``python benchmarks/_writer_common.py --serve -- <command with {url}>`` starts
  ``ServerProcess``, runs the command with ``{url}`` replaced, stops the server and prints the
  worker's JSON line with the server's CPU seconds and the worker's stderr lines added
  (:func:`relayed`: the same without a server);
* :func:`order_placed_class` is the 3-field event every writer benchmark submits;
* :func:`table` renders several metrics of a run as one markdown table, with ratios against a
  baseline chosen per row (the harness's ``markdown_report`` shows one metric).

Importing this module imports neither plumberd_logging nor py-micro-plumberd: the baseline's
venv imports it too.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import Runs

__all__ = [
    "Column",
    "command_line",
    "cpu_seconds",
    "fmt",
    "order_placed_class",
    "relayed",
    "rss_bytes",
    "save",
    "served",
    "stderr_notes",
    "table",
    "versions",
    "wait_until",
]

STDERR_KEPT = 5  # worker stderr lines passed back in the result


def served(command: Sequence[str]) -> list[str]:
    """``command`` (with a ``{url}`` argument) run against a fresh server in another process."""
    return [sys.executable, str(Path(__file__).resolve()), "--serve", "--", *command]


def relayed(command: Sequence[str]) -> list[str]:
    """``command`` run as by :func:`served` (its stderr lines added), without a server."""
    return [sys.executable, str(Path(__file__).resolve()), "--relay", "--", *command]


def _serve(command: list[str]) -> int:
    from plumberd_logging.testing import ServerProcess

    with ServerProcess() as server:
        pid = server.pid
        assert pid is not None
        cpu_before = _process_cpu(pid)
        proc = subprocess.run(
            [server.url if part == "{url}" else part for part in command],
            check=False,
            capture_output=True,
            text=True,
        )
        server_cpu = _process_cpu(pid) - cpu_before
        alive = server.is_running
    return _relay(command, proc, {"server_cpu_s": server_cpu, "server_alive_after": alive})


def _relay(
    command: list[str], proc: subprocess.CompletedProcess[str], extra: dict[str, Any]
) -> int:
    sys.stderr.write(proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"worker exited with {proc.returncode}: {shlex.join(command)}", file=sys.stderr)
        return proc.returncode or 1
    result = json.loads(lines[-1])
    noise = [line for line in proc.stderr.splitlines() if line.strip()]
    result.update(extra, stderr_lines=len(noise), stderr_sample=noise[:STDERR_KEPT])
    print(json.dumps(result), flush=True)
    return 0


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``; 0.0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


# -- worker helpers --------------------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes() -> int:
    """The current resident set size of this process (``/proc/self/statm``; peak elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def order_placed_class() -> type[Any]:
    """The 3-field event of the writer benchmarks: ``OrderPlaced(order_id, amount, currency)``."""
    from plumberd_logging import Event

    class OrderPlaced(Event):
        order_id: str
        amount: float
        currency: str

    return OrderPlaced


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 10 ms; ``RuntimeError`` naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


# -- reporting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One metric shown in :func:`table`: the result key, its header, how to show it."""

    key: str
    header: str
    digits: int = 3  # significant digits
    ratio: bool = False  # also show median / median of the row's baseline


def fmt(value: float, digits: int = 3) -> str:
    """``value`` rounded to ``digits`` significant digits, with thousands separators."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, decimals)
    if decimals <= 0:
        return f"{int(rounded):,}"
    return f"{rounded:,.{decimals}f}"


def table(
    runs: Runs,
    columns: Sequence[Column],
    *,
    baselines: Mapping[str, str] | None = None,
    rows: Sequence[str] | None = None,
) -> list[str]:
    """A markdown table: per configuration the median (min..max) of each column's metric.

    ``baselines`` maps a configuration to the one its ratios are taken against (per-round
    ratios pair runs of the same round); columns with ``ratio=True`` get a ratio column.
    """
    baselines = baselines or {}
    names = list(rows or runs)
    header = ["configuration"]
    for c in columns:
        header.append(f"{c.header} median (min..max)")
        if c.ratio:
            header.append(f"{c.header} ratio (per-round range)")
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for name in names:
        results = runs[name]
        cells = [name]
        for c in columns:
            values = [float(r[c.key]) for r in results]
            median = statistics.median(values)
            cells.append(
                f"{fmt(median, c.digits)} ({fmt(min(values), c.digits)}.."
                f"{fmt(max(values), c.digits)})"
            )
            if c.ratio:
                base_name = baselines.get(name)
                if base_name is None or base_name == name:
                    cells.append("1.00x" if base_name == name else "")
                    continue
                base = [float(r[c.key]) for r in runs[base_name]]
                pairs = [v / b for v, b in zip(values, base, strict=False) if b]
                ratio = median / statistics.median(base)
                cells.append(f"**{_ratio(ratio)}** ({_ratio(min(pairs))}..{_ratio(max(pairs))})")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def versions(runs: Runs) -> list[str]:
    """One line per configuration: its python and the package versions its worker reported."""
    lines = []
    for name, results in runs.items():
        last = results[-1]
        packages = ", ".join(f"{k} {v}" for k, v in sorted(last.get("packages", {}).items()))
        lines.append(f"- `{name}`: python {last.get('python', '?')}; {packages or 'stdlib only'}")
    return lines


def command_line() -> str:
    """The command that ran this script, as typed from the repository root."""
    argv = list(sys.argv)
    root = Path(__file__).resolve().parent.parent
    script = Path(argv[0]).resolve() if argv else None
    if script is not None and script.is_relative_to(root):
        argv[0] = str(script.relative_to(root))
    return shlex.join(["python", *argv])


def save(path: str | os.PathLike[str] | None, runs: Runs) -> None:
    """Write the raw results as JSON when ``--save`` was given."""
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")


def stderr_notes(runs: Runs) -> list[str]:
    """What the workers wrote on stderr (the library's diagnostics, grpc noise), if anything."""
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


def main(argv: list[str] | None = None) -> int:
    """``--serve -- COMMAND...``: run COMMAND against a fresh server (see :func:`served`);
    ``--relay -- COMMAND...``: run it without a server (see :func:`relayed`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["--serve", "--"] and len(args) > 2:
        return _serve(args[2:])
    if args[:2] == ["--relay", "--"] and len(args) > 2:
        command = args[2:]
        return _relay(
            command, subprocess.run(command, check=False, capture_output=True, text=True), {}
        )
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
