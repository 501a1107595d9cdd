"""One charge point's websocket session, on the `ocpp` package: default answers via @on, plus test hooks.

The library routes CALLs to the @on handlers and matches responses to calls; this subclass adds what a test
CSMS needs on top: every frame recorded raw, per-action overrides (payload, CALLERROR or silence), and calls
with camelCase payloads as the wire has them, a per-call timeout and an early end when the socket closes.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.messages import Call, CallError, CallResult, MessageType, validate_payload
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as call_result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from sim.csms.records import CALL, CALLERROR, CALLRESULT, INVALID
from sim.csms.replies import NO_REPLY, CallErrorReply, CsmsCallError

if TYPE_CHECKING:
    from sim.csms.server import LocalCsms

# The library logs every frame at INFO; the CSMS has its own log, so keep the engine to warnings.
_ENGINE_LOGGER = logging.getLogger("sim.csms.engine")
_ENGINE_LOGGER.setLevel(logging.WARNING)
log = logging.getLogger(__name__)
_ERROR_KEYS = ("errorCode", "errorDescription", "errorDetails")
_KINDS = {MessageType.Call: CALL, MessageType.CallResult: CALLRESULT, MessageType.CallError: CALLERROR}


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class RecordingSession:
    """What the CSMS side of a connection does whatever the OCPP version: record every frame, apply the test's
    overrides, send CALLs with wire payloads. Mixed in before the `ocpp` package's ChargePoint of a version."""

    tracks_state = True
    """Whether answered requests update the CSMS's ChargePointState (1.6 messages)."""

    def __init__(self, cp_id: str, connection: ServerConnection, csms: LocalCsms) -> None:
        super().__init__(cp_id, connection, response_timeout=csms.call_timeout, logger=_ENGINE_LOGGER)
        self.connection = connection
        self._csms = csms
        self._requests_in: dict[str, tuple[str, dict[str, Any]]] = {}
        self._calls_out: dict[str, str] = {}
        self._received_all = asyncio.Event()
        """Set once the socket closed and every frame that came before was routed."""

    async def start(self) -> None:
        try:
            await super().start()
        finally:
            self._received_all.set()

    # --- recording -------------------------------------------------------------------------------------
    async def route_message(self, raw_msg: str) -> None:
        """An answer we cannot send any more (the charge point closed while its CALL was handled) must not end
        the routing: frames that came before the close (our CALL's answer) are still routed."""
        self._record("in", raw_msg)
        try:
            await super().route_message(raw_msg)
        except ConnectionClosed:
            _ENGINE_LOGGER.info("%s: answer not sent, the connection closed", self.id)

    async def _send(self, message: str) -> None:
        self._record("out", message)
        await self.connection.send(message)

    def _record(self, direction: str, raw: str) -> None:
        """Log one frame; pair our CALLRESULTs with the requests they answer to update the state."""
        log_ = self._csms.log
        try:
            frame = json.loads(raw)
            kind = _KINDS[frame[0]]
            unique_id = frame[1]
            if len(frame) < (4 if kind == CALL else 3):
                raise ValueError("short frame")
        except (ValueError, IndexError, KeyError, TypeError):
            log_.append(self.id, direction, INVALID, raw=raw)
            return
        if kind == CALL:
            action, payload = frame[2], frame[3]
            if direction == "in":
                self._requests_in[unique_id] = (action, payload)
            else:
                self._calls_out[unique_id] = action
        else:
            payload = frame[2] if kind == CALLRESULT else dict(zip(_ERROR_KEYS, frame[2:5], strict=False))
            if direction == "out":
                request = self._requests_in.pop(unique_id, None)
                action = request[0] if request else None
                if request is not None and kind == CALLRESULT and isinstance(payload, dict) and self.tracks_state:
                    self._csms.charge_point_state(self.id).apply(request[0], request[1], payload)
            else:
                action = self._calls_out.pop(unique_id, None)
        log_.append(self.id, direction, kind, action=action, unique_id=unique_id, payload=payload, raw=raw)

    # --- answering -------------------------------------------------------------------------------------
    async def _handle_call(self, msg: Call) -> Any:
        override = self._csms.override_for(msg.action)
        if override is None:
            return await super()._handle_call(msg)
        reply: Any = override
        if callable(override):
            try:
                reply = override(msg.payload, self.id)
                if inspect.isawaitable(reply):
                    reply = await reply
            except Exception as exc:  # a failing test handler becomes the CALLERROR a real CSMS would send
                log.exception("override for %s failed", msg.action)
                reply = CallErrorReply("InternalError", f"{type(exc).__name__}: {exc}")
        if reply is NO_REPLY:
            self._requests_in.pop(msg.unique_id, None)
            return None
        if isinstance(reply, CallErrorReply):
            await self._send(CallError(msg.unique_id, reply.code, reply.description, reply.details).to_json())
        else:
            await self._send(msg.create_call_result(dict(reply)).to_json())
        return None

    # --- calling ---------------------------------------------------------------------------------------
    async def send_call(self, action: str, payload: dict[str, Any], timeout: float, validate: bool) -> Any:
        """Send a CALL and return its answer's payload.

        Raises CsmsCallError on CALLERROR, ConnectionError if the socket closes first, TimeoutError, and with
        validate the library's OCPPError when the request or the answer breaks its schema."""
        message = Call(unique_id=str(self._unique_id_generator()), action=action, payload=payload)
        if validate:
            await validate_payload(message, self._ocpp_version)
        async with self._call_lock:  # OCPP-J: one CALL in flight per direction
            await self._send(message.to_json())
            answer = asyncio.ensure_future(self._get_specific_response(message.unique_id, timeout))
            closed = asyncio.ensure_future(self._received_all.wait())
            try:
                done, _ = await asyncio.wait({answer, closed}, return_when=asyncio.FIRST_COMPLETED)
                # An answer that came just before the close is routed already (no longer awaited in
                # _calls_out); the library hands it over in a moment.
                if answer not in done and message.unique_id in self._calls_out:
                    raise ConnectionError(f"{self.id} disconnected before answering {action}")
                await asyncio.wait({answer})
            finally:
                closed.cancel()
                if not answer.done():
                    answer.cancel()
            try:
                response = answer.result()
            except TimeoutError:
                raise TimeoutError(f"{self.id} did not answer {action} within {timeout}s") from None
        if response.message_type_id == MessageType.CallError:
            raise CsmsCallError(response.error_code, response.error_description, response.error_details)
        if validate:  # on a copy: the library turns floats of some actions into Decimals while validating
            await validate_payload(CallResult(response.unique_id, copy.deepcopy(response.payload), action),
                                   self._ocpp_version)
        return response.payload


