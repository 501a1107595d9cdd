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
from module.link.log_limit import RateLimitedLog, loggable
from module.link.message_log import MessageLog
from module.link.protocol import OCPP16, ProtocolSpec
from module.link.reply import Reply
from module.link.schemas import schema_set
from module.link.secrets import SECRETS, install_secret_masking, learn_secrets, mask_frame_text, mask_text
from module.link.settings import LinkSettings

logger = logging.getLogger(__name__)

Answer = dict[str, Any] | Reply
Handler = Callable[[dict[str, Any]], Awaitable[Answer] | Answer]
ConnectionListener = Callable[[bool], Any]
FailureListener = Callable[[ConnectFailure], Any]

CALL, CALLRESULT, CALLERROR = 2, 3, 4
# Deepest nesting of arrays and objects a frame may have, its own array included. OCPP 1.6 frames need 6
# (SetChargingProfile), 2.0.1 ones about 10. The parser, jsonschema and the message log all recurse: a peer's
# 1,000-deep frame is refused here, by rule, instead of by a RecursionError somewhere down the line.
MAX_FRAME_DEPTH = 32
_FRAME_KIND = re.compile(r"[ \t\n\r]*\[[ \t\n\r]*([0-9]{1,3})[ \t\n\r]*,[ \t\n\r]*")
_SEPARATOR = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_decoder = json.JSONDecoder()
_to_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(separators=...) builds an encoder per call


class _TooDeep(Exception):
    """The frame nests deeper than MAX_FRAME_DEPTH, or deeper than the parser can follow."""


