"""OcppLink: one websocket to the CSMS, kept up forever, carrying OCPP-J RPC with schema checks both ways."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import math
import os
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from module.clock import Clock, monotonic_clock
from module.link.backoff import Backoff
from module.link.connection import ConnectFailed, ConnectFailure, open_connection
from module.link.errors import (
    CallErrorReceived,
    CallTimeout,
    InvalidPayload,
    InvalidResponse,
    LinkConfigError,
    LinkDown,
    OcppError,
)
from module.link.message_log import MessageLog
from module.link.protocol import OCPP16, ProtocolSpec
from module.link.schemas import schema_set
from module.link.secrets import SECRET_CONFIG_KEYS, SECRETS, install_secret_masking, mask_frame_text, mask_text
from module.link.settings import LinkSettings

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]] | dict[str, Any]]
ConnectionListener = Callable[[bool], Any]
FailureListener = Callable[[ConnectFailure], Any]

CALL, CALLRESULT, CALLERROR = 2, 3, 4
_ID_IN_BROKEN_FRAME = re.compile(r'^\s*\[\s*\d+\s*,\s*"([^"\\]{1,36})"')
_to_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(separators=...) builds an encoder per call


@dataclass(slots=True)
class _Pending:
    """One CALL of ours waiting for its reply."""

    action: str
    future: asyncio.Future[dict[str, Any]]
    deadline: float


class OcppLink:
    """The charge point's end of OCPP-J: reconnects with back-off, pings, one CALL of ours in flight,
    CSMS CALLs answered by registered handlers running as their own tasks."""

    def __init__(self, settings: LinkSettings, spec: ProtocolSpec = OCPP16, *,
                 message_log: MessageLog | None = None, clock: Clock = monotonic_clock,
                 rng: random.Random | None = None) -> None:
        self.spec = spec
        self.schemas = schema_set(spec)
        self._settings = settings
        self._message_log = message_log
        self._clock = clock
        self._backoff = Backoff(settings.retry_backoff_wait_minimum, settings.retry_backoff_random_range,
                                settings.retry_backoff_repeat_times, rng)
        self._handlers: dict[str, Handler] = {}
        self._gate: Callable[[str], bool] | None = None
        self._supported_profiles: frozenset[str] | None = None
        self._connection_listeners: list[ConnectionListener] = []
        self._failure_listeners: list[FailureListener] = []
        self._ws: ClientConnection | None = None
        self._connected = False
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()
        self._pending: dict[str, _Pending] = {}
        self._deadline_timer: asyncio.TimerHandle | None = None
        # unique ids: a random prefix per link, then a counter (no random bytes per CALL, and the constant
        # prefix costs next to nothing under permessage-deflate, unlike a fresh uuid4)
        self._id_prefix = os.urandom(8).hex() + "-"
        self._id_counter = itertools.count(1)
        self._call_lock = asyncio.Lock()
        self._wanted = asyncio.Event()
        self._kick = asyncio.Event()
        self._settings_changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last_failure: ConnectFailure | None = None
        if settings.authorization_key:
            SECRETS.add(settings.authorization_key)
        install_secret_masking()

    # --- lifecycle and connection control -------------------------------------------------------------

    @property
    def settings(self) -> LinkSettings:
        return self._settings

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        """Begin connecting; returns at once (use wait_connected); reconnects until stop() or disconnect()."""
        if self._runner is None:
            self._wanted.set()
            self._runner = asyncio.create_task(self._supervise(), name="ocpp-link")

    async def stop(self) -> None:
        """Close the websocket and end every task of the link."""
        self._wanted.clear()
        ws = self._ws
        if ws is not None:
            await ws.close(code=1000, reason="charge point stopping")
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        timer, self._deadline_timer = self._deadline_timer, None
        if timer is not None:
            timer.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._message_log is not None:
            self._message_log.close()

    async def disconnect(self) -> None:
        """Close the websocket and stay down until connect()."""
        self._wanted.clear()
        self._kick.set()
        ws = self._ws
        if ws is not None:
            await ws.close(code=1000, reason="disconnect requested")
        await self._down.wait()

    async def connect(self) -> None:
        """Leave the disconnected state or cut a back-off wait short: the next attempt starts now."""
        self._backoff.reset()
        self._wanted.set()
        self._kick.set()

    async def wait_connected(self) -> None:
        await self._up.wait()

    async def wait_disconnected(self) -> None:
        await self._down.wait()

    def add_connection_listener(self, callback: ConnectionListener) -> None:
        """callback(connected) runs synchronously on each change (a returned coroutine becomes a task)."""
        self._connection_listeners.append(callback)

    def add_failure_listener(self, callback: FailureListener) -> None:
        """callback(ConnectFailure) per failed attempt; failure.security_event names what to report."""
        self._failure_listeners.append(callback)

    def update_settings(self, **changes: Any) -> None:
        """Ping interval and pong timeout apply at once, back-off from the next wait, the rest at next connect."""
        self._settings = replace(self._settings, **changes)
        if changes.get("authorization_key"):
            SECRETS.add(changes["authorization_key"])
        self._backoff.minimum = self._settings.retry_backoff_wait_minimum
        self._backoff.random_range = self._settings.retry_backoff_random_range
        self._backoff.repeat_times = self._settings.retry_backoff_repeat_times
        previous, self._settings_changed = self._settings_changed, asyncio.Event()
        previous.set()

    # --- RPC API -------------------------------------------------------------------------------------------

    def register_handler(self, action: str, handler: Handler) -> None:
        """handler(payload) -> response payload; raise OcppError(code, description) to answer a CALLERROR."""
        self._handlers[action] = handler

    def set_incoming_gate(self, gate: Callable[[str], bool] | None) -> None:
        """gate(action) False: the CALL is dropped unanswered (BootNotification Rejected)."""
        self._gate = gate

    def set_supported_profiles(self, profiles: Iterable[str] | None) -> None:
        """Feature profiles we serve; CALLs of other profiles get NotSupported. None: all."""
        self._supported_profiles = None if profiles is None else frozenset(profiles)

    def make_valid(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The request payload repaired as the link would before sending (for the queue to persist)."""
        if self.schemas.check_request(action, payload) is None:
            return payload
        return self.schemas.make_valid(action, payload)

    async def call(self, action: str, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload; raises CallErrorReceived (InvalidResponse),
        CallTimeout, LinkDown, or InvalidPayload (nothing sent)."""
        if not self.schemas.knows(action):
            raise InvalidPayload(self.spec.error_codes.not_implemented, f"{action} is not an OCPP action")
        violation = self.schemas.check_request(action, payload)
        if violation is not None:
            payload = self.schemas.make_valid(action, payload)
            violation = self.schemas.check_request(action, payload)
            if violation is not None:
                raise InvalidPayload(getattr(self.spec.error_codes, violation.kind), violation.description)
        async with self._call_lock:
            ws = self._ws
            if ws is None:
                raise LinkDown("not connected")
            unique_id = f"{self._id_prefix}{next(self._id_counter)}"
            text = _to_json([CALL, unique_id, action, payload])
            loop = asyncio.get_running_loop()
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            pending = self._pending[unique_id] = _Pending(action, future, math.inf)
            try:
                self._trace("out", text, action)
                await ws.send(text)
                pending.deadline = loop.time() + (self._settings.call_timeout if timeout is None else timeout)
                self._watch_deadline(pending.deadline)
                return await future
            except ConnectionClosed:
                raise LinkDown("connection closed while sending") from None
            finally:
                self._pending.pop(unique_id, None)

    def _watch_deadline(self, deadline: float) -> None:
        """One timer serves every CALL: it is re-armed only when it would fire after this deadline (a timer per
        CALL, as asyncio.timeout makes, cost about as much as the whole CALLRESULT handling)."""
        timer = self._deadline_timer
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        self._deadline_timer = asyncio.get_running_loop().call_at(deadline, self._expire_calls)

    def _expire_calls(self) -> None:
        """Fail the CALLs past their deadline with CallTimeout; re-arm for the earliest one still waiting."""
        self._deadline_timer = None
        now = asyncio.get_running_loop().time()
        waiting = []
        for unique_id, pending in self._pending.items():
            if pending.future.done():
                continue
            if pending.deadline <= now:
                pending.future.set_exception(CallTimeout(f"{pending.action} {unique_id}: no reply in time"))
            else:
                waiting.append(pending.deadline)
        if waiting:
            self._watch_deadline(min(waiting))

    # --- connection supervision ----------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            await self._wanted.wait()
            settings = self._settings
            try:
                settings.check()
            except LinkConfigError as exc:
                self._failed(ConnectFailure("config", str(exc)))
                await self._wait_any(self._settings_changed.wait(), self._kick_wait())
                continue
            try:
                ws = await open_connection(settings, self.spec)
            except ConnectFailed as exc:
                self._failed(exc.failure)
                await self._pause(self._backoff.next_delay())
                continue
            if not self._wanted.is_set():
                await ws.close(code=1000, reason="disconnect requested")
                continue
            self._backoff.reset()
            await self._serve(ws)
            if self._wanted.is_set():
                await self._pause(self._backoff.next_delay())

    def _kick_wait(self) -> Awaitable[Any]:
        self._kick.clear()
        return self._kick.wait()

    async def _pause(self, delay: float) -> None:
        logger.info("reconnecting in %.1f s", delay)
        await self._wait_any(self._clock.sleep(delay), self._kick_wait())

    @staticmethod
    async def _wait_any(*awaitables: Awaitable[Any]) -> None:
        tasks = [asyncio.ensure_future(a) for a in awaitables]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    def _failed(self, failure: ConnectFailure) -> None:
        self.last_failure = failure
        logger.warning("connection to %s failed (%s): %s", self._safe_url(), failure.kind, failure.detail)
        if self._message_log is not None:
            self._message_log.event(f"connection failed ({failure.kind}): {failure.detail}")
        for callback in list(self._failure_listeners):
            self._notify(callback, failure)

    def _safe_url(self) -> str:
        try:
            return self._settings.url()
        except LinkConfigError:
            return mask_text(self._settings.central_system_uri)

    async def _serve(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._set_connected(True)
        pinger = asyncio.create_task(self._ping_loop(ws), name="ocpp-link-ping")
        try:
            await self._read_loop(ws)
        finally:
            pinger.cancel()
            self._ws = None
            for pending in self._pending.values():
                if not pending.future.done():
                    pending.future.set_exception(LinkDown("connection lost"))
            self._set_connected(False)
            await asyncio.gather(pinger, return_exceptions=True)

    def _set_connected(self, connected: bool) -> None:
        if connected == self._connected:
            return
        self._connected = connected
        (self._up if connected else self._down).set()
        (self._down if connected else self._up).clear()
        logger.info("%s %s", "connected to" if connected else "disconnected from", self._safe_url())
        if self._message_log is not None:
            self._message_log.event(("connected to " if connected else "disconnected from ") + self._safe_url())
        for callback in list(self._connection_listeners):
            self._notify(callback, connected)

    def _notify(self, callback: Callable[[Any], Any], value: Any) -> None:
        try:
            result = callback(value)
            if inspect.isawaitable(result):
                self._spawn(result)
        except Exception:
            logger.exception("listener %r failed", callback)

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ping_loop(self, ws: ClientConnection) -> None:
        """Pings every WebSocketPingInterval; a missing pong means the link is lost: abort so we reconnect."""
        while True:
            changed = self._settings_changed
            interval = self._settings.ping_interval
            if interval <= 0:
                await changed.wait()
                continue
            try:
                await asyncio.wait_for(changed.wait(), interval)
                continue
            except TimeoutError:
                pass
            try:
                pong = await ws.ping()
                await asyncio.wait_for(pong, self._settings.pong_timeout)
            except ConnectionClosed:
                return
            except TimeoutError:
                logger.warning("no pong within %.1f s: connection lost", self._settings.pong_timeout)
                if self._message_log is not None:
                    self._message_log.event("pong timeout: connection lost")
                ws.transport.abort()
                return

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                try:
                    await self._on_frame(ws, message)
                except ConnectionClosed:
                    raise
                except Exception:  # nothing a peer sends may end the reader
                    logger.exception("frame handling failed")
        except ConnectionClosed as exc:
            logger.info("websocket closed: %s", exc)

    # --- inbound frames ------------------------------------------------------------------------------------

    async def _on_frame(self, ws: ClientConnection, message: str | bytes) -> None:
        codes = self.spec.error_codes
        if isinstance(message, bytes):
            try:
                message = message.decode("utf-8")
            except UnicodeDecodeError:
                self._trace("in", repr(message[:200]), None)
                await self._send_error(ws, "-1", codes.rpc_framework, "binary frame is not UTF-8 JSON")
                return
        try:
            frame = json.loads(message)
        except ValueError:
            self._trace("in", message, None)
            match = _ID_IN_BROKEN_FRAME.match(message)
            if message.lstrip().startswith(("[3", "[4")):
                logger.warning("unparsable reply dropped")
                return
            await self._send_error(ws, match.group(1) if match else "-1", codes.rpc_framework,
                                   "frame is not valid JSON")
            return
        if not isinstance(frame, list) or not frame or type(frame[0]) is not int:
            self._trace("in", message, None)
            unique_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else None
            await self._send_error(ws, unique_id if isinstance(unique_id, str) else "-1",
                                   codes.rpc_framework, "frame is not an OCPP-J array")
            return
        kind = frame[0]
        if kind == CALL:
            await self._on_call(ws, frame, message)
        elif kind in (CALLRESULT, CALLERROR):
            self._on_reply(frame, message)
            # Let the caller act on the reply before the next frame is read: a CSMS may send a request right
            # after accepting BootNotification, and the registration gate must already be open for it.
            await asyncio.sleep(0)
        else:
            self._trace("in", message, None)
            unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else "-1"
            await self._send_error(ws, unique_id, codes.message_type_not_supported,
                                   f"message type {kind} is not supported")

    async def _on_call(self, ws: ClientConnection, frame: list[Any], text: str) -> None:
        codes = self.spec.error_codes
        if len(frame) != 4 or not isinstance(frame[1], str) or not isinstance(frame[2], str):
            self._trace("in", text, None)
            unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else "-1"
            await self._send_error(ws, unique_id, codes.rpc_framework,
                                   "CALL must be [2, uniqueId, action, payload]")
            return
        _, unique_id, action, payload = frame
        self._trace("in", text, action)
        if action == "ChangeConfiguration" and isinstance(payload, dict) and isinstance(payload.get("value"), str) \
                and payload.get("key") in SECRET_CONFIG_KEYS:
            SECRETS.add(payload["value"])
        if self._gate is not None and not self._gate(action):
            logger.info("%s %s dropped unanswered: not accepted in this registration state", action, unique_id)
            return
        if not self.schemas.knows(action):
            await self._send_error(ws, unique_id, codes.not_implemented, f"{action[:50]} is not known")
            return
        profile = self.spec.profile_of(action)
        handler = self._handlers.get(action)
        if handler is None or (self._supported_profiles is not None and profile not in self._supported_profiles):
            await self._send_error(ws, unique_id, codes.not_supported, f"{action} is not supported")
            return
        violation = self.schemas.check_request(action, payload)
        if violation is not None:
            await self._send_error(ws, unique_id, getattr(codes, violation.kind), violation.description)
            return
        self._spawn(self._answer(ws, unique_id, action, handler, payload))

    async def _answer(self, ws: ClientConnection, unique_id: str, action: str, handler: Handler,
                      payload: dict[str, Any]) -> None:
        """Runs one handler; exactly one reply (CALLRESULT or CALLERROR) leaves on the CALL's connection."""
        codes = self.spec.error_codes
        try:
            result = handler(payload)
            if inspect.isawaitable(result):
                result = await result
        except OcppError as exc:
            await self._send_error(ws, unique_id, exc.code, exc.description, exc.details)
            return
        except Exception as exc:
            logger.exception("%s handler failed", action)
            await self._send_error(ws, unique_id, codes.internal, f"{action} handler failed: {type(exc).__name__}")
            return
        if not isinstance(result, dict):
            logger.error("%s handler returned %s, not a payload object", action, type(result).__name__)
            await self._send_error(ws, unique_id, codes.internal, f"{action} handler returned no payload")
            return
        if self.schemas.check_response(action, result) is not None:
            result = self.schemas.make_valid(action, result, response=True)
            violation = self.schemas.check_response(action, result)
            if violation is not None:
                logger.error("%s handler answer fails its schema: %s", action, violation.description)
                await self._send_error(ws, unique_id, codes.internal, f"{action} answer invalid")
                return
        await self._send(ws, _to_json([CALLRESULT, unique_id, result]), action)

    def _on_reply(self, frame: list[Any], text: str) -> None:
        unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None
        pending = self._pending.get(unique_id) if unique_id is not None else None
        if pending is None or pending.future.done():
            self._trace("in", text, None)
            logger.warning("late or unknown reply %s dropped", unique_id)
            return
        action, future = pending.action, pending.future
        self._trace("in", text, action)
        codes = self.spec.error_codes
        if frame[0] == CALLRESULT:
            if len(frame) != 3:
                future.set_exception(InvalidResponse(codes.rpc_framework, "CALLRESULT must have 3 elements"))
                return
            violation = self.schemas.check_response(action, frame[2])
            if violation is not None:
                logger.warning("%s response fails its schema: %s", action, violation.description)
                future.set_exception(InvalidResponse(getattr(codes, violation.kind), violation.description))
            else:
                future.set_result(frame[2])
            return
        if len(frame) not in (4, 5) or not isinstance(frame[2], str):
            future.set_exception(InvalidResponse(codes.rpc_framework, "malformed CALLERROR"))
            return
        description = mask_text(frame[3]) if isinstance(frame[3], str) else ""
        details = frame[4] if len(frame) == 5 and isinstance(frame[4], dict) else {}
        future.set_exception(CallErrorReceived(frame[2], description, details))

    # --- outbound frames -----------------------------------------------------------------------------------

    async def _send_error(self, ws: ClientConnection, unique_id: str, code: str, description: str,
                          details: dict[str, Any] | None = None) -> None:
        frame = [CALLERROR, unique_id, code, mask_text(description)[:255], details or {}]
        await self._send(ws, _to_json(frame), None)

    async def _send(self, ws: ClientConnection, text: str, action: str | None) -> None:
        self._trace("out", text, action)
        try:
            await ws.send(text)
        except ConnectionClosed:
            logger.warning("answer not sent: connection closed")

    def _trace(self, direction: str, text: str, action: str | None) -> None:
        if self._message_log is not None:
            self._message_log.frame(direction, text, action)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", direction, mask_frame_text(text))