class CsmsChargePoint(RecordingSession, ChargePoint):
    """The CSMS side of one connected OCPP 1.6 charge point."""

    def _id_tag_info(self, id_tag: str) -> dict[str, Any]:
        return camel_to_snake_case(self._csms.id_tag_info(id_tag))

    @on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=utc_now(), interval=self._csms.heartbeat_interval, status=self._csms.boot_status
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=utc_now())

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=self._id_tag_info(id_tag))

    @on(Action.start_transaction)
    def on_start_transaction(self, id_tag: str, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=self._csms.next_transaction_id(), id_tag_info=self._id_tag_info(id_tag)
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(self, id_tag: str | None = None, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction(id_tag_info=self._id_tag_info(id_tag) if id_tag else None)

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=self._csms.data_transfer_status)

    @on(Action.sign_certificate)
    def on_sign_certificate(self, **_: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status="Accepted")

    @on(Action.status_notification)
    def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    def on_signed_firmware_status(self, **_: Any) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()


class CsmsChargePoint201(RecordingSession, ChargePoint201):
    """The CSMS side of one connected OCPP 2.0.1 charging station: default answers for what a station sends
    during provisioning and charging; the CSMS's state tables stay 1.6's (frames are recorded all the same)."""

    tracks_state = False

    @on(Action201.boot_notification)
    def on_boot_notification(self, **_: Any) -> call_result201.BootNotification:
        return call_result201.BootNotification(
            current_time=utc_now(), interval=self._csms.heartbeat_interval, status=self._csms.boot_status)

    @on(Action201.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result201.Heartbeat:
        return call_result201.Heartbeat(current_time=utc_now())

    @on(Action201.status_notification)
    def on_status_notification(self, **_: Any) -> call_result201.StatusNotification:
        return call_result201.StatusNotification()

    @on(Action201.notify_report)
    def on_notify_report(self, **_: Any) -> call_result201.NotifyReport:
        return call_result201.NotifyReport()

    @on(Action201.security_event_notification)
    def on_security_event(self, **_: Any) -> call_result201.SecurityEventNotification:
        return call_result201.SecurityEventNotification()

    @on(Action201.authorize)
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result201.Authorize:
        status = self._csms.id_tag_info(id_token["id_token"])["status"]
        return call_result201.Authorize(id_token_info={"status": status})

    @on(Action201.transaction_event)
    def on_transaction_event(self, id_token: dict[str, Any] | None = None,
                             **_: Any) -> call_result201.TransactionEvent:
        """An event that carries a token gets its idTokenInfo, by the same rule as Authorize."""
        if id_token is None:
            return call_result201.TransactionEvent()
        status = self._csms.id_tag_info(id_token["id_token"])["status"]
        return call_result201.TransactionEvent(id_token_info={"status": status})

    @on(Action201.meter_values)
    def on_meter_values(self, **_: Any) -> call_result201.MeterValues:
        return call_result201.MeterValues()
