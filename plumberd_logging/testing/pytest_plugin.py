"""pytest plugin of plumberd_logging.testing (fixtures land here; work in progress)."""

from __future__ import annotations

__all__: list[str] = []
