"""A small CSMS on loopback for the queue tests: records every CALL, answers per action, can go offline."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection


@dataclass
class Received:
    action: str
    payload: dict[str, Any]
    unique_id: str


class Hold:
    """Returned by a handler: do not answer this CALL (the test kills or times out the charge point)."""


class CallError(Exception):
    """Raised by a handler: answer with a CALLERROR."""

    def __init__(self, code: str = "InternalError", description: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.description = description


Handler = Callable[[dict[str, Any]], Awaitable[Any] | Any]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class CsmsPeer:
    """Accepts `ocpp1.6` websockets; `online = False` refuses the HTTP upgrade with 503."""

    def __init__(self) -> None:
        self.online = True
        self.record = True  # False: keep no payloads (memory tests); handlers still see every CALL
        self.received: list[Received] = []
        self.replies: list[list[Any]] = []
        self._ids = itertools.count(1000)
        self.handlers: dict[str, Handler] = {
            "BootNotification": lambda p: {"status": "Accepted", "currentTime": _now(), "interval": 300},
            "Heartbeat": lambda p: {"currentTime": _now()},
            "StartTransaction": lambda p: {"transactionId": next(self._ids), "idTagInfo": {"status": "Accepted"}},
            "StopTransaction": lambda p: {},
            "MeterValues": lambda p: {},
            "SecurityEventNotification": lambda p: {},
            "StatusNotification": lambda p: {},
            "DataTransfer": lambda p: {"status": "Accepted"},
        }
        self._server: Server | None = None
        self._connections: set[ServerConnection] = set()
        self._answering: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.connections = 0
        self.port = 0

    @property
    def uri(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> CsmsPeer:
        self._server = await websockets.serve(
            self._serve, "127.0.0.1", 0, subprotocols=["ocpp1.6"], process_request=self._gate,
            ping_interval=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def drop_connections(self) -> None:
        for ws in list(self._connections):
            await ws.close()

    def actions(self) -> list[str]:
        return [item.action for item in self.received]

    def of(self, action: str) -> list[dict[str, Any]]:
        return [item.payload for item in self.received if item.action == action]

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait for a condition on what was received (re-checked after every frame and connection change)."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    async def wait_count(self, action: str, count: int) -> None:
        await self.wait_until(lambda: len(self.of(action)) >= count)

    async def call(self, action: str, payload: dict[str, Any]) -> str:
        """Send a CALL to the charge point; returns its id (replies land in `replies`)."""
        unique_id = f"csms-{next(self._ids)}"
        for ws in list(self._connections):
            await ws.send(json.dumps([2, unique_id, action, payload]))
        return unique_id

    def _gate(self, connection: ServerConnection, request: Any) -> Any:
        if not self.online:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "offline\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        self._connections.add(ws)
        self.connections += 1
        self._changed.set()
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame[0] == 2:
                    _, unique_id, action, payload = frame
                    if self.record:
                        self.received.append(Received(action, payload, unique_id))
                        self._changed.set()
                    task = asyncio.create_task(self._answer(ws, unique_id, action, payload))
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                else:
                    self.replies.append(frame)
                    self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._connections.discard(ws)
            self._changed.set()

    async def _answer(self, ws: ServerConnection, unique_id: str, action: str, payload: dict[str, Any]) -> None:
        try:
            result = self.handlers[action](payload)
            if asyncio.iscoroutine(result):
                result = await result
        except CallError as exc:
            reply: list[Any] = [4, unique_id, exc.code, exc.description, {}]
        else:
            if isinstance(result, Hold):
                return
            reply = [3, unique_id, result]
        try:
            await ws.send(json.dumps(reply))
        except websockets.ConnectionClosed:
            pass
