"""``plumberd csharp`` and ``plumberd contract check``: output, files, exit codes."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from plumberd_logging.csharp import render, render_files

from .events import EVENTS, CameraInfo
from .helpers import plumberd

HERE = Path(__file__).parent

MYAPP_EVENTS = """
from decimal import Decimal
from enum import IntEnum
from uuid import UUID

from plumberd_logging import Event


class Status(IntEnum):
    OPEN = 1
    PAID = 2


class OrderPlaced(Event, category="Orders", stream_id_field="order_id"):
    order_id: UUID
    total: Decimal
    status: Status
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A service checkout: ``proj/myapp/events.py``, beside an empty ``dotnet/`` tree."""
    app = tmp_path / "proj" / "myapp"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "events.py").write_text(MYAPP_EVENTS)
    (app / "empty.py").write_text("X = 1\n")
    (app / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "dotnet").mkdir()
    return tmp_path / "proj"


def events_copy(tmp_path: Path) -> Path:
    """tests/csharp/events.py as a top-level module ``shop_events`` in a fresh folder."""
    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(HERE / "events.py", folder / "shop_events.py")
    return folder


def test_csharp_prints_what_render_gives(tmp_path: Path) -> None:
    folder = events_copy(tmp_path)
    done = plumberd("csharp", "shop_events", "--namespace", "Acme.Shop.Events", cwd=folder)
    assert done.returncode == 0, done.stderr
    # every module-level Event subclass is an event type, CameraInfo (defined first) too
    expected = render([CameraInfo, *EVENTS], namespace="Acme.Shop.Events").replace(
        "csharp.events.", "shop_events."
    )
    assert done.stdout == expected
    # a file target and module:Class name the same classes
    by_file = plumberd("csharp", "shop_events.py", "--namespace", "Acme.Shop.Events", cwd=folder)
    assert by_file.stdout == done.stdout
    one = plumberd("csharp", "shop_events:OrderShipped", "--log-records", cwd=folder)
    assert one.returncode == 0, one.stderr
    assert "public record OrderShipped(" in one.stdout
    assert "public record EveryType(" not in one.stdout
    assert "public record LogRecorded(" in one.stdout


def test_csharp_out_writes_one_file_per_namespace(tmp_path: Path) -> None:
    folder = events_copy(tmp_path)
    out = tmp_path / "dotnet" / "Events"
    done = plumberd("csharp", "shop_events", "--out", str(out), "--log-records", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["Plumberd.Log.Events.cs", "ShopEvents.cs"]
    assert done.stdout.splitlines() == [
        f"wrote {out / 'ShopEvents.cs'}",
        f"wrote {out / 'Plumberd.Log.Events.cs'}",
    ]
    expected = render_files([CameraInfo, *EVENTS], log_records=True)
    assert (out / "Plumberd.Log.Events.cs").read_text() == expected["Plumberd.Log.Events.cs"]
    assert "namespace ShopEvents;" in (out / "ShopEvents.cs").read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nomodule"], 6, "nomodule: no module named 'nomodule'"),
        (["myapp.events:Missing"], 6, "myapp.events has no attribute 'Missing'"),
        (["myapp/nofile.py"], 6, "myapp/nofile.py: no such file"),
        (["myapp.empty"], 1, "myapp.empty: no Event subclasses defined there"),
        (["myapp.broken"], 1, "importing myapp.broken failed: RuntimeError: boom at import"),
        (["myapp.events", "--namespace", "Acme..X"], 2, "namespace: expected a C# namespace"),
    ],
)
def test_csharp_errors_exit_with_a_code(
    project: Path, args: list[str], code: int, message: str
) -> None:
    done = plumberd("csharp", *args, cwd=project)
    assert done.returncode == code
    assert message in done.stderr
    assert done.stderr.startswith("plumberd csharp: ")
    assert "Traceback" not in done.stderr


def test_the_ci_recipe_catches_drift(project: Path) -> None:
    generated = plumberd("csharp", "myapp.events", "--out", "../dotnet/Events", cwd=project)
    assert generated.returncode == 0, generated.stderr
    recipe = ("contract", "check", "myapp.events", "--cs", "../dotnet/Events")
    ok = plumberd(*recipe, cwd=project)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (
        ok.stdout
        == "contract check: OK, the C# records read every event (1 event type, 1 C# file)\n"
    )

    # the Python side adds a field: C# ignores it (a warning), --strict fails on it
    events = project / "myapp" / "events.py"
    events.write_text(MYAPP_EVENTS + "    note: str = ''\n")
    added = plumberd(*recipe, cwd=project)
    assert added.returncode == 0
    assert "data ignored: OrderPlaced has no property Note" in added.stdout
    assert plumberd(*recipe, "--strict", cwd=project).returncode == 1

    # the Python side renames a field: C# reads Total as 0 (an error)
    events.write_text(MYAPP_EVENTS.replace("total: Decimal", "amount: Decimal"))
    renamed = plumberd(*recipe, "--json", cwd=project)
    assert renamed.returncode == 1
    report = json.loads(renamed.stdout)
    assert [(f["kind"], f["property"]) for f in report["findings"]] == [
        ("not-read", "Amount"),
        ("not-written", "Total"),
    ]
    assert report["findings"][1]["consequence"].startswith("reads as 0")


def test_contract_check_errors_exit_with_a_code(project: Path) -> None:
    missing = plumberd("contract", "check", "myapp.events", "--cs", "nowhere", cwd=project)
    assert missing.returncode == 6
    assert "no such file or directory: nowhere" in missing.stderr
    no_cs = plumberd("contract", "check", "myapp.events", cwd=project)
    assert no_cs.returncode == 2
    assert "--cs" in no_cs.stderr
    bare = plumberd("contract", cwd=project)
    assert bare.returncode == 2
    assert "check" in bare.stderr


def test_contract_check_names_the_extra_when_tree_sitter_is_missing(project: Path) -> None:
    code = (
        "import sys; sys.modules['tree_sitter'] = None  # as if not installed\n"
        "from plumberd_logging.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    done = plumberd("contract", "check", "myapp.events", "--cs", ".", cwd=project, code=code)
    assert done.returncode == 2
    assert 'pip install "plumberd-logging[csharp]"' in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["csharp", "--help"], ["contract", "check", "--help"]])
def test_help_lists_the_exit_codes(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from plumberd_logging.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out
    assert "   6  not found" in out
    if "contract" in args:
        assert '(pip install "plumberd-logging[csharp]")' in out.replace("\n", " ").replace(
            "  ", " "
        )


def test_importing_the_module_does_not_import_tree_sitter_or_grpc() -> None:
    code = (
        "import sys, plumberd_logging.csharp, plumberd_logging._cli.contract\n"
        "print(sorted(m for m in ('tree_sitter', 'grpc') if m in sys.modules))"
    )
    done = plumberd(code=code)
    assert done.stdout.strip() == "[]", done.stderr
    assert sys.modules  # keep the import of sys used
