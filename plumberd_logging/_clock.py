"""The one clock text formatter: a Unix timestamp as ISO 8601, cached per second.

    format_timestamp(1764752400.25, utc=True)    # '2025-12-03T09:00:00.25Z'      (log Timestamp)
    format_timestamp(1764752400.25, utc=False)   # '2025-12-03T10:00:00.25+01:00' (Created)

Events come in bursts within one second: that second's text is reused, the fraction is added
(at most 6 digits, trailing zeros trimmed, as C# writes and reads them).
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

from plumberd_logging._accel import speedups

__all__ = ["CACHED_SECONDS", "format_timestamp", "local_zone"]

_ZONES: dict[int, timezone] = {}
#: By ``utc``: (epoch second, "YYYY-MM-DDTHH:MM:SS", suffix) of the last second formatted,
#: replaced as a whole (thread-safe reads); the C accelerator formats within it.
CACHED_SECONDS: dict[bool, tuple[int | None, str, str]] = {
    True: (None, "", "Z"),
    False: (None, "", ""),
}
# (timestamp, its epoch second, its ".ffffff" fraction text): the last one formatted
_FRACTION: tuple[float, int, str] = (math.nan, 0, "")


def local_zone(timestamp: float) -> timezone:
    """The local UTC offset at ``timestamp`` as a (cached) fixed-offset zone."""
    offset = time.localtime(timestamp).tm_gmtoff
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES[offset] = timezone(timedelta(seconds=offset))
    return zone


_STAMP = speedups.format_stamp if speedups is not None else None


def format_timestamp(timestamp: float, *, utc: bool) -> str:
    """``timestamp`` as UTC (``...Z``) or local-offset (``...+HH:MM``) ISO 8601 text."""
    if _STAMP is not None:  # the C twin, within the cached second
        text: str | None = _STAMP(timestamp, CACHED_SECONDS[utc])
        if text is not None:
            return text
    return _format_timestamp(timestamp, utc)


def _format_timestamp(timestamp: float, utc: bool) -> str:
    """:func:`format_timestamp` in Python (the reference of ``_speedups.format_stamp``)."""
    global _FRACTION
    last = _FRACTION
    if last[0] == timestamp:  # a log line formats its time twice: Timestamp and Created
        second, fraction = last[1], last[2]
    else:
        second = math.floor(timestamp)
        micros = round((timestamp - second) * 1e6)
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        fraction = f".{micros:06d}".rstrip("0") if micros else ""
        _FRACTION = (timestamp, second, fraction)
    cached = CACHED_SECONDS[utc]
    if cached[0] != second:
        zone = timezone.utc if utc else local_zone(second)
        text = datetime.fromtimestamp(second, zone).isoformat()
        cached = CACHED_SECONDS[utc] = (second, text[:19], "Z" if utc else text[19:])
    return f"{cached[1]}{fraction}{cached[2]}"
