"""plumberd-logging: publish Python events and logs into EventStoreDB/KurrentDB for C# MicroPlumberd.

The public API is re-exported here; importing this package does not import grpc.
"""

from __future__ import annotations

from plumberd_logging._version import __version__

__all__ = ["__version__"]
