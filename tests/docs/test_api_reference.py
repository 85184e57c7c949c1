"""The API reference lists every public name: ``plumberd_logging.__all__`` and the test server.

The page is ``docs/api.md``, one mkdocstrings ``:::`` directive per name; the built site (``mkdocs
build --strict``, offline) must then hold an entry for each.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import plumberd_logging
import plumberd_logging.testing

from .blocks import ROOT

API = ROOT / "docs" / "api.md"
DIRECTIVES = re.findall(r"^::: ([\w.]+)$", API.read_text(encoding="utf-8"), re.M)
PUBLIC = {name for name in plumberd_logging.__all__ if name != "__version__"}


def _resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_public_name_has_a_directive_for_the_object_the_package_exports() -> None:
    listed = {path.rpartition(".")[2]: path for path in DIRECTIVES if "testing" not in path}
    assert set(listed) == PUBLIC
    for name, path in listed.items():
        assert _resolve(path) is getattr(plumberd_logging, name), path


def test_every_name_of_the_test_server_is_listed() -> None:
    listed = {p.rpartition(".")[2] for p in DIRECTIVES if p.startswith("plumberd_logging.testing.")}
    assert listed == set(plumberd_logging.testing.__all__)


@pytest.mark.slow
def test_the_built_site_documents_every_public_name(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=os.path.dirname(sys.executable))
    if mkdocs is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="(plumberd_logging\.[\w.]+)"', html))
    for path in DIRECTIVES:
        assert path in ids, f"{path} has no entry on the built API page"


def test_emits_stays_the_decorator_after_its_module_is_imported() -> None:
    code = (
        "import sys\n"
        "import plumberd_logging.emits  # the module first, as other imports may do\n"
        "from plumberd_logging import emits, emitter_of\n"
        "module = sys.modules['plumberd_logging.emits']\n"
        "assert emits is module.emits, emits\n"
        "assert emitter_of is module.emitter_of\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
