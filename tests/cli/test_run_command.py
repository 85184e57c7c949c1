"""``plumberd run`` never surprises: every record by default, bad input refused before the start.

Each refusal is one ``plumberd run: ...`` line and an exit code (2 before the program starts;
126 and 127 as a shell reports a program it cannot execute or cannot find). Every case runs in
a subprocess: a regression that let ``exec`` succeed must not replace the test process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from plumberd_logging.testing import InMemoryEventStore

from .helpers import plumberd

URL = "esdb://localhost:2113?tls=false"
APP = Path(__file__).resolve().parents[2] / "examples" / "legacy_app" / "app.py"


@pytest.mark.delivers_at_exit
def test_an_unmodified_program_has_every_record_sent_by_default(
    eventstore: InMemoryEventStore,
) -> None:
    done = plumberd("run", "--url", eventstore.url, "--", sys.executable, str(APP), timeout=60)
    assert done.returncode == 3  # the program's own code
    logs = [e.json()["Message"] for e in eventstore.events("Log-app")]
    assert logs == ["starting recorder on camera 7", "disk almost full"]
    assert [e.type for e in eventstore.events("Recording-rec-1")] == ["RecordingFinished"]


@pytest.mark.parametrize(
    ("url", "line"),
    [
        ("esbd://x", "URL: 'esbd://x' has scheme 'esbd'; expected one of esdb://"),
        (
            "esdb://localhost:99999?tls=false",
            "URL: 'esdb://localhost:99999?tls=false' has port 99999 (host 'localhost'); "
            "expected 1..65535",
        ),
        (
            "esdb://localhost:2113?tsl=false",
            "URL: 'esdb://localhost:2113?tsl=false' has unknown option 'tsl' (did you mean tls?)",
        ),
        (
            "esdb://localhost:2113?tls=false&defaultDeadline=abc",
            "URL: option defaultDeadline: expected a positive integer, got 'abc'",
        ),
    ],
)
def test_a_bad_url_stops_before_the_program_starts(url: str, line: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    done = plumberd("run", "--url", url, "--", "touch", str(marker))
    assert done.returncode == 2
    assert done.stderr.startswith(f"plumberd run: {line}")
    assert done.stderr.count("\n") == 1
    assert not marker.exists()


def test_a_bad_option_is_named_before_the_program_starts() -> None:
    done = plumberd("run", "--url", URL, "--level", "LOUD", "--", "true")
    assert done.returncode == 2
    assert done.stderr == (
        "plumberd run: --level 'LOUD': expected a level name such as INFO or a number\n"
    )


def test_tagged_only_and_capture_logs_exclude_each_other() -> None:
    done = plumberd("run", "--url", URL, "--tagged-only", "--capture-logs", "--", "true")
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr


def test_a_program_that_does_not_exist_is_127() -> None:
    done = plumberd("run", "--url", URL, "--", "no-such-program-xyz")
    assert (done.returncode, done.stderr) == (
        127,
        "plumberd run: 'no-such-program-xyz' not found\n",
    )


def test_a_file_without_the_execute_bit_is_126(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("print('hi')\n")
    done = plumberd("run", "--url", URL, "--", str(script))
    assert done.returncode == 126
    assert done.stderr.startswith(f"plumberd run: {str(script)!r} is not executable (chmod +x")
    assert done.stderr.count("\n") == 1


def test_a_script_without_a_shebang_is_126(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("print('hi')\n")
    script.chmod(0o755)
    done = plumberd("run", "--url", URL, "--", str(script))
    assert (done.returncode, done.stderr) == (
        126,
        f"plumberd run: cannot execute {str(script)!r}: not a program the system can start "
        "(a script needs a #! line)\n",
    )


def test_a_script_whose_interpreter_is_missing_is_126(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("#!/no/such/python3\nprint('hi')\n")
    script.chmod(0o755)
    done = plumberd("run", "--url", URL, "--", str(script))
    assert (done.returncode, done.stderr) == (
        126,
        f"plumberd run: cannot execute {str(script)!r}: its interpreter '/no/such/python3' "
        "was not found\n",
    )


def test_a_directory_is_126(tmp_path: Path) -> None:
    done = plumberd("run", "--url", URL, "--", str(tmp_path))
    assert (done.returncode, done.stderr) == (
        126,
        f"plumberd run: {str(tmp_path)!r} is a directory, not a program\n",
    )
