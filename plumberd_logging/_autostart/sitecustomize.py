"""Run at interpreter start-up in programs started by ``plumberd run`` (this directory is put
first on their ``PYTHONPATH``): attach plumberd-logging from the ``PLUMBERD_*`` environment, then
load the ``sitecustomize`` the program would have loaded without us, if any.
"""

from __future__ import annotations

import importlib
import os
import sys


def _install() -> None:
    try:
        from plumberd_logging.bootstrap import install

        install()
    except Exception as exc:  # never stop the program; say why its events are missing
        sys.stderr.write(f"plumberd-logging: not attached: {type(exc).__name__}: {exc}\n")


def _chain() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        importlib.import_module("sitecustomize")
    except ModuleNotFoundError:
        pass
    finally:
        sys.path[:] = saved
        if ours is not None and "sitecustomize" not in sys.modules:
            sys.modules["sitecustomize"] = ours


_install()
_chain()
