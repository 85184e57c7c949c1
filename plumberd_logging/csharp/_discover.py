"""Find the event classes a command line names: a module, a package, a file, or ``module:Class``.

find_event_classes("myapp.events")          # Event subclasses defined in the module
find_event_classes("myapp")                 # ... in the package and all its submodules
find_event_classes("src/myapp/events.py")   # a file (imported under its package name)
find_event_classes("myapp.events:Paid")     # one class (also a dataclass or pydantic model)
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from plumberd_logging.events import Event

__all__ = ["TargetError", "find_event_classes"]


class TargetError(LookupError):
    """A target names no module, file or class (``not_found``), or importing it failed."""

    def __init__(self, message: str, *, not_found: bool = True) -> None:
        super().__init__(message)
        self.not_found = not_found


def _import(name: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise TargetError(f"{target}: no module named {exc.name!r}") from None
        raise TargetError(f"{target}: importing {name} failed: {exc}", not_found=False) from exc
    except Exception as exc:
        raise TargetError(
            f"{target}: importing {name} failed: {type(exc).__name__}: {exc}", not_found=False
        ) from exc


def _module_name_of_file(path: Path) -> str:
    """Import name of a file: its package path (folders with ``__init__.py``) from the root,
    whose parent goes on ``sys.path``, as pytest's default import mode does."""
    path = path.resolve()
    parts = [path.stem] if path.name != "__init__.py" else []
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    root = str(folder)
    if root not in sys.path:
        sys.path.insert(0, root)
    return ".".join(parts)


def _classes_in(module: ModuleType) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Event)
        and value is not Event
        and value.__module__ == module.__name__
    ]


def _modules(module: ModuleType, target: str) -> list[ModuleType]:
    found = [module]
    path = getattr(module, "__path__", None)
    if path is not None:  # a package: every submodule, in name order
        names = sorted(info.name for info in pkgutil.walk_packages(path, module.__name__ + "."))
        found += [_import(name, target) for name in names]
    return found


def find_event_classes(target: str) -> list[type]:
    """The event classes ``target`` names, in module then definition order (no duplicates).

    Raises :class:`TargetError` when nothing by that name can be imported; an empty list means
    the module has no ``Event`` subclasses of its own.
    """
    if not isinstance(target, str) or not target.strip():
        raise TargetError(f"expected a module, a .py file or module:Class, got {target!r}")
    spec, _, attr = target.partition(":")
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec)
        if not path.is_file():
            raise TargetError(f"{target}: no such file")
        name = _module_name_of_file(path)
    else:
        name = spec
    module = _import(name, target)
    if attr:
        value: object = module
        for part in attr.split("."):
            value = getattr(value, part, None)
            if value is None:
                raise TargetError(f"{target}: {name} has no attribute {attr!r}")
        if not isinstance(value, type):
            raise TargetError(f"{target}: {attr} is not a class")
        return [value]
    classes: list[type] = []
    for mod in _modules(module, target):
        classes += [c for c in _classes_in(mod) if c not in classes]
    return classes