@dataclass(frozen=True, slots=True)
class _Refusal:
    """The CALLERROR a CALL gets instead of reaching its handler."""

    code: str
    description: str


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
        self._invalid_message_listeners: list[Callable[[str], None]] = []
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
        self._skip_pause = False
        self._answers: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._after_replies: set[asyncio.Task[Any]] = set()  # not the link's to cancel: a Reset stops the link
        self._refusals = RateLimitedLog(logger)  # what a peer provokes: refused and dropped frames
        self._bugs = RateLimitedLog(logger)  # tracebacks of our own code and of handlers
        self.last_failure: ConnectFailure | None = None
        for secret in (settings.authorization_key, settings.client_key_password):
            if secret:
                SECRETS.add(secret)
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

    async def reconnect(self) -> None:
        """Close the websocket (if open) and connect again at once, with the settings as they are now: what a
        changed SecurityProfile, AuthorizationKey or CentralSystemURI needs (no back-off wait in between).
        The answers under way go out first: the CALL that asked for the change gets its answer on this socket."""
        current = asyncio.current_task()
        await asyncio.gather(*(task for task in self._answers if task is not current), return_exceptions=True)
        self._backoff.reset()
        self._skip_pause = True
        self._wanted.set()
        self._kick.set()
        ws = self._ws
        if ws is not None:
            await ws.close(code=1000, reason="reconnecting with new settings")

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

    def add_invalid_message_listener(self, callback: Callable[[str], None]) -> None:
        """callback("action: error code") for each frame of the CSMS refused as invalid (not for an action we
        merely do not support): the InvalidMessages security event."""
        self._invalid_message_listeners.append(callback)

    def update_settings(self, **changes: Any) -> None:
        """Ping interval and pong timeout apply at once, back-off from the next wait, the rest at next connect."""
        self._settings = replace(self._settings, **changes)
        for field in ("authorization_key", "client_key_password"):
            if changes.get(field):
                SECRETS.add(changes[field])
        self._backoff.minimum = self._settings.retry_backoff_wait_minimum
        self._backoff.random_range = self._settings.retry_backoff_random_range
        self._backoff.repeat_times = self._settings.retry_backoff_repeat_times
        previous, self._settings_changed = self._settings_changed, asyncio.Event()
        previous.set()

    # --- RPC API -------------------------------------------------------------------------------------------

    def register_handler(self, action: str, handler: Handler) -> None:
        """handler(payload) -> response payload (or a Reply with work to run once it was written); raise
        OcppError(code, description) to answer a CALLERROR."""
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
            self._skip_pause = False
            await self._serve(ws)
            if self._wanted.is_set() and not self._skip_pause:
                await self._pause(self._backoff.next_delay())
            self._skip_pause = False

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

    def _after_reply_done(self, task: asyncio.Task[Any]) -> None:
        self._after_replies.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("work after an answer failed", exc_info=task.exception())

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
                pong = await ws.ping(self._settings.ping_payload.encode())
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
                    self._bugs.log(logging.ERROR, "frame handling failed", exc_info=True)
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
                await self._refuse(ws, "-1", codes.rpc_framework, "binary frame is not UTF-8 JSON")
                return
        try:
            frame = _parse_frame(message)
        except ValueError as exc:
            await self._on_unparsed(ws, message, f"frame is not valid JSON ({exc})", too_deep=False)
            return
        except _TooDeep:
            await self._on_unparsed(ws, message, f"frame nests deeper than {MAX_FRAME_DEPTH} levels", too_deep=True)
            return
        if not isinstance(frame, list) or not frame or type(frame[0]) is not int:
            self._trace("in", message, None)
            unique_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else None
            await self._refuse(ws, unique_id if isinstance(unique_id, str) else "-1",
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
            await self._refuse(ws, unique_id, codes.message_type_not_supported,
                               f"message type {kind} is not supported")

    async def _on_unparsed(self, ws: ClientConnection, text: str, description: str, *, too_deep: bool) -> None:
        """A frame the parser refused: a CALLERROR with its id when its first elements can be read; a reply
        cannot be answered, so it is dropped. A readable CALL that is only too deep has a malformed payload."""
        self._trace("in", text, None)
        kind, unique_id, action = _read_head(text)
        if kind in (CALLRESULT, CALLERROR):
            self._refusals.log(logging.WARNING, "unparsable reply %s dropped: %s", loggable(unique_id or "?"),
                               description)
            return
        codes = self.spec.error_codes
        code = codes.formation if too_deep and kind == CALL and action is not None else codes.rpc_framework
        await self._refuse(ws, unique_id if unique_id is not None else "-1", code, description, action)

    async def _on_call(self, ws: ClientConnection, frame: list[Any], text: str) -> None:
        codes = self.spec.error_codes
        if len(frame) != 4 or not isinstance(frame[1], str) or not isinstance(frame[2], str):
            self._trace("in", text, None)
            unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else "-1"
            await self._refuse(ws, unique_id, codes.rpc_framework, "CALL must be [2, uniqueId, action, payload]")
            return
        _, unique_id, action, payload = frame
        try:
            self._trace("in", text, action)
            verdict = self._admit(action, payload)
        except Exception as exc:  # a bug of ours (or of the gate): logged, and the CALL still gets its answer
            self._bugs.log(logging.ERROR, "checking %s %s failed", loggable(action), loggable(unique_id),
                           exc_info=True)
            verdict = _Refusal(codes.internal, f"{action[:50]} could not be checked: {type(exc).__name__}")
        if verdict is None:
            self._refusals.log(logging.INFO, "%s %s dropped unanswered: not accepted in this registration state",
                               loggable(action), loggable(unique_id))
        elif isinstance(verdict, _Refusal):
            await self._refuse(ws, unique_id, verdict.code, verdict.description, action)
        else:
            answer = asyncio.ensure_future(self._answer(ws, unique_id, action, verdict, payload))
            self._tasks.add(answer)
            self._answers.add(answer)
            answer.add_done_callback(self._tasks.discard)
            answer.add_done_callback(self._answers.discard)

    def _admit(self, action: str, payload: Any) -> Handler | _Refusal | None:
        """The handler that answers this CALL, or the CALLERROR refusing it, or None: dropped unanswered
        (the registration gate). Checks before the schema's must expect any JSON type in the payload."""
        codes = self.spec.error_codes
        learn_secrets(action, payload)
        if self._gate is not None and not self._gate(action):
            return None
        if not self.schemas.knows(action):
            return _Refusal(codes.not_implemented, f"{action[:50]} is not known")
        profile = self.spec.profile_of(action)
        handler = self._handlers.get(action)
        if handler is None or (self._supported_profiles is not None and profile not in self._supported_profiles):
            return _Refusal(codes.not_supported, f"{action} is not supported")
        violation = self.schemas.check_request(action, payload)
        if violation is not None:
            return _Refusal(getattr(codes, violation.kind), violation.description)
        return handler

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
            self._bugs.log(logging.ERROR, "%s handler failed", action, exc_info=True)
            await self._send_error(ws, unique_id, codes.internal, f"{action} handler failed: {type(exc).__name__}")
            return
        then = result.then if isinstance(result, Reply) else None
        if isinstance(result, Reply):
            result = result.payload
        if not isinstance(result, dict):
            self._bugs.log(logging.ERROR, "%s handler returned %s, not a payload object", action,
                           type(result).__name__)
            await self._send_error(ws, unique_id, codes.internal, f"{action} handler returned no payload")
            return
        if self.schemas.check_response(action, result) is not None:
            result = self.schemas.make_valid(action, result, response=True)
            violation = self.schemas.check_response(action, result)
            if violation is not None:
                self._bugs.log(logging.ERROR, "%s handler answer fails its schema: %s", action,
                               loggable(violation.description, 200))
                await self._send_error(ws, unique_id, codes.internal, f"{action} answer invalid")
                return
        await self._send(ws, _to_json([CALLRESULT, unique_id, result]), action)
        if then is not None:
            task = asyncio.ensure_future(then())
            self._after_replies.add(task)
            task.add_done_callback(self._after_reply_done)

    def _on_reply(self, frame: list[Any], text: str) -> None:
        unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None
        pending = self._pending.get(unique_id) if unique_id is not None else None
        if pending is None or pending.future.done():
            self._trace("in", text, None)
            self._refusals.log(logging.WARNING, "late or unknown reply %s dropped", loggable(unique_id or "?"))
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

    async def _refuse(self, ws: ClientConnection, unique_id: str, code: str, description: str,
                      action: str | None = None) -> None:
        """A CALLERROR for a frame the link itself refuses, with one compact, rate-limited log line."""
        self._refusals.log(logging.WARNING, "refused %s %s: %s %s", loggable(action or "frame"),
                           loggable(unique_id), code, loggable(description, 200))
        if code not in (self.spec.error_codes.not_supported, self.spec.error_codes.not_implemented):
            for callback in list(self._invalid_message_listeners):
                self._notify(callback, f"{loggable(action or 'frame')}: {code}")
        await self._send_error(ws, unique_id, code, description)

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


def _parse_frame(text: str) -> Any:
    """json.loads within MAX_FRAME_DEPTH; raises ValueError (not JSON, or past a parser limit such as the
    digits of a number) or _TooDeep."""
    try:
        frame = json.loads(text)
    except RecursionError:
        raise _TooDeep from None
    # only a frame with that many brackets can nest that deep: the walk is skipped for nearly every frame
    if text.count("[") + text.count("{") > MAX_FRAME_DEPTH and _nests_deeper(frame, MAX_FRAME_DEPTH):
        raise _TooDeep
    return frame


def _nests_deeper(value: Any, limit: int) -> bool:
    """True if arrays and objects nest more than `limit` levels. Level by level, not recursive, whatever the
    depth; touching only containers keeps it at about half a json.loads for a frame full of them."""
    level = [value] if isinstance(value, list | dict) else []
    for _ in range(limit):
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) is list or type(child) is dict]
        if not level:
            return False
    return True


def _read_head(text: str) -> tuple[int | None, str | None, str | None]:
    """Message type, unique id and action of a frame the parser refused, read from its first elements only
    (scalars: reading them cannot recurse), so the CALLERROR can name the CALL it answers. None: not readable."""
    match = _FRAME_KIND.match(text)
    if match is None:
        return None, None, None
    unique_id, end = _string_at(text, match.end())
    if unique_id is None:
        return int(match.group(1)), None, None
    separator = _SEPARATOR.match(text, end)
    action = _string_at(text, separator.end())[0] if separator else None
    return int(match.group(1)), unique_id, action


def _string_at(text: str, index: int) -> tuple[str | None, int]:
    """The JSON string starting at text[index], with the index after it; (None, index) if there is none."""
    if not text.startswith('"', index):
        return None, index
    try:
        return _decoder.raw_decode(text, index)
    except ValueError:
        return None, index


