"""The py-micro-plumberd 0.1.9 baseline, in a virtualenv of its own.

py-micro-plumberd depends on ``esdbclient``, which cannot be imported in the same process as
``kurrentdbclient`` (their generated protobuf modules clash), so benchmarks run the baseline
in a separate interpreter: the one this module creates once, at
``benchmarks/.venvs/py-micro-plumberd/`` (git-ignored), and returns the path of::

    python benchmarks/_baseline.py            # create it if needed, print its python
    python benchmarks/_baseline.py --rebuild  # throw it away and create it again

From a benchmark: ``from _baseline import baseline_python``. Progress goes to stderr. The venv
counts as ready only once the install finished and ``import py_micro_plumberd`` worked in it
(a marker file records that), so an interrupted build is redone on the next call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["BASELINE_REQUIREMENT", "VENV_DIR", "baseline_python"]

BASELINE_REQUIREMENT = "py-micro-plumberd==0.1.9"
VENV_DIR = Path(__file__).resolve().parent / ".venvs" / "py-micro-plumberd"
_MARKER = ".plumberd-baseline.json"
_PIP_TIMEOUT = 900.0


def baseline_python(*, rebuild: bool = False, base_python: str | None = None) -> Path:
    """The python of the baseline venv; created (or repaired) first if it isn't ready.

    ``base_python`` is the interpreter the venv is made from (default: the one running this,
    so both sides of a comparison use the same Python version).
    """
    python = _venv_python(VENV_DIR)
    with _lock(VENV_DIR.with_name(VENV_DIR.name + ".lock")):
        if not rebuild and _is_ready(python):
            return python
        _build(base_python or sys.executable)
    return python


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _is_ready(python: Path) -> bool:
    marker = VENV_DIR / _MARKER
    if not (python.exists() and marker.exists()):
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("requirement") == BASELINE_REQUIREMENT


def _build(base_python: str) -> None:
    started = time.monotonic()
    if VENV_DIR.exists():
        _say(f"removing incomplete or outdated {VENV_DIR}")
        shutil.rmtree(VENV_DIR)
    VENV_DIR.parent.mkdir(parents=True, exist_ok=True)
    _say(f"creating venv {VENV_DIR} (from {base_python})")
    _run([base_python, "-m", "venv", str(VENV_DIR)], timeout=300.0)
    python = _venv_python(VENV_DIR)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _say(f"installing {BASELINE_REQUIREMENT} (and esdbclient) with pip")
    _run([*pip, "install", "--quiet", BASELINE_REQUIREMENT], timeout=_PIP_TIMEOUT)
    _say("checking that py_micro_plumberd imports")
    _run([str(python), "-c", "import py_micro_plumberd"], timeout=120.0)
    frozen = subprocess.run(
        [*pip, "freeze"], capture_output=True, text=True, check=True, timeout=120.0
    ).stdout.split()
    record = {"requirement": BASELINE_REQUIREMENT, "base_python": base_python, "freeze": frozen}
    (VENV_DIR / _MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _say(f"baseline venv ready in {time.monotonic() - started:.0f} s: {python}")


def _run(command: list[str], *, timeout: float) -> None:
    """Run a build step, its output on our stderr; fail with the command in the message."""
    try:
        subprocess.run(command, stdout=sys.stderr, check=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(
            f"baseline venv: {' '.join(command)} failed ({exc}); "
            f"run `python {Path(__file__).name} --rebuild` to retry"
        ) from exc


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock so that two benchmarks started together build the venv once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _say(message: str) -> None:
    print(f"[baseline] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Create the baseline venv if needed and print the path of its python."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rebuild", action="store_true", help="recreate the venv from scratch")
    args = parser.parse_args(argv)
    print(baseline_python(rebuild=args.rebuild))
    return 0


if __name__ == "__main__":
    sys.exit(main())
