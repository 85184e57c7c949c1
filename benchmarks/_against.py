"""Side by side with an older commit: the same benchmark body run on the current tree and on
``COMMIT``'s ``plumberd_logging``, interleaved, in one run (issue #11's "re-measure side by side").

    python benchmarks/bench_writer.py --against 8323a28 --rounds 5
    python benchmarks/bench_submit.py --against 8323a28 --rounds 5

:func:`older_tree` checks ``COMMIT`` out with ``git worktree add --detach`` into a temporary
folder (removed afterwards); :func:`against` returns every configuration twice, as is and with
``PLUMBERD_BENCH_TREE`` set to that folder, which the worker puts first on ``sys.path``
(:func:`use_tree`, called before it imports ``plumberd_logging``). The benchmark body, the
harness and the test server (it runs in its own process) stay the current ones: only the
library under test differs. Stdlib only, like ``_harness``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from _harness import Config

__all__ = ["TREE_ENV", "against", "older_tree", "use_tree"]

TREE_ENV = "PLUMBERD_BENCH_TREE"
ROOT = Path(__file__).resolve().parent.parent


def use_tree() -> str | None:
    """In a worker: import ``plumberd_logging`` from ``$PLUMBERD_BENCH_TREE`` when it is set."""
    tree = os.environ.get(TREE_ENV)
    if tree:
        if "plumberd_logging" in sys.modules:
            raise RuntimeError(f"{TREE_ENV}: plumberd_logging was imported before use_tree()")
        sys.path.insert(0, tree)
    return tree


def commit_of(ref: str) -> str:
    """The short hash of ``ref`` in this repository (``ValueError`` naming it if unknown)."""
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", f"{ref}^{{commit}}"],
        check=False,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise ValueError(f"--against: {ref!r} is not a commit of {ROOT}: {proc.stderr.strip()}")
    return proc.stdout.strip()


@contextlib.contextmanager
def older_tree(ref: str) -> Iterator[tuple[str, Path]]:
    """``(short hash, folder)`` of a detached worktree of ``ref``, removed on exit."""
    commit = commit_of(ref)
    with tempfile.TemporaryDirectory(prefix=f"plumberd-{commit}-") as tmp:
        folder = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), commit],
            check=True,
        )
        try:
            yield commit, folder
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
                check=False,
            )


def head_label() -> str:
    """``now (HASH)``, with ``+changes`` when the work tree differs from HEAD."""
    head = commit_of("HEAD")
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", "plumberd_logging"],
        check=False,
    ).returncode
    return f"now ({head}{'+changes' if dirty else ''})"


def against(
    configs: Sequence[Config], commit: str, folder: Path
) -> tuple[list[Config], dict[str, str]]:
    """Every configuration on the current tree and on ``folder``; and, per configuration, the
    name of its older twin (for ratios)."""
    now = head_label()
    out: list[Config] = []
    twins: dict[str, str] = {}
    for config in configs:
        new_name, old_name = f"{config.name} — {now}", f"{config.name} — {commit}"
        old_env = {**config.env, TREE_ENV: str(folder)}
        out.append(dataclasses.replace(config, name=new_name))
        out.append(dataclasses.replace(config, name=old_name, env=old_env))
        twins[new_name] = twins[old_name] = old_name
    return out, twins
