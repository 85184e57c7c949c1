"""Running the ``plumberd`` command in a subprocess, from a given directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["plumberd"]


def plumberd(
    *args: str, cwd: Path | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m plumberd_logging ARGS`` (or ``python -c CODE ARGS``), in ``cwd``."""
    command = ["-c", code] if code is not None else ["-m", "plumberd_logging"]
    env = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    return subprocess.run(
        [sys.executable, *command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env=env,
    )
