"""Client of the CSMS process's control channel, and the `csms` subcommands of the driver CLI.

The CSMS process writes its control port to <state-dir>/csms-control.port. The CLI plugs the subcommands in
with add_cli(subparsers) and runs a parsed command with `args.run(args)` (returns the exit status).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PORT_FILE = "csms-control.port"
STATE_DIR_ENV = "SIM_STATE_DIR"
DEFAULT_STATE_DIR = ".sim-state"


class ControlError(Exception):
    """The CSMS refused or failed the command (code: an OCPP error code or a failure class name)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV, DEFAULT_STATE_DIR))


def control_port(state_dir: str | Path) -> int:
    """Port of the running CSMS; FileNotFoundError if none was started with this state dir."""
    return int((Path(state_dir) / PORT_FILE).read_text().strip())


async def send_command(
    state_dir: str | Path,
    action: str,
    payload: dict[str, Any] | None = None,
    cp_id: str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Ask the CSMS process to send `action` (or answer "transactions" / "charge_points"); returns the result."""
    reader, writer = await asyncio.open_connection("127.0.0.1", control_port(state_dir))
    try:
        request = {"action": action, "payload": payload or {}, "cp_id": cp_id}
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    if not line:
        raise ControlError("ConnectionError", "the CSMS closed the control connection")
    answer = json.loads(line)
    if not answer.get("ok"):
        raise ControlError(answer["error"]["code"], answer["error"]["description"])
    return answer["result"]


def send_command_sync(
    state_dir: str | Path, action: str, payload: dict[str, Any] | None = None, cp_id: str | None = None
) -> dict[str, Any]:
    return asyncio.run(send_command(state_dir, action, payload, cp_id))


def _optional(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _in_minutes(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds").replace("+00:00", "Z")


PURPOSES = ["TxDefaultProfile", "TxProfile", "ChargePointMaxProfile"]


def charging_profile(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """SetChargingProfile with one limit from now on (an Absolute profile starting now)."""
    schedule = {"chargingRateUnit": args.unit, "startSchedule": _in_minutes(0),
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": args.limit}],
                **_optional(duration=args.duration)}
    profile = {"chargingProfileId": args.id, "stackLevel": args.stack_level, "chargingProfilePurpose": args.purpose,
               "chargingProfileKind": "Absolute", "chargingSchedule": schedule,
               **_optional(transactionId=args.transaction)}
    return "SetChargingProfile", {"connectorId": args.connector, "csChargingProfiles": profile}


# Subcommand -> (arguments, function from parsed args to (action, payload)).
_COMMANDS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]], Any]] = {
    "remote-start": (
        "start a transaction remotely",
        [("connector", {"type": int}), ("tag", {})],
        lambda a: ("RemoteStartTransaction", {"connectorId": a.connector, "idTag": a.tag}),
    ),
    "remote-stop": (
        "stop a transaction remotely",
        [("txid", {"type": int})],
        lambda a: ("RemoteStopTransaction", {"transactionId": a.txid}),
    ),
    "reset": (
        "reset the charge point",
        [("type", {"choices": ["Hard", "Soft"]})],
        lambda a: ("Reset", {"type": a.type}),
    ),
    "unlock": (
        "unlock a connector",
        [("connector", {"type": int})],
        lambda a: ("UnlockConnector", {"connectorId": a.connector}),
    ),
    "availability": (
        "change a connector's availability (0 = the whole charge point)",
        [("connector", {"type": int}), ("type", {"choices": ["Operative", "Inoperative"]})],
        lambda a: ("ChangeAvailability", {"connectorId": a.connector, "type": a.type}),
    ),
    "get-config": (
        "read configuration keys (all without KEY)",
        [("key", {"nargs": "*"})],
        lambda a: ("GetConfiguration", _optional(key=a.key or None)),
    ),
    "set-config": (
        "change a configuration key",
        [("key", {}), ("value", {})],
        lambda a: ("ChangeConfiguration", {"key": a.key, "value": a.value}),
    ),
    "trigger": (
        "ask the charge point to send a message",
        [("message", {}), ("connector", {"type": int, "nargs": "?"})],
        lambda a: ("TriggerMessage", _optional(requestedMessage=a.message, connectorId=a.connector)),
    ),
    "data-transfer": (
        "send a DataTransfer",
        [("vendor", {}), ("message_id", {"nargs": "?"}), ("data", {"nargs": "?"})],
        lambda a: ("DataTransfer", _optional(vendorId=a.vendor, messageId=a.message_id, data=a.data)),
    ),
    "reserve": (
        "reserve a connector (0 = any connector) for a token",
        [("connector", {"type": int}), ("tag", {}),
         ("--id", {"type": int, "default": 1, "dest": "reservation_id", "help": "reservation id (default 1)"}),
         ("--minutes", {"type": float, "default": 5.0, "help": "until it expires (default 5)"}),
         ("--parent", {"default": None, "help": "parent idTag: its group may use the reservation too"})],
        lambda a: ("ReserveNow", _optional(connectorId=a.connector, expiryDate=_in_minutes(a.minutes), idTag=a.tag,
                                           reservationId=a.reservation_id, parentIdTag=a.parent)),
    ),
    "cancel-reservation": (
        "cancel a reservation",
        [("reservation_id", {"type": int})],
        lambda a: ("CancelReservation", {"reservationId": a.reservation_id}),
    ),
    "update-firmware": (
        "make the charge point download and install firmware from URL (FTP, HTTP, HTTPS)",
        [("location", {}), ("--retries", {"type": int}), ("--retry-interval", {"type": int}),
         ("--retrieve-date", {"default": None, "help": "RFC 3339; default now"})],
        lambda a: ("UpdateFirmware", _optional(
            location=a.location, retrieveDate=a.retrieve_date or datetime.now(UTC).isoformat(), retries=a.retries,
            retryInterval=a.retry_interval)),
    ),
    "get-diagnostics": (
        "make the charge point upload an archive of its logs to URL (a directory)",
        [("location", {}), ("--retries", {"type": int}), ("--retry-interval", {"type": int}),
         ("--start-time", {}), ("--stop-time", {})],
        lambda a: ("GetDiagnostics", _optional(location=a.location, retries=a.retries,
                                               retryInterval=a.retry_interval, startTime=a.start_time,
                                               stopTime=a.stop_time)),
    ),
    "clear-cache": ("clear the authorization cache", [], lambda a: ("ClearCache", {})),
    "set-profile": (
        "limit a connector (0 = every connector, or the site for ChargePointMaxProfile) from now on",
        [("connector", {"type": int}), ("limit", {"type": float}),
         ("--unit", {"choices": ["A", "W"], "default": "A"}),
         ("--purpose", {"choices": PURPOSES, "default": "TxDefaultProfile"}),
         ("--stack-level", {"type": int, "default": 0}), ("--id", {"type": int, "default": 1}),
         ("--duration", {"type": int, "help": "seconds (default: no end)"}),
         ("--transaction", {"type": int, "help": "transactionId of a TxProfile (default: the running one)"})],
        charging_profile,
    ),
    "clear-profile": (
        "remove charging profiles (all without options)",
        [("--id", {"type": int}), ("--connector", {"type": int}), ("--purpose", {"choices": PURPOSES}),
         ("--stack-level", {"type": int})],
        lambda a: ("ClearChargingProfile", _optional(id=a.id, connectorId=a.connector,
                                                     chargingProfilePurpose=a.purpose, stackLevel=a.stack_level)),
    ),
    "composite": (
        "the schedule a connector (0 = the site) follows from now on",
        [("connector", {"type": int}), ("duration", {"type": int, "nargs": "?", "default": 3600}),
         ("--unit", {"choices": ["A", "W"]})],
        lambda a: ("GetCompositeSchedule", _optional(connectorId=a.connector, duration=a.duration,
                                                     chargingRateUnit=a.unit)),
    ),
    "transactions": ("list the transactions the CSMS knows", [], lambda a: ("transactions", {})),
}


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register `csms <command> ...` on an argparse subparsers object; each command sets args.run."""
    csms = subparsers.add_parser("csms", help="make the local CSMS send a command")
    csms.add_argument("--state-dir", type=Path, default=None, help=f"where the CSMS wrote {PORT_FILE}")
    csms.add_argument("--cp", dest="cp_id", default=None, help="charge point id (default: the only one)")
    commands = csms.add_subparsers(dest="csms_command", required=True)
    for name, (help_text, arguments, build) in _COMMANDS.items():
        parser = commands.add_parser(name, help=help_text)
        for argument, options in arguments:
            parser.add_argument(argument, **options)
        parser.set_defaults(run=_runner(build))
    return csms


def _runner(build: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        action, payload = build(args)
        state_dir = args.state_dir or default_state_dir()
        try:
            result = send_command_sync(state_dir, action, payload, args.cp_id)
        except FileNotFoundError:
            print(f"no CSMS is running: {state_dir / PORT_FILE} is missing", file=sys.stderr)
            return 2
        except (ControlError, ConnectionError) as exc:
            print(f"csms: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(result, indent=2))
        return 0

    return run
