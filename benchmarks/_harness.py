"""A small harness for side-by-side benchmarks on noisy machines (stdlib only).

A benchmark script is both the *parent*, which runs every configuration interleaved for a number
of rounds, each measurement in a fresh subprocess, and the *worker* run by those subprocesses
(possibly under another python, e.g. the py-micro-plumberd venv from ``_baseline``)::

    from _harness import Config, emit, markdown_report, python_command, run_interleaved, \
        time_per_call

    if args.worker:                                    # child: measure once, print one JSON line
        seconds = time_per_call(lambda: work(), min_time=0.1, repeat=5)
        emit({"us": seconds * 1e6}, packages=["plumberd-logging"])
    else:                                              # parent
        configs = [Config("ours", python_command(sys.executable, __file__, "--worker", "ours")),
                   Config("base", python_command(base_py, __file__, "--worker", "base"))]
        runs = run_interleaved(configs, rounds=7)
        print(markdown_report("Title", runs, metric="us", unit="µs", baseline="base"))

Run benchmark scripts as ``python benchmarks/<name>.py`` so that ``import _harness`` resolves
(the script's folder is on ``sys.path``, also in the baseline venv's python).
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Config",
    "Runs",
    "Summary",
    "emit",
    "machine_info",
    "markdown_report",
    "python_command",
    "run_interleaved",
    "summarize",
    "time_per_call",
]

#: Configuration name -> one result dict per round (what its worker printed), in round order.
Runs = dict[str, list[dict[str, Any]]]


# -- parent side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One configuration: a name and the command whose last stdout line is its JSON result."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # added to the parent's environment


def python_command(
    python: str | os.PathLike[str], script: str | os.PathLike[str], *args: str
) -> list[str]:
    """``[python, script, *args]`` with absolute paths (``-X`` flags are left to the caller)."""
    return [str(Path(python).absolute()), str(Path(script).resolve()), *args]


def run_interleaved(
    configs: Sequence[Config],
    rounds: int,
    *,
    timeout: float = 300.0,
    progress: bool = True,
) -> Runs:
    """Run every configuration once per round, each run in a fresh subprocess.

    The order rotates by one each round, so every configuration takes every position equally
    often (warm/cold CPU, other load). Progress goes to stderr. A failing worker raises
    ``RuntimeError`` with its stderr.
    """
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(f"configuration names must be unique, got {names}")
    if rounds < 1:
        raise ValueError(f"rounds: expected >= 1, got {rounds}")
    runs: Runs = {c.name: [] for c in configs}
    for r in range(rounds):
        for i in range(len(configs)):
            config = configs[(r + i) % len(configs)]
            result = _run_one(config, timeout)
            runs[config.name].append(result)
            if progress:
                shown = ", ".join(
                    f"{k}={v:.4g}" for k, v in result.items() if isinstance(v, int | float)
                )
                print(f"[round {r + 1}/{rounds}] {config.name}: {shown}", file=sys.stderr)
    return runs


def _run_one(config: Config, timeout: float) -> dict[str, Any]:
    env = {**os.environ, **config.env}
    proc = subprocess.run(
        list(config.command), check=False, capture_output=True, text=True, env=env, timeout=timeout
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{config.name}: `{shlex.join(config.command)}` exited with {proc.returncode} "
            f"and {'no' if not lines else 'a'} JSON line; stderr:\n{proc.stderr[-4000:]}"
        )
    result = json.loads(lines[-1])
    if not isinstance(result, dict):
        raise RuntimeError(f"{config.name}: expected a JSON object, got {lines[-1]!r}")
    return result


@dataclass(frozen=True)
class Summary:
    """The rounds of one configuration, for one metric."""

    name: str
    median: float
    min: float
    max: float
    n: int
    ratio: float  # median / baseline's median
    round_ratios: tuple[float, ...]  # value / baseline's value in the same round


def summarize(runs: Runs, *, metric: str, baseline: str) -> list[Summary]:
    """Median, min and max of ``metric`` per configuration, and ratios against ``baseline``."""
    if baseline not in runs:
        raise KeyError(f"baseline {baseline!r} is not one of {sorted(runs)}")
    base = [float(r[metric]) for r in runs[baseline]]
    base_median = statistics.median(base)
    summaries = []
    for name, results in runs.items():
        values = [float(r[metric]) for r in results]
        median = statistics.median(values)
        summaries.append(
            Summary(
                name=name,
                median=median,
                min=min(values),
                max=max(values),
                n=len(values),
                ratio=median / base_median,
                round_ratios=tuple(v / b for v, b in zip(values, base, strict=False)),
            )
        )
    return summaries


def machine_info() -> dict[str, str]:
    """What the numbers depend on: CPUs, load, OS, the parent's python, the repo's commit."""
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": f"{os.cpu_count()} ({_cpu_model()})",
        "platform": platform.platform(),
        "python (parent)": f"{platform.python_version()} {platform.python_implementation()}",
    }
    if hasattr(os, "getloadavg"):
        info["load average (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = _git_commit()
    if commit:
        info["commit"] = commit
    return info


def markdown_report(
    title: str,
    runs: Runs,
    *,
    metric: str,
    unit: str,
    baseline: str,
    lower_is_better: bool = True,
    info: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A markdown section: the table, the exact command line, the machine and the versions.

    ``info`` defaults to :func:`machine_info` now (pass one taken before the runs to also show
    the load at the start). The versions are those each worker reported (see :func:`emit`).
    """
    info = dict(machine_info() if info is None else info)
    better = "lower is better" if lower_is_better else "higher is better"
    rounds = max(len(v) for v in runs.values())
    lines = [
        f"### {title}",
        "",
        f"{metric} in {unit} ({better}); {rounds} rounds, configurations interleaved, each run "
        "in a fresh process; ratio = median / median of "
        f"`{baseline}`, per-round ratios pair runs of the same round.",
        "",
        "| configuration | median | min | max | runs | ratio | per-round ratios (min..max) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in summarize(runs, metric=metric, baseline=baseline):
        lines.append(
            f"| {s.name} | {s.median:.3g} | {s.min:.3g} | {s.max:.3g} | {s.n} | "
            f"{s.ratio:.2f}x | {min(s.round_ratios):.2f}..{max(s.round_ratios):.2f} |"
        )
    lines += ["", "Command:", "", "```bash", _command_line(), "```", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    for name, results in runs.items():
        last = results[-1]
        packages = ", ".join(f"{k} {v}" for k, v in sorted(last.get("packages", {}).items()))
        lines.append(f"- `{name}`: python {last.get('python', '?')}; {packages or 'stdlib only'}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _command_line() -> str:
    """The command that ran this report, as typed from the repository root."""
    argv = list(sys.argv)
    root = Path(__file__).resolve().parent.parent
    script = Path(argv[0]).resolve() if argv else None
    if script is not None and script.is_relative_to(root):
        argv[0] = str(script.relative_to(root))
    return shlex.join(["python", *argv])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git_commit() -> str:
    try:
        proc = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            check=False,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


# -- worker side ---------------------------------------------------------------------------------


def time_per_call(
    fn: Callable[[], object], *, min_time: float = 0.1, repeat: int = 5, disable_gc: bool = False
) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` loops of at least ``min_time`` each.

    One warm-up call runs first (caches, lazy imports). The best loop is the least disturbed
    one (the ``timeit`` convention); the spread across processes is the harness's business.
    The collector stays on by default because collections are part of the real cost.
    """
    fn()
    number = 1
    while True:  # calibrate: double until one loop takes at least min_time
        if _loop(fn, number) >= min_time:
            break
        number *= 2
    gc_was_enabled = gc.isenabled()
    if disable_gc:
        gc.disable()
    try:
        return min(_loop(fn, number) for _ in range(repeat)) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def _loop(fn: Callable[[], object], number: int) -> float:
    iterations = range(number)
    start = time.perf_counter()
    for _ in iterations:
        fn()
    return time.perf_counter() - start


def emit(
    values: Mapping[str, Any],
    *,
    packages: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Print the worker's one JSON result line: ``values``, the python and package versions.

    ``extra`` holds anything else the parent wants back (sample output, counts); it must not
    use the keys ``python``, ``executable`` or ``packages``.
    """
    from importlib import metadata

    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    result = {
        **values,
        **(extra or {}),
        "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "executable": sys.executable,
        "packages": versions,
    }
    print(json.dumps(result), flush=True)
