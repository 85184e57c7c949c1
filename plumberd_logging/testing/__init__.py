"""In-process EventStoreDB/KurrentDB test server for plumberd-logging (work in progress)."""

from __future__ import annotations

__all__: list[str] = []
