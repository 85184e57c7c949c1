"""``plumberd run``: an unmodified program's logging goes to the store; the program is unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plumberd_logging.testing import InMemoryEventStore

pytestmark = pytest.mark.delivers_at_exit

APP = Path(__file__).resolve().parents[2] / "examples" / "legacy_app" / "app.py"


def plumberd(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plumberd_logging", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_legacy_app_events_reach_the_store_and_the_app_is_unchanged(
    eventstore: InMemoryEventStore,
) -> None:
    alone = subprocess.run(
        [sys.executable, str(APP)], capture_output=True, text=True, timeout=60, check=False
    )
    attached = plumberd(
        "run", "--url", eventstore.url, "--capture-logs", "--", sys.executable, str(APP)
    )
    assert attached.returncode == alone.returncode == 3
    assert attached.stdout == alone.stdout == "recording...\n"
    assert attached.stderr == alone.stderr  # basicConfig still formats the app's own output
    assert "WARNING legacy.recorder: disk almost full" in attached.stderr

    [finished] = eventstore.events("Recording-rec-1")
    assert finished.type == "RecordingFinished"
    assert finished.json() == {"Id": str(finished.id), "RecordingId": "rec-1", "Duration": 12.5}
    logs = [e.json() for e in eventstore.events("Log-app")]
    assert [entry["Message"] for entry in logs] == [
        "starting recorder on camera 7",
        "disk almost full",
    ]
    assert {entry["Logger"] for entry in logs} == {"legacy.recorder"}


def test_tagged_only_sends_only_tagged_records(eventstore: InMemoryEventStore) -> None:
    done = plumberd("run", "--url", eventstore.url, "--tagged-only", "--", sys.executable, str(APP))
    assert done.returncode == 3
    assert eventstore.streams() == ["Recording-rec-1"]


def test_settings_can_come_from_the_environment(eventstore: InMemoryEventStore) -> None:
    env = {
        **os.environ,
        "PLUMBERD_URL": eventstore.url,
        "PLUMBERD_CAPTURE_LOGS": "1",
        "PLUMBERD_SERVICE": "recorder",
        "PLUMBERD_LEVEL": "WARNING",
    }
    done = plumberd("run", "--", sys.executable, str(APP), env=env)
    assert done.returncode == 3
    [warning] = eventstore.events("Log-recorder")
    assert json.loads(warning.data)["Level"] == "WARNING"


def test_console_script_is_installed(eventstore: InMemoryEventStore) -> None:
    script = shutil.which("plumberd", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the plumberd console script is not installed next to this python")
    done = subprocess.run(
        [script, "run", "--url", eventstore.url, "--", sys.executable, str(APP)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["run", "--url", "esdb://localhost:2113?tls=false"], "no program given", 2),
        (["run", "--", "python", "x.py"], "no server URL", 2),
        (["run", "--url", "esdb://h:1?tls=false", "--", "no-such-program-xyz"], "not found", 127),
    ],
)
def test_usage_errors(
    args: list[str], message: str, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUMBERD_")}
    done = plumberd(*args, env=env)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_environment_is_reported_before_starting(eventstore: InMemoryEventStore) -> None:
    env = {**os.environ, "PLUMBERD_URL": eventstore.url, "PLUMBERD_LINGER": "soon"}
    done = plumberd("run", "--", sys.executable, str(APP), env=env)
    assert done.returncode == 2
    assert "$PLUMBERD_LINGER='soon'" in done.stderr
