"""The CSMS process's control channel: JSON lines on a loopback TCP port, one answer per request line.

Request: {"action": "<OCPP action>" | "transactions" | "charge_points", "payload": {...}, "cp_id": null}.
Answer: {"ok": true, "result": {...}} or {"ok": false, "error": {"code": ..., "description": ...}}.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ocpp.exceptions import OCPPError

from sim.csms.replies import CsmsCallError
from sim.csms.server import LocalCsms

log = logging.getLogger(__name__)


class ControlServer:
    """Lets another process (the CLI, the demo) make the CSMS send commands and read its state."""

    def __init__(self, csms: LocalCsms, host: str = "127.0.0.1", port: int = 0) -> None:
        self._csms = csms
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Start listening; returns the port."""
        self._server = await asyncio.start_server(self._client, self._host, self._port)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(json.dumps(await self.execute(line)).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def execute(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            action = request["action"]
            cp_id = request.get("cp_id")
            if action == "transactions":
                result: Any = {"transactions": [tx.to_json() for tx in self._csms.transactions(cp_id)]}
            elif action == "charge_points":
                result = {"charge_points": [s.to_json() for s in self._csms.charge_points.values()]}
            else:
                result = await self._csms.call(cp_id, action, request.get("payload", {}))
        except CsmsCallError as exc:
            return {"ok": False, "error": {"code": exc.code, "description": exc.description}}
        except OCPPError as exc:  # the payload broke the action's schema
            return {"ok": False, "error": {"code": exc.code, "description": str(exc)}}
        except (ValueError, KeyError, TypeError, LookupError, TimeoutError, ConnectionError) as exc:
            log.info("control request failed: %s", exc)
            return {"ok": False, "error": {"code": type(exc).__name__, "description": str(exc)}}
        return {"ok": True, "result": result}
