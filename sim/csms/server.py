"""LocalCsms: a test and demo central system on real websockets, with state, overrides and commands."""

from __future__ import annotations

import base64
import binascii
import hmac
import ssl
from collections.abc import Callable, Mapping
from http import HTTPStatus
from itertools import count
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from sim.csms.records import CALL, CONNECTED, DISCONNECTED, REJECTED, MessageLog, Record
from sim.csms.replies import Override
from sim.csms.session import CsmsChargePoint, CsmsChargePoint201, RecordingSession
from sim.csms.state import ChargePointState, Transaction

SESSIONS: dict[str, type[RecordingSession]] = {"1.6": CsmsChargePoint, "2.0.1": CsmsChargePoint201}


def cp_id_from_path(path: str) -> str:
    """The charge point id is the last path segment of the URL it connects to (`ws://host:port/.../CP_ID`)."""
    return unquote(path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])


def basic_auth_user_password(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class LocalCsms:
    """Accepts OCPP 1.6J charge points (or, with ocpp_version "2.0.1", 2.0.1 charging stations), answers them,
    records everything and sends commands.

    Defaults answer permissively (boot Accepted, idTags Accepted); tests change them through the attributes
    (boot_status, heartbeat_interval, data_transfer_status, default_id_tag_status, id_tags) or replace a whole
    answer with set_handler().
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        basic_auth: Mapping[str, str] | None = None,
        call_timeout: float = 30.0,
        ocpp_version: str = "1.6",
    ) -> None:
        if ocpp_version not in SESSIONS:
            raise ValueError(f"OCPP version {ocpp_version} is none of {', '.join(SESSIONS)}")
        self.ocpp_version = ocpp_version
        self.subprotocol = f"ocpp{ocpp_version}"
        self.host = host
        self._requested_port = port
        self.ssl_context = ssl_context
        # Expected Basic auth password per charge point id; None = no auth check. Mutable during a test.
        self.basic_auth: dict[str, str] | None = dict(basic_auth) if basic_auth is not None else None
        self.call_timeout = call_timeout
        self.boot_status = "Accepted"
        self.heartbeat_interval = 300
        self.data_transfer_status = "Accepted"
        self.default_id_tag_status = "Accepted"
        # idTag -> status string, or a full idTagInfo dict (status, parentIdTag, expiryDate).
        self.id_tags: dict[str, str | dict[str, Any]] = {}
        self.refuse_connections = False  # True: handshakes get HTTP 503, as a CSMS that is down for service
        self.log = MessageLog()
        self.charge_points: dict[str, ChargePointState] = {}
        self._sessions: dict[str, RecordingSession] = {}
        self._overrides: dict[str, Override] = {}
        self._transaction_ids = count(1)
        self._server: Server | None = None

    # --- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> LocalCsms:
        self._server = await serve(
            self._serve,
            self.host,
            self._requested_port,
            ssl=self.ssl_context,
            subprotocols=[Subprotocol(self.subprotocol)],
            process_request=self._check_handshake,
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LocalCsms:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalCsms is not started")
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL; the charge point appends its id."""
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://{self.host}:{self.port}/"

    # --- configuration of answers ----------------------------------------------------------------------
    def set_handler(self, action: str, handler: Override | None) -> None:
        """Replace the answer to `action`: a callable(payload, cp_id) returning a payload dict, NO_REPLY or
        CallErrorReply (sync or async); or one of those values directly. None restores the default."""
        if handler is None:
            self._overrides.pop(action, None)
        else:
            self._overrides[action] = handler

    def override_for(self, action: str) -> Override | None:
        return self._overrides.get(action)

    def set_id_tag(
        self, id_tag: str, status: str = "Accepted", parent_id_tag: str | None = None, expiry_date: str | None = None
    ) -> None:
        info: dict[str, Any] = {"status": status}
        if parent_id_tag is not None:
            info["parentIdTag"] = parent_id_tag
        if expiry_date is not None:
            info["expiryDate"] = expiry_date
        self.id_tags[id_tag] = info

    def id_tag_info(self, id_tag: str) -> dict[str, Any]:
        """idTagInfo for Authorize, StartTransaction and StopTransaction answers."""
        rule = self.id_tags.get(id_tag, self.default_id_tag_status)
        return {"status": rule} if isinstance(rule, str) else dict(rule)

    def next_transaction_id(self) -> int:
        return next(self._transaction_ids)

    # --- state and waiting -----------------------------------------------------------------------------
    @property
    def messages(self) -> list[Record]:
        return self.log.records

    def mark(self) -> int:
        return self.log.mark()

    def add_listener(self, listener: Callable[[Record], None]) -> None:
        self.log.add_listener(listener)

    def charge_point_state(self, cp_id: str) -> ChargePointState:
        return self.charge_points.setdefault(cp_id, ChargePointState(cp_id))

    def transactions(self, cp_id: str | None = None) -> list[Transaction]:
        states = [self.charge_points[cp_id]] if cp_id else list(self.charge_points.values())
        return [tx for state in states for tx in state.transactions.values()]

    def connector_status(self, connector: int, cp_id: str | None = None) -> str | None:
        entry = self.charge_point_state(self._resolve(cp_id)).statuses.get(connector)
        return entry["status"] if entry else None

    def payloads(
        self, action: str, *, cp_id: str | None = None, direction: str = "in", kind: str = CALL, after_index: int = 0
    ) -> list[Any]:
        match = _matcher(action, None, cp_id, direction, kind)
        return [r.payload for r in self.log.records[after_index:] if match(r)]

    async def wait_for(
        self,
        action: str,
        predicate: Callable[[Any], bool] | None = None,
        timeout: float = 10,
        after_index: int = 0,
        *,
        cp_id: str | None = None,
        direction: str = "in",
        kind: str = CALL,
    ) -> Any:
        """Payload of the first matching message at or after after_index (by default a CALL from a charge
        point); waits for it if it has not come yet."""
        record = await self.log.wait(_matcher(action, predicate, cp_id, direction, kind), timeout, after_index)
        return record.payload

    async def wait_for_record(
        self, match: Callable[[Record], bool], timeout: float = 10, after_index: int = 0
    ) -> Record:
        return await self.log.wait(match, timeout, after_index)

    async def wait_for_charge_point(
        self, cp_id: str | None = None, timeout: float = 10, after_index: int | None = None
    ) -> str:
        """Id of a connected charge point (cp_id, or any). With after_index, only a connection made after it."""
        if after_index is None:
            connected = [i for i in self._sessions if cp_id in (None, i)]
            if connected:
                return connected[0]
            after_index = self.mark()
        record = await self.log.wait(lambda r: r.kind == CONNECTED and cp_id in (None, r.cp_id), timeout, after_index)
        return record.cp_id

    async def wait_for_transaction(
        self,
        cp_id: str | None = None,
        connector: int | None = None,
        timeout: float = 10,
        after_index: int = 0,
        stopped: bool = False,
    ) -> Transaction:
        """The transaction the CSMS accepted (or, with stopped=True, whose StopTransaction it answered)."""
        action = "StopTransaction" if stopped else "StartTransaction"

        def match(r: Record) -> bool:
            if not (r.kind == "CALLRESULT" and r.direction == "out" and r.action == action):
                return False
            if cp_id not in (None, r.cp_id):
                return False
            tx = self._transaction_answered(r)
            return tx is not None and connector in (None, tx.connector_id)

        record = await self.log.wait(match, timeout, after_index)
        tx = self._transaction_answered(record)
        assert tx is not None
        return tx

    def _transaction_answered(self, result: Record) -> Transaction | None:
        request = self.log.find(
            lambda r: (
                r.kind == CALL and r.direction == "in" and r.unique_id == result.unique_id and r.cp_id == result.cp_id
            )
        )
        if request is None:
            return None
        state = self.charge_points.get(result.cp_id)
        tx_id = (
            result.payload.get("transactionId")
            if result.action == "StartTransaction"
            else (request.payload.get("transactionId"))
        )
        return state.transactions.get(tx_id) if state else None

    # --- commands --------------------------------------------------------------------------------------
    async def call(
        self,
        cp_id: str | None,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        validate: bool = True,
    ) -> Any:
        """Send `action` to the charge point (None: the only connected one) and return its answer's payload.

        Raises CsmsCallError on CALLERROR, TimeoutError, ConnectionError if it disconnects meanwhile,
        LookupError if it is not connected, and ocpp's OCPPError if the request or the answer breaks its
        schema (validate=False skips both checks, to send a broken payload)."""
        session = self._sessions.get(self._resolve(cp_id))
        if session is None:
            raise LookupError(f"charge point {cp_id} is not connected")
        return await session.send_call(action, payload, timeout or self.call_timeout, validate)

    async def remote_start(
        self,
        connector: int | None,
        id_tag: str,
        charging_profile: dict[str, Any] | None = None,
        *,
        cp_id: str | None = None,
    ) -> Any:
        payload: dict[str, Any] = {"idTag": id_tag}
        if connector is not None:
            payload["connectorId"] = connector
        if charging_profile is not None:
            payload["chargingProfile"] = charging_profile
        return await self.call(cp_id, "RemoteStartTransaction", payload)

    async def remote_stop(self, transaction_id: int, *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "RemoteStopTransaction", {"transactionId": transaction_id})

    async def reset(self, type: str = "Soft", *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "Reset", {"type": type})

    async def unlock(self, connector: int, *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "UnlockConnector", {"connectorId": connector})

    async def change_availability(self, connector: int, type: str, *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "ChangeAvailability", {"connectorId": connector, "type": type})

    async def get_configuration(self, keys: list[str] | None = None, *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "GetConfiguration", {"key": keys} if keys else {})

    async def change_configuration(self, key: str, value: str, *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "ChangeConfiguration", {"key": key, "value": value})

    async def trigger_message(self, requested: str, connector: int | None = None, *, cp_id: str | None = None) -> Any:
        payload: dict[str, Any] = {"requestedMessage": requested}
        if connector is not None:
            payload["connectorId"] = connector
        return await self.call(cp_id, "TriggerMessage", payload)

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None, *, cp_id: str | None = None
    ) -> Any:
        payload = {"vendorId": vendor_id, "messageId": message_id, "data": data}
        return await self.call(cp_id, "DataTransfer", {k: v for k, v in payload.items() if v is not None})

    async def clear_cache(self, *, cp_id: str | None = None) -> Any:
        return await self.call(cp_id, "ClearCache", {})

    async def drop(self, cp_id: str | None = None, *, abort: bool = False) -> None:
        """Close the charge point's socket (abort=True: cut the TCP connection without a closing handshake)."""
        session = self._sessions.get(self._resolve(cp_id))
        if session is None:
            return
        if abort:
            session.connection.transport.abort()
        await session.connection.close(1001, "dropped by the CSMS")
        await session.connection.wait_closed()

    def _resolve(self, cp_id: str | None) -> str:
        if cp_id is not None:
            return cp_id
        if len(self._sessions) == 1:
            return next(iter(self._sessions))
        raise LookupError(f"say which charge point: connected are {sorted(self._sessions)}")

    # --- connections -----------------------------------------------------------------------------------
    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse before the upgrade: unknown subprotocol (400), bad Basic auth (401), refusing (503)."""
        cp_id = cp_id_from_path(request.path)
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        refusal: tuple[HTTPStatus, str] | None = None
        if self.refuse_connections:
            refusal = (HTTPStatus.SERVICE_UNAVAILABLE, "not accepting connections")
        elif not cp_id:
            refusal = (HTTPStatus.NOT_FOUND, "no charge point id in the path")
        elif self.subprotocol not in [p.strip() for p in offered.split(",")]:
            refusal = (HTTPStatus.BAD_REQUEST, f"subprotocol {self.subprotocol} required")
        elif self.basic_auth is not None and not self._authorized(cp_id, request.headers.get("Authorization")):
            refusal = (HTTPStatus.UNAUTHORIZED, "bad or missing Basic auth credentials")
        if refusal is None:
            return None
        self.log.append(cp_id, "", REJECTED, payload={"status": int(refusal[0]), "reason": refusal[1]})
        response = connection.respond(refusal[0], refusal[1] + "\n")
        if refusal[0] == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Basic realm="OCPP"'
        return response

    def _authorized(self, cp_id: str, header: str | None) -> bool:
        expected = (self.basic_auth or {}).get(cp_id)
        credentials = basic_auth_user_password(header)
        if expected is None or credentials is None or credentials[0] != cp_id:
            return False
        return hmac.compare_digest(credentials[1].encode(), expected.encode())

    async def _serve(self, connection: ServerConnection) -> None:
        cp_id = cp_id_from_path(connection.request.path)
        session = SESSIONS[self.ocpp_version](cp_id, connection, self)
        previous = self._sessions.get(cp_id)
        self._sessions[cp_id] = session
        if previous is not None:  # the same charge point reconnected: the new socket replaces the old one
            await previous.connection.close(1000, "replaced by a new connection")
        state = self.charge_point_state(cp_id)
        state.connected = True
        self.log.append(cp_id, "", CONNECTED, payload=_connection_info(connection))
        try:
            await session.start()
        except ConnectionClosed:
            pass
        finally:
            if self._sessions.get(cp_id) is session:
                del self._sessions[cp_id]
                state.connected = False
            self.log.append(
                cp_id, "", DISCONNECTED, payload={"code": connection.close_code, "reason": connection.close_reason}
            )


def _matcher(
    action: str, predicate: Callable[[Any], bool] | None, cp_id: str | None, direction: str, kind: str
) -> Callable[[Record], bool]:
    def match(r: Record) -> bool:
        return (
            r.action == action
            and r.kind == kind
            and r.direction == direction
            and cp_id in (None, r.cp_id)
            and (predicate is None or bool(predicate(r.payload)))
        )

    return match


def _connection_info(connection: ServerConnection) -> dict[str, Any]:
    """What a test may assert about the handshake: path, subprotocol, Basic auth user, TLS client cert."""
    credentials = basic_auth_user_password(connection.request.headers.get("Authorization"))
    info: dict[str, Any] = {
        "path": connection.request.path,
        "subprotocol": connection.subprotocol,
        "basic_auth_user": credentials[0] if credentials else None,
        "tls": connection.transport.get_extra_info("ssl_object") is not None,
    }
    peer = connection.transport.get_extra_info("peercert")
    if peer:
        info["client_cert_subject"] = {k: v for rdn in peer.get("subject", ()) for k, v in rdn}
    return info
