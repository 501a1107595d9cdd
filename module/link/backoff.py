"""Reconnect timing (RetryBackoff* keys)."""

from __future__ import annotations

import random


class Backoff:
    """Delay before reconnect attempt n: min + rand, then doubled + rand RepeatTimes times, then kept.

    This follows the spec's wording (RepeatTimes doublings); libocpp doubles one time fewer.
    """

    def __init__(self, minimum: float, random_range: float, repeat_times: int,
                 rng: random.Random | None = None) -> None:
        self.minimum = minimum
        self.random_range = random_range
        self.repeat_times = repeat_times
        self._rng = rng or random.Random()
        self._failures = 0
        self._delay = 0.0

    def reset(self) -> None:
        """A connection was established: the next loss starts again at the minimum."""
        self._failures = 0

    def next_delay(self) -> float:
        self._failures += 1
        if self._failures == 1:
            self._delay = self.minimum + self._jitter()
        elif self._failures <= self.repeat_times + 1:
            self._delay = 2 * self._delay + self._jitter()
        return self._delay

    def _jitter(self) -> float:
        return self._rng.uniform(0.0, self.random_range) if self.random_range > 0 else 0.0
