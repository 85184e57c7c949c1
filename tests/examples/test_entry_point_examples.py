"""The runnable examples (core client, @emits, CommandBus) run and print what they wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("core_client.py", ["RecordingFinished", "RecordingArchived"]),
        ("emits_example.py", ["RecordingStarted", "CameraPrepared", "RecordingFailed"]),
        ("command_bus.py", ["StartRecording", "'$maxAge': 2592000", '"UserId":"recorder-service"']),
    ],
)
def test_example_runs_on_the_in_process_server(script: str, expected: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PLUMBERD_URL"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "using an in-process server" in proc.stdout
    for text in expected:
        assert text in proc.stdout
    assert "data:" in proc.stdout
    assert "metadata:" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert "plumberd-logging:" not in proc.stderr  # no event lost or dead-lettered
