"""Auth: takes tokens from the token providers, validates them, and authorizes the right EVSE.

Follows EVerest's Auth module in its main rules: the same token (or, after validation, a token of the same group)
swiped at a running transaction stops it (reason Local); otherwise the token is validated (prevalidated remote-start
tokens skip that and bring their parent token) and given to the EVSE that waits for authorization, else to the first
free one; an authorization not used within the connection timeout is withdrawn.

Reservations restrict who may use an EVSE. One for an EVSE reserves it there (the EVSE reports ReservationStart);
reservations for any EVSE reserve the free EVSEs once they need all of them. A reservation is used up when its
token is authorized (the EVSE keeps its id for the transaction), ends at its expiry or when cancelled (the EVSE
reports ReservationEnd), and ends when its EVSE is disabled.

Restart: EVerest's Auth keeps its reservations in its optional kvs store and makes them again at start, dropping
expired ones. With `reservations_file` set, this module does the same and also reserves each EVSE again (EVerest's
load only rebuilds its own bookkeeping, which would leave a reserved connector reporting Available), so after a
power cut a connector reports Reserved, or Available when its reservation expired meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from framework.errors import CommandError
from framework.module import Module, Requirement
from sim.Auth.reservations import Reservation, ReservationFile, admits, check

log = logging.getLogger(__name__)
UNKNOWN = {"authorization_status": "Unknown", "tariff_messages": []}


@dataclass
class Evse:
    """What Auth knows of one EVSE, kept up to date from its session events."""

    req: Requirement
    evse_id: int
    enabled: bool = True
    session: bool = False
    plugged: bool = False
    finished: bool = False  # transaction over, car still there
    authorized: bool = False
    auth_token: dict | None = None
    auth_parent: str | None = None
    transaction_token: dict | None = None
    transaction_parent: str | None = None
    held: bool = False  # reserved for the reservations for any EVSE
    timer: asyncio.Task | None = field(default=None, repr=False)

    def cancel_timer(self) -> None:
        if self.timer is not None and self.timer is not asyncio.current_task():
            self.timer.cancel()
        self.timer = None


def token_value(token: dict | None) -> str | None:
    return (token or {}).get("id_token", {}).get("value")


class Auth:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        config = mod.config
        self.connection_timeout = int(config["connection_timeout"])
        self.master_pass_group_id = config["master_pass_group_id"]
        self.prioritize_authorization = bool(config["prioritize_authorization_over_stopping_transaction"])
        self.evses: list[Evse] = []
        self.reservations: dict[int, Reservation] = {}
        self.saved = ReservationFile(Path(config["reservations_file"]) if config["reservations_file"] else None)
        self._expiry: dict[int, asyncio.Task] = {}
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ wiring
    def register(self) -> None:
        mod = self.mod
        mod.implement("main", "set_connection_timeout", self.set_connection_timeout)
        mod.implement("main", "set_master_pass_group_id", self.set_master_pass_group_id)
        mod.implement("main", "withdraw_authorization", self.withdraw_authorization)
        mod.implement("reservation", "reserve_now", self.reserve_now)
        mod.implement("reservation", "cancel_reservation", self.cancel_reservation)
        mod.implement("reservation", "exists_reservation", self.exists_reservation)
        for req in mod.requirements("token_provider"):
            req.subscribe("provided_token", self.on_token)
        for req in mod.requirements("token_validator"):
            req.subscribe("validate_result_update", self.on_validate_result_update)
        for index, req in enumerate(mod.requirements("evse_manager")):
            evse = Evse(req, index + 1)
            self.evses.append(evse)
            req.subscribe("session_event", lambda event, evse=evse: self.on_session_event(evse, event))

    async def on_ready(self) -> None:
        for evse in self.evses:
            try:
                evse.evse_id = (await evse.req.call("get_evse", {}, timeout=30.0))["id"]
            except CommandError as exc:
                log.error("get_evse of %s failed: %s", evse.req.module_id, exc)
        await self._restore()

    async def _status(self, token: dict, status: str) -> None:
        await self.mod.publish("main", "token_validation_status", {"token": token, "status": status})

    async def _reservation_update(self, reservation_id: int, status: str) -> None:
        await self.mod.publish("reservation", "reservation_update",
                               {"reservation_id": reservation_id, "reservation_status": status})

    def on_validate_result_update(self, update: dict) -> None:
        """A validator changed its verdict on a running transaction's token (the CSMS's StartTransaction answer
        named a parentIdTag): another token of that group may stop it now, as EVerest's Auth takes it. The update
        and the EVSE's TransactionStarted come on different topics, so either may come first: the group is kept for
        the EVSE's session either way, even when it beats the EVSE's SessionStarted to this module (the EVSE this
        module authorized counts as in session)."""
        parent = (update["validation_result"].get("parent_id_token") or {}).get("value")
        for evse in self.evses:
            if evse.evse_id == update["connector_id"] and parent \
                    and (evse.transaction_token is not None or evse.session or evse.auth_token is not None):
                evse.transaction_parent = parent

    # ------------------------------------------------------------ EVSE state
    async def on_session_event(self, evse: Evse, event: dict) -> None:
        name = event["event"]
        if name in ("Enabled", "Disabled"):
            evse.enabled = name == "Enabled"
            if not evse.enabled:
                await self._end_evse_reservation(evse)
        elif name == "SessionStarted":
            evse.session = True
            if event.get("session_started", {}).get("reason") == "EVConnected":
                evse.plugged = True
                if not evse.authorized:
                    self._start_timer(evse)
        elif name == "Authorized":
            evse.authorized = True
        elif name == "Deauthorized":
            evse.authorized = False
        elif name == "TransactionStarted":
            evse.plugged = True
            evse.cancel_timer()
            evse.transaction_token = event.get("transaction_started", {}).get("id_tag")
            evse.transaction_parent = evse.auth_parent or evse.transaction_parent
            evse.authorized = False
            evse.held = False  # the EVSE cleared its reservation with the start
        elif name == "TransactionFinished":
            evse.transaction_token = evse.transaction_parent = None
            evse.finished = True
        elif name == "SessionFinished":
            evse.cancel_timer()
            evse.session = evse.plugged = evse.finished = evse.authorized = False
            evse.auth_token = evse.auth_parent = evse.transaction_parent = None
        if name in ("Enabled", "Disabled", "SessionStarted", "SessionFinished"):
            await self._hold_for_any()

    def _start_timer(self, evse: Evse) -> None:
        evse.cancel_timer()
        evse.timer = asyncio.get_running_loop().create_task(self._connection_timeout(evse))

    async def _connection_timeout(self, evse: Evse) -> None:
        await asyncio.sleep(self.connection_timeout)
        evse.timer = None
        if evse.transaction_token is not None or not evse.session:
            return
        log.info("EVSE %s: no %s within %s s, withdrawing", evse.evse_id,
                 "plug-in" if evse.authorized else "authorization", self.connection_timeout)
        token = evse.auth_token
        await evse.req.call("withdraw_authorization", {})
        if token is not None:
            evse.authorized, evse.auth_token = False, None
            await self._status(token, "TimedOut")

    # ------------------------------------------------------------ tokens
    async def on_token(self, token: dict) -> None:
        async with self._lock:
            try:
                await self._handle_token(token)
            except CommandError as exc:
                log.error("token %s: a call failed: %s", token_value(token), exc)
                await self._status(token, "Rejected")

    def _allowed(self, token: dict, result: dict | None = None) -> list[Evse]:
        wanted = set(token.get("connectors") or []) | set((result or {}).get("evse_ids") or [])
        return [e for e in self.evses if not wanted or e.evse_id in wanted]

    async def _handle_token(self, token: dict) -> None:
        await self._status(token, "Processing")
        value = token_value(token)
        # Only a card stops its own transaction (as in EVerest's Auth): a second remote start with the same idTag
        # starts another session instead.
        for evse in self._allowed(token) if token.get("authorization_type") == "RFID" else ():
            if evse.transaction_token is not None and token_value(evse.transaction_token) == value:
                await self._stop(evse, token, "Local")
                return
        result = await self._validate(token)
        if result["authorization_status"] != "Accepted":
            log.info("token %s: %s", value, result["authorization_status"])
            await self._status(token, "Rejected")
            return
        parent = (result.get("parent_id_token") or {}).get("value")
        if self.master_pass_group_id and parent == self.master_pass_group_id:
            running = [e for e in self._allowed(token, result) if e.transaction_token is not None]
            for evse in running:
                await self._stop(evse, token, "MasterPass")
            if not running:
                await self._status(token, "Rejected")
            return
        target = self._select(token, result, parent)
        same_group = [e for e in self._allowed(token) if parent and e.transaction_parent == parent]
        if same_group and (target is None or not self.prioritize_authorization):
            await self._stop(same_group[0], token, "Local")
            return
        if target is None:
            log.info("token %s: no EVSE available", value)
            await self._status(token, "Rejected")
            return
        await self._authorize(target, token, result, parent)

    async def _validate(self, token: dict) -> dict:
        if token.get("prevalidated"):
            result = {"authorization_status": "Accepted", "tariff_messages": []}
            if token.get("parent_id_token"):
                result["parent_id_token"] = token["parent_id_token"]
            return result
        last = UNKNOWN
        for validator in self.mod.requirements("token_validator"):
            try:
                result = await validator.call("validate_token", {"provided_token": token})
            except CommandError as exc:
                log.error("validate_token on %s failed: %s", validator.module_id, exc)
                continue
            if result.get("authorization_status") == "Accepted":
                return result
            last = result
        return last

    def _select(self, token: dict, result: dict, parent: str | None) -> Evse | None:
        """An EVSE waiting for authorization first, else the first free one (EVerest's FindFirst)."""
        value = token_value(token) or ""
        free = [e for e in self._allowed(token, result)
                if e.enabled and e.transaction_token is None and not e.finished and not e.authorized
                and self._may_use(e, value, parent)[0]]
        waiting = [e for e in free if e.plugged]
        return (waiting or free or [None])[0]

    def _may_use(self, evse: Evse, value: str, parent: str | None) -> tuple[bool, Reservation | None]:
        """Whether the token may charge at the EVSE, and the reservation it uses there."""
        return admits(self.reservations.values(), evse.evse_id, value, parent,
                      len([e for e in self._free() if e is not evse]))

    def _free(self) -> list[Evse]:
        """Enabled EVSEs without a car, a driver or a reservation of their own."""
        own = {r.evse_id for r in self.reservations.values()}
        return [e for e in self.evses if e.enabled and not e.session and e.evse_id not in own]

    async def _authorize(self, evse: Evse, token: dict, result: dict, parent: str | None) -> None:
        result = dict(result)
        _allowed, reservation = self._may_use(evse, token_value(token) or "", parent)
        if reservation is not None:
            result["reservation_id"] = reservation.reservation_id
        evse.auth_token, evse.auth_parent = token, parent
        await evse.req.call("authorize_response", {"provided_token": token, "validation_result": result})
        evse.authorized = True
        await self._status(token, "Accepted")
        if reservation is not None and self._drop_reservation(reservation.reservation_id):
            await self._reservation_update(reservation.reservation_id, "Used")
            await self._hold_for_any()
        if not evse.plugged:
            self._start_timer(evse)

    async def _stop(self, evse: Evse, token: dict, reason: str) -> None:
        log.info("token %s stops the transaction on EVSE %s (%s)", token_value(token), evse.evse_id, reason)
        await evse.req.call("stop_transaction", {"request": {"reason": reason, "id_tag": token}})
        await self._status(token, "UsedToStop")

    # ------------------------------------------------------------ auth commands
    def set_connection_timeout(self, args: dict) -> None:
        self.connection_timeout = int(args["connection_timeout"])
        log.info("connection timeout now %s s", self.connection_timeout)

    def set_master_pass_group_id(self, args: dict) -> None:
        self.master_pass_group_id = args["master_pass_group_id"]

    async def withdraw_authorization(self, args: dict) -> str:
        request = args.get("request") or {}
        evse_id, id_token = request.get("evse_id"), (request.get("id_token") or {}).get("value")
        evses = self.evses
        if evse_id is not None:
            evses = [e for e in evses if e.evse_id == evse_id]
            if not evses:
                return "EvseNotFound"
        targets = [e for e in evses if e.authorized and e.auth_token is not None
                   and (id_token is None or token_value(e.auth_token) == id_token)]
        for evse in targets:
            evse.cancel_timer()
            await evse.req.call("withdraw_authorization", {})
            token, evse.authorized, evse.auth_token = evse.auth_token, False, None
            await self._status(token, "Withdrawn")
        return "Accepted" if targets else "AuthorizationNotFound"

    # ------------------------------------------------------------ reservation commands
    async def reserve_now(self, args: dict) -> str:
        reservation = Reservation.from_request(args["request"])
        if reservation.seconds_left() <= 0:
            return "Rejected"
        if reservation.evse_id is None:
            status = self._any_evse_status(reservation)
        else:
            status = await self._evse_status(reservation)
        if status != "Accepted":
            return status
        previous = self.reservations.get(reservation.reservation_id)
        self._drop_reservation(reservation.reservation_id)  # the same id again replaces it
        if previous is not None and previous.evse_id not in (None, reservation.evse_id):
            await self._release(previous)
        self._place(reservation)
        await self._hold_for_any()
        await self._reservation_update(reservation.reservation_id, "Placed")
        return "Accepted"

    def _others(self, reservation: Reservation) -> list[Reservation]:
        return [r for r in self.reservations.values() if r.reservation_id != reservation.reservation_id]

    def _any_evse_status(self, reservation: Reservation) -> str:
        enabled = [e for e in self.evses if e.enabled]
        if not enabled:
            return "Unavailable"
        others = self._others(reservation)
        own = {r.evse_id for r in others}
        free = [e for e in enabled if not e.session and e.evse_id not in own]
        return "Accepted" if len(free) > len([r for r in others if r.evse_id is None]) else "Occupied"

    async def _evse_status(self, reservation: Reservation) -> str:
        evse = self._evse(reservation.evse_id)
        if evse is None:
            return "Rejected"
        if not evse.enabled:
            return "Unavailable"
        others = self._others(reservation)
        own = {r.evse_id for r in others}
        free_elsewhere = [e for e in self.evses if e.enabled and not e.session and e.evse_id not in own
                          and e is not evse]
        if evse.session or evse.evse_id in own or len(free_elsewhere) < len([r for r in others if r.evse_id is None]):
            return "Occupied"
        if not await evse.req.call("reserve", {"reservation_id": reservation.reservation_id}):
            return "Occupied"
        evse.held = False
        return "Accepted"

    def _evse(self, evse_id: int | None) -> Evse | None:
        return next((e for e in self.evses if e.evse_id == evse_id), None)

    def _place(self, reservation: Reservation) -> None:
        self.reservations[reservation.reservation_id] = reservation
        self._expiry[reservation.reservation_id] = asyncio.get_running_loop().create_task(self._expire(reservation))
        self.saved.save(self.reservations.values())

    async def _restore(self) -> None:
        """The reservations of the previous run: expired ones end, the others reserve their EVSE again."""
        for reservation in self.saved.load():
            if reservation.seconds_left() <= 0:
                log.info("reservation %s expired while the charger was off", reservation.reservation_id)
                await self._reservation_update(reservation.reservation_id, "Expired")
                continue
            evse = self._evse(reservation.evse_id)
            if reservation.evse_id is not None and (evse is None or not await evse.req.call(
                    "reserve", {"reservation_id": reservation.reservation_id})):
                log.warning("reservation %s could not be placed again", reservation.reservation_id)
                await self._reservation_update(reservation.reservation_id, "Cancelled")
                continue
            self._place(reservation)
        self.saved.save(self.reservations.values())
        await self._hold_for_any()

    async def _hold_for_any(self) -> None:
        """While the reservations for any EVSE need every free EVSE, those EVSEs are reserved (without an id), as
        EVerest's Auth does; once fewer are needed they are released."""
        anywhere = [r for r in self.reservations.values() if r.evse_id is None]
        free = self._free()
        hold = bool(anywhere) and len(anywhere) >= len(free)
        for evse in free:
            if hold and not evse.held:
                evse.held = bool(await evse.req.call("reserve", {"reservation_id": -1}))
            elif not hold and evse.held:
                evse.held = False
                await evse.req.call("cancel_reservation", {})

    async def _expire(self, reservation: Reservation) -> None:
        await asyncio.sleep(max(0.0, reservation.seconds_left()))
        self._expiry.pop(reservation.reservation_id, None)
        if self._drop_reservation(reservation.reservation_id):
            log.info("reservation %s expired", reservation.reservation_id)
            await self._release(reservation)
            await self._hold_for_any()
            await self._reservation_update(reservation.reservation_id, "Expired")

    def _drop_reservation(self, reservation_id: int) -> bool:
        task = self._expiry.pop(reservation_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        dropped = self.reservations.pop(reservation_id, None) is not None
        if dropped:
            self.saved.save(self.reservations.values())
        return dropped

    async def _release(self, reservation: Reservation) -> None:
        evse = self._evse(reservation.evse_id)
        if evse is not None:
            await evse.req.call("cancel_reservation", {})

    async def _end_evse_reservation(self, evse: Evse) -> None:
        """A disabled EVSE keeps no reservation (EVerest cancels it when the connector becomes unavailable)."""
        evse.held = False
        for reservation in [r for r in self.reservations.values() if r.evse_id == evse.evse_id]:
            self._drop_reservation(reservation.reservation_id)
            await self._release(reservation)
            await self._reservation_update(reservation.reservation_id, "Cancelled")

    async def cancel_reservation(self, args: dict) -> bool:
        reservation = self.reservations.get(args["reservation_id"])
        if reservation is None:
            return False
        self._drop_reservation(reservation.reservation_id)
        await self._release(reservation)
        await self._hold_for_any()
        await self._reservation_update(reservation.reservation_id, "Cancelled")
        return True

    def exists_reservation(self, args: dict) -> str:
        request = args["request"]
        return check(self.reservations.values(), request.get("evse_id"), request["id_token"],
                     request.get("group_id_token"))

    async def close(self) -> None:
        tasks = list(self._expiry.values()) + [e.timer for e in self.evses if e.timer is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def main() -> None:
    mod = await Module.connect()
    auth = Auth(mod)
    auth.register()
    await mod.signal_ready(auth.on_ready)
    try:
        await mod.run_forever()
    finally:
        await auth.close()
        await mod.close()
