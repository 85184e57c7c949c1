"""Every ```python block of README.md and docs/**/*.md runs, as a reader would paste it.

Each block runs as ``main.py`` in a fresh interpreter, in an empty temporary directory, against
an in-process server: the literal URL ``esdb://localhost:2113?tls=false`` is replaced by the
server's and ``$PLUMBERD_URL`` set to it. Blocks marked ``<!-- not-run: REASON -->`` are
reported as skipped with their reason; shown output and streams (``<!-- output -->``,
``<!-- expect-stream -->``) are checked. See ``blocks.py`` for the markers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plumberd_logging.testing import InMemoryEventStore

from .blocks import DEMO_URL, Block, blocks_of, documentation_files, matches

ALL = [block for path in documentation_files() for block in blocks_of(path)]
PYTHON = [block for block in ALL if block.lang == "python"]


def test_the_pages_have_runnable_blocks() -> None:
    run = [block for block in PYTHON if block.skip_reason is None]
    skipped = [block for block in PYTHON if block.skip_reason is not None]
    assert len(run) >= 10, "the documentation lost its runnable examples"
    assert len(run) > len(skipped), [block.name for block in skipped]


@pytest.mark.slow
@pytest.mark.delivers_at_exit
@pytest.mark.parametrize("block", PYTHON, ids=[block.name for block in PYTHON])
def test_python_block_runs(block: Block, eventstore: InMemoryEventStore, tmp_path: Path) -> None:
    if block.skip_reason is not None:
        pytest.skip(f"not-run: {block.skip_reason}")
    code = block.code.replace(DEMO_URL, eventstore.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUMBERD_")}
    env["PLUMBERD_URL"] = eventstore.url
    env.setdefault("GRPC_VERBOSITY", "ERROR")
    program = tmp_path / ("test_main.py" if block.pytest else "main.py")
    program.write_text(code, encoding="utf-8")
    command = [sys.executable, str(program)]
    if block.pytest:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(program)]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env=env,
    )
    assert done.returncode == 0, f"{block.name} failed:\n{done.stderr}"
    if block.output is not None:
        assert matches(block.output, done.stdout), (
            f"{block.name}: the page shows\n{block.output}\nthe program printed\n{done.stdout}"
        )
    for stream, count in block.streams.items():
        events = eventstore.wait_for_events(stream, count, timeout=10)
        assert len(events) == count, f"{block.name}: {stream} has {len(events)} events"
