"""EVerest v0.25 wire envelopes (`{"msg_type": T, "data": ...}`), built and parsed in one place."""

from __future__ import annotations

import json
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class MsgType(StrEnum):
    """The only msg_type values EVerest knows; any other value is refused."""

    VAR = "Var"
    CMD = "Cmd"
    CMD_RESULT = "CmdResult"
    EXTERNAL_MQTT = "ExternalMQTT"
    RAISE_ERROR = "RaiseError"
    CLEAR_ERROR = "ClearError"
    GET_CONFIG = "GetConfig"
    GET_CONFIG_RESPONSE = "GetConfigResponse"
    HEARTBEAT = "Heartbeat"
    MODULE_READY = "ModuleReady"
    GLOBAL_READY = "GlobalReady"


ERROR_TYPE_KEY = "__everest__error_type"
ERROR_MSG_KEY = "__everest__error_msg"
ACTIVE = "Active"
CLEARED_STATES = ("ClearedByModule", "ClearedByReboot")


class EnvelopeError(ValueError):
    """A payload that is not valid JSON, or names an unknown msg_type."""


@dataclass(frozen=True)
class Envelope:
    msg_type: MsgType
    data: Any


def envelope(msg_type: MsgType, data: Any) -> dict:
    return {"msg_type": str(msg_type), "data": data}


def encode(message: dict) -> bytes:
    """Compact JSON with sorted keys, as nlohmann's dump() sends it."""
    return json.dumps(message, separators=(",", ":"), sort_keys=True).encode()


def decode(payload: bytes | str) -> Envelope:
    """Parse a framework payload; a missing msg_type means ExternalMQTT (EVerest's rule)."""
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"broken JSON: {exc}") from None
    if not isinstance(message, dict) or "msg_type" not in message:
        return Envelope(MsgType.EXTERNAL_MQTT, message)
    try:
        msg_type = MsgType(message["msg_type"])
    except (ValueError, TypeError):
        raise EnvelopeError(f"unknown msg_type {message['msg_type']!r}") from None
    return Envelope(msg_type, message.get("data"))


# commands
def cmd_call(call_id: str, args: dict, origin: str) -> dict:
    return envelope(MsgType.CMD, {"id": call_id, "args": args, "origin": origin})


def cmd_result(call_id: str, origin: str, retval: Any) -> dict:
    """The result keeps EVerest's double `data` and `"type":"result"`; `origin` is the callee."""
    return envelope(MsgType.CMD_RESULT,
                    {"type": "result", "data": {"id": call_id, "retval": retval, "origin": origin}})


_NO_RETVAL = object()


def cmd_error(call_id: str, origin: str, error_type: str, message: str, retval: Any = _NO_RETVAL) -> dict:
    """An error result; `retval` is only present when result validation failed after the handler ran."""
    inner: dict[str, Any] = {"id": call_id, "origin": origin,
                             "error": {ERROR_TYPE_KEY: error_type, ERROR_MSG_KEY: message}}
    if retval is not _NO_RETVAL:
        inner["retval"] = retval
    return envelope(MsgType.CMD_RESULT, {"type": "result", "data": inner})


# vars
def var(value: Any) -> dict:
    return envelope(MsgType.VAR, {"data": value})


# ready handshake
def module_ready(ready: bool = True) -> dict:
    return envelope(MsgType.MODULE_READY, ready)


def global_ready(ready: bool = True) -> dict:
    return envelope(MsgType.GLOBAL_READY, ready)


# config service
def get_config_request(origin: str, request: dict | None = None) -> dict:
    return envelope(MsgType.GET_CONFIG,
                    {"type": "Get", "origin": origin, "request": request or {"type": "Module"}})


def get_config_response(response: dict, status: str = "Ok", status_info: str = "", kind: str = "Get") -> dict:
    return envelope(MsgType.GET_CONFIG_RESPONSE,
                    {"status": status, "status_info": status_info, "type": kind, "response": response})


def module_config_response(module_config_data: dict) -> dict:
    """Answer to a `Get` of type `Module`: `data` is the serialized module config (spec 5.5)."""
    return get_config_response({"type": "Module", "data": module_config_data})


def definition(data: Any) -> dict:
    """Retained definition topics carry their payload as a GetConfigResponse."""
    return envelope(MsgType.GET_CONFIG_RESPONSE, data)


def metadata(module_name: str, provides: dict[str, str]) -> dict:
    """`provides` maps impl id to interface name."""
    return envelope(MsgType.GET_CONFIG_RESPONSE, {
        "module": module_name,
        "provides": {impl: {"interface": interface} for impl, interface in provides.items()},
    })


# errors
def timestamp_now() -> str:
    """RFC 3339 UTC with milliseconds, as EVerest's date library writes it."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass
class ErrorEvent:
    """One raised or cleared error, as on the wire (`I/error/<ns>/<Name>`)."""

    type: str
    sub_type: str = ""
    message: str = ""
    description: str = ""
    severity: str = "High"
    state: str = ACTIVE
    origin_module: str = ""
    origin_impl: str = ""
    mapping: dict | None = None
    vendor_id: str = "everest"
    timestamp: str = field(default_factory=timestamp_now)
    uuid: str = field(default_factory=lambda: str(uuid_module.uuid4()))

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    def to_wire(self) -> dict:
        origin: dict[str, Any] = {"module_id": self.origin_module, "implementation_id": self.origin_impl}
        if self.mapping:
            origin["mapping"] = self.mapping
        return {
            "type": self.type, "sub_type": self.sub_type, "message": self.message,
            "description": self.description, "origin": origin, "vendor_id": self.vendor_id,
            "severity": self.severity, "state": self.state, "timestamp": self.timestamp, "uuid": self.uuid,
        }

    @classmethod
    def from_wire(cls, data: dict) -> ErrorEvent:
        origin = data.get("origin") or {}
        return cls(
            type=data["type"], sub_type=data.get("sub_type", ""), message=data.get("message", ""),
            description=data.get("description", ""), severity=data.get("severity", "High"),
            state=data.get("state", ACTIVE), origin_module=origin.get("module_id", ""),
            origin_impl=origin.get("implementation_id", ""), mapping=origin.get("mapping"),
            vendor_id=data.get("vendor_id", ""), timestamp=data.get("timestamp", ""),
            uuid=data.get("uuid", ""),
        )


def raise_error(event: ErrorEvent) -> dict:
    return envelope(MsgType.RAISE_ERROR, event.to_wire())


def clear_error(event: ErrorEvent) -> dict:
    return envelope(MsgType.CLEAR_ERROR, event.to_wire())
