"""Exceptions of the link: what a caller of `OcppLink.call` or a handler can see or raise."""

from __future__ import annotations

from typing import Any


class OcppError(Exception):
    """A CALLERROR: raised by a handler to answer with that code, or received for one of our CALLs."""

    def __init__(self, code: str, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details = details or {}


class CallErrorReceived(OcppError):
    """The CSMS answered our CALL with a CALLERROR."""


class InvalidResponse(CallErrorReceived):
    """The CSMS answered with a CALLRESULT that fails its schema; code is the violation kind, as if we sent it."""


class InvalidPayload(OcppError):
    """Our own outgoing payload still fails its schema after `make_valid`; nothing was sent."""


class CallTimeout(Exception):
    """No reply to our CALL within its timeout."""


class LinkDown(Exception):
    """The websocket is not connected (or dropped while the CALL was in flight)."""


class LinkConfigError(ValueError):
    """The link settings cannot work (e.g. AuthorizationKey too short); str() is the one-line reason."""
