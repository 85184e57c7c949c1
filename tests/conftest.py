"""Shared pytest configuration for the whole suite."""

from __future__ import annotations

import sys

import pytest

__all__: list[str] = []

# pytester drives the pytest plugin of plumberd_logging.testing in tests/testing/.
pytest_plugins = ("pytester",)

#: CPython 3.12.0-3.12.2 forbid starting threads once the interpreter exits (gh-113964, fixed
#: in 3.12.3), and gRPC starts one per streaming call, so nothing can be sent at exit there.
NO_THREADS_AT_EXIT = (3, 12, 0) <= sys.version_info[:3] < (3, 12, 3)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if NO_THREADS_AT_EXIT:
        skip = pytest.mark.skip(
            reason="this Python (3.12.0-3.12.2) cannot start threads at exit (CPython "
            "gh-113964), so events left at exit cannot be sent; fixed in 3.12.3"
        )
        for item in items:
            # tests/lifecycle ends processes at exit, where this Python cannot send anything.
            if item.get_closest_marker("delivers_at_exit") or "lifecycle" in item.path.parts:
                item.add_marker(skip)
