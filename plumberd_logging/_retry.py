"""Retry policy of the writer: capped exponential backoff with jitter, and an optional deadline."""

from __future__ import annotations

import dataclasses
import random

__all__ = ["RetryPolicy"]


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the writer retries transient failures (always with the same event ids).

    The n-th wait is ``initial_backoff * multiplier**n``, capped at ``max_backoff``, then spread
    by ``jitter`` (0.2 = up to 20 % shorter). ``give_up_after`` (seconds of continuous failure of
    one batch) dead-letters the batch; ``None`` (default) retries until the writer is closed,
    while the bounded queue and its overflow policy protect memory.

        EventWriter(url, retry=RetryPolicy(max_backoff=30, give_up_after=600))
    """

    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    give_up_after: float | None = None

    def __post_init__(self) -> None:
        for name in ("initial_backoff", "max_backoff", "multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(
                    f"RetryPolicy({name}=...): expected a positive number, got {value!r}"
                )
        if self.multiplier < 1:
            raise ValueError(f"RetryPolicy(multiplier=...): expected >= 1, got {self.multiplier!r}")
        if self.max_backoff < self.initial_backoff:
            raise ValueError("RetryPolicy: max_backoff must be >= initial_backoff")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"RetryPolicy(jitter=...): expected 0..1, got {self.jitter!r}")
        if self.give_up_after is not None and not self.give_up_after > 0:
            raise ValueError(
                f"RetryPolicy(give_up_after=...): expected seconds > 0 or None, "
                f"got {self.give_up_after!r}"
            )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** min(attempt, 64))
        return base * (1.0 - self.jitter * random.random())
