"""Ways a test can make the CSMS answer, or not answer, and the error its own calls raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class _NoReply:
    """Marker: the CSMS leaves the CALL unanswered (for the charge point's timeout paths)."""

    def __repr__(self) -> str:
        return "NO_REPLY"


NO_REPLY = _NoReply()


@dataclass(frozen=True)
class CallErrorReply:
    """Answer the CALL with this CALLERROR instead of a CALLRESULT."""

    code: str = "InternalError"
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class CsmsCallError(Exception):
    """The charge point answered a CSMS call with a CALLERROR."""

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}


Reply = dict[str, Any] | CallErrorReply | _NoReply
# A handler gets the request payload (camelCase, as on the wire) and the charge point id.
Handler = Callable[[dict[str, Any], str], Reply | Awaitable[Reply]]
Override = Handler | Mapping[str, Any] | CallErrorReply | _NoReply
