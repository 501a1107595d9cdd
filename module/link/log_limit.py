"""Log lines a peer can provoke, rate-limited: a flood of bad frames must not become a flood of log lines."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable


class RateLimitedLog:
    """Passes at most `burst` lines per `window` seconds to the logger and counts the rest; the next line that
    passes says how many were left out. One per kind of line (refused frames, bugs, failed writes), so a flood
    of one kind cannot hide the first line of another."""

    def __init__(self, logger: logging.Logger, *, burst: int = 10, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._burst = burst
        self._window = window
        self._clock = clock
        self._window_start = -math.inf
        self._passed = 0
        self._unreported = 0
        self.suppressed = 0  # lines left out since creation, for tests and diagnostics

    def log(self, level: int, message: str, *args: object, exc_info: bool = False) -> None:
        """Like Logger.log; exc_info=True (inside an except block) adds the traceback when the line passes."""
        if not self._logger.isEnabledFor(level):
            return
        now = self._clock()
        if now - self._window_start >= self._window:
            self._window_start, self._passed = now, 0
        if self._passed >= self._burst:
            self._unreported += 1
            self.suppressed += 1
            return
        self._passed += 1
        if self._unreported:
            message += " (%d similar lines suppressed)"
            args = (*args, self._unreported)
            self._unreported = 0
        self._logger.log(level, message, *args, exc_info=exc_info, stacklevel=2)


def loggable(text: str, limit: int = 60) -> str:
    """A peer's text fit for one log line: cut to `limit`, control characters, non-ASCII and lone surrogates
    escaped as in JSON, so it can neither split the line nor make the log handler's encoder raise."""
    cut = json.dumps(text[:limit])[1:-1]
    return cut + "..." if len(text) > limit else cut
