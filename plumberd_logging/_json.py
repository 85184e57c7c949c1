"""The one JSON encoder/decoder of the library: orjson (compact, UTF-8, exact Decimals).

    >>> dumps({"Total": Fragment(b"20.00")})
    b'{"Total":20.00}'

Values reach :func:`dumps` already converted (``_values.ValueConverter``): Decimals, and the
numbers orjson would write differently from the JSON C# expects, are ``Fragment``s of exact text.
"""

from __future__ import annotations

from typing import Any

import orjson
from orjson import Fragment, JSONDecodeError, JSONEncodeError

__all__ = ["Fragment", "JSONDecodeError", "JSONEncodeError", "dumps", "loads"]

dumps = orjson.dumps
loads = orjson.loads


def fragment_text(value: Any) -> str | None:
    """The text of a ``Fragment`` (``None`` for anything else)."""
    if isinstance(value, Fragment):
        contents = value.contents
        return contents.decode() if isinstance(contents, bytes) else str(contents)
    return None
