"""A handler's answer with work that must wait until the answer is on the wire (answer first, then act)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    """`payload` goes out as the CALLRESULT; `then` runs once it was written, so that a Reset or a triggered
    message never overtakes (or, closing the connection, swallows) the answer to the CALL that asked for it."""

    payload: dict[str, Any]
    then: Callable[[], Awaitable[None]] | None = None
