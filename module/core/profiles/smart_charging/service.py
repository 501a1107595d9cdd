"""The SmartCharging profile's state: the installed charging profiles, the TxProfiles that RemoteStartTransaction
announced, and the loop that turns them into limits on the EVSEs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from module.clock import wait_for
from module.core.context import CoreContext, RunningTransaction, command
from module.core.inputs import SessionEvent
from module.core.ports import CompositeSchedule
from module.core.profile import ServiceBase
from module.core.profiles.smart_charging.charging_profile import (
    ABSOLUTE,
    RECURRING,
    TX,
    ChargingProfile,
    epoch,
)
from module.core.profiles.smart_charging.composite import CompositeSettings, connector_schedule, site_schedule
from module.core.profiles.smart_charging.store import InstalledProfile, ProfileStore
from module.core.profiles.smart_charging.validation import ProfileRules
from module.core.timestamps import parse_time, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectedProfile:
    """A RemoteStartTransaction's TxProfile, waiting for the transaction its idTag starts."""

    id_tag: str
    payload: dict[str, Any]
    deadline: float
    """On the charge point's clock: after ConnectionTimeOut the token no longer starts anything."""


class SmartChargingService(ServiceBase):
    """Owns the charging profiles and publishes the composite schedules to the energy sinks: at start-up, on every
    profile change, at transaction start and stop, when the websocket goes up or down (the purposes of
    IgnoredProfilePurposesOffline count only while online) and every PublishChargingScheduleIntervalS."""

    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.store = ProfileStore(ctx.db)
        self._expected: dict[int | None, ExpectedProfile] = {}
        self._changed = asyncio.Event()
        self._connected = False
        self._loop: asyncio.Task[None] | None = None
        ctx.remote_start_profiles = self
        ctx.connection_listeners.append(self._connection_changed)

    def rules(self) -> ProfileRules:
        return ProfileRules.from_config(self._ctx.cfg)

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """TxProfiles whose transaction did not survive the restart go (the Core profile started first and
        resumed what the EVSEs resumed); then the schedules go out."""
        running = {transaction.session_id for transaction in map(self._ctx.running_transaction,
                                                                  self._ctx.connector_ids) if transaction}
        self.store.remove(lambda installed: installed.profile.purpose == TX and installed.session_id not in running)
        self._loop = asyncio.create_task(self._publish_loop(), name="charging-schedules")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop

    def take_over(self, previous: SmartChargingService) -> None:
        """Remote starts announced to the previous instance still attach their profiles."""
        self._expected.update(previous._expected)

    def _connection_changed(self, connected: bool) -> None:
        self._connected = connected
        self._changed.set()

    # -- what the EVSEs report ------------------------------------------------------------------------------
    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        if event.kind == "TransactionStarted":
            self._attach_expected(connector_id, event)
            self._changed.set()
        elif event.kind == "TransactionFinished":
            self.store.remove(lambda installed: installed.session_id == event.session_id)
            self._changed.set()

    def _attach_expected(self, connector_id: int, event: SessionEvent) -> None:
        for key in (connector_id, None):
            expected = self._expected.get(key)
            if expected is not None and expected.id_tag == event.id_tag:
                del self._expected[key]
                if self._ctx.clock.monotonic() <= expected.deadline:
                    self._install(self.rules(), connector_id, expected.payload, event.session_id)
                return

    # -- RemoteStartTransaction (CoreContext.remote_start_profiles) -------------------------------------------
    def acceptable(self, connector_id: int | None, profile: dict[str, Any]) -> bool:
        target = connector_id or self._ctx.connector_ids[0]
        problem = self.rules().problem(target, self._ctx.connector_ids, profile)
        if problem is None and profile["chargingProfilePurpose"] != TX:
            problem = "only a TxProfile comes with a remote start"
        if problem is not None:
            log.info("RemoteStartTransaction's charging profile refused: %s", problem)
        return problem is None

    def expect(self, connector_id: int | None, id_tag: str, profile: dict[str, Any]) -> None:
        self._expected[connector_id] = ExpectedProfile(
            id_tag, profile, self._ctx.clock.monotonic() + self._ctx.cfg.get("ConnectionTimeOut"))

    # -- SetChargingProfile / ClearChargingProfile -------------------------------------------------------------
    def set_profile(self, connector_id: int, payload: dict[str, Any]) -> bool:
        """Install `payload` (csChargingProfiles) on `connector_id` if every rule allows it."""
        rules = self.rules()
        problem = rules.problem(connector_id, self._ctx.connector_ids, payload)
        session_id = None
        if problem is None and payload["chargingProfilePurpose"] == TX:
            transaction = self._ctx.running_transaction(connector_id)
            problem = _transaction_problem(connector_id, transaction, payload.get("transactionId"))
            session_id = transaction.session_id if transaction else None
        if problem is not None:
            log.info("charging profile %s for connector %s refused: %s", payload["chargingProfileId"], connector_id,
                     problem)
            return False
        return self._install(rules, connector_id, payload, session_id)

    def _install(self, rules: ProfileRules, connector_id: int, payload: dict[str, Any],
                 session_id: str | None) -> bool:
        schedule = payload["chargingSchedule"]
        if payload["chargingProfileKind"] in (ABSOLUTE, RECURRING) and "startSchedule" not in schedule:
            payload = {**payload, "chargingSchedule": {**schedule, "startSchedule": utc_now()}}
        profile = ChargingProfile.from_ocpp(connector_id, payload)
        if len(self.store) - len(self.store.displaced_by(profile)) >= rules.max_installed:
            log.info("charging profile %s refused: MaxChargingProfilesInstalled (%s) reached", profile.id,
                     rules.max_installed)
            return False
        self.store.install(InstalledProfile(profile, payload, session_id))
        self._changed.set()
        return True

    def clear(self, profile_id: int | None, connector_id: int | None, purpose: str | None,
              stack_level: int | None) -> bool:
        """ClearChargingProfile: the profile with `profile_id`, else every profile matching the other criteria
        that are given (none given: every profile). False when nothing matched."""
        def matches(installed: InstalledProfile) -> bool:
            profile = installed.profile
            if profile_id is not None:
                return profile.id == profile_id
            return ((connector_id is None or profile.connector_id == connector_id)
                    and (purpose is None or profile.purpose == purpose)
                    and (stack_level is None or profile.stack_level == stack_level))
        removed = self.store.remove(matches)
        if removed:
            self._changed.set()
        return bool(removed)

    # -- composite schedules ------------------------------------------------------------------------------------
    def max_composite_duration(self) -> int:
        return int(self._ctx.cfg.get("MaxCompositeScheduleDuration"))

    def default_unit(self) -> str:
        """GetCompositeSchedule's unit when the CSMS names none: the first allowed one."""
        return next(iter(self.rules().units), "A")

    def composite(self, connector_id: int, duration: int, unit: str) -> CompositeSchedule | None:
        """GetCompositeSchedule's schedule from now on; None for an unknown connector."""
        if connector_id == 0:
            return self.schedules(duration, unit)[0]
        if connector_id not in self._ctx.connector_ids:
            return None
        return self._connector_schedules(self._now(), duration, unit, [connector_id])[0]

    def schedules(self, duration: int, unit: str) -> list[CompositeSchedule]:
        """The site's schedule (connector 0) and every connector's, from now on."""
        now = self._now()
        connectors = self._connector_schedules(now, duration, unit, self._ctx.connector_ids)
        maxima = [installed.profile for installed in self._in_force().get(0, ())]
        return [site_schedule(connectors, maxima, now, duration, unit, self._settings()), *connectors]

    def _now(self) -> int:
        """Whole seconds of the wall clock; expired profiles are purged on the way."""
        now = epoch(datetime.now(UTC))
        self.store.remove(lambda installed: installed.profile.expired(now))
        return now

    def _connector_schedules(self, now: int, duration: int, unit: str, connector_ids: list[int]
                             ) -> list[CompositeSchedule]:
        settings = self._settings()
        by_connector = self._in_force()
        shared = [installed.profile for installed in by_connector.get(0, ())]
        schedules = []
        for connector_id in connector_ids:
            transaction = self._ctx.running_transaction(connector_id)
            session = transaction.session_id if transaction else None
            own = [installed.profile for installed in by_connector.get(connector_id, ())
                   if installed.profile.purpose != TX or installed.session_id == session]
            schedules.append(connector_schedule(shared + own, connector_id, now, duration, unit, settings,
                                                _transaction_start(transaction)))
        return schedules

    def _in_force(self) -> dict[int, list[InstalledProfile]]:
        """Installed profiles by connector, without the purposes IgnoredProfilePurposesOffline drops while
        offline."""
        ignored = set() if self._connected else set(self._ctx.cfg.get("IgnoredProfilePurposesOffline") or ())
        grouped: dict[int, list[InstalledProfile]] = defaultdict(list)
        for installed in self.store.all():
            if installed.profile.purpose not in ignored:
                grouped[installed.profile.connector_id].append(installed)
        return grouped

    def _settings(self) -> CompositeSettings:
        get = self._ctx.cfg.get
        return CompositeSettings(supply_voltage=get("SupplyVoltage"),
                                 default_amps=get("CompositeScheduleDefaultLimitAmps"),
                                 default_watts=get("CompositeScheduleDefaultLimitWatts"),
                                 default_phases=get("CompositeScheduleDefaultNumberPhases"))

    # -- to the energy sinks ------------------------------------------------------------------------------------
    async def _publish_loop(self) -> None:
        while True:
            self._changed.clear()
            try:
                await self._publish()
            except Exception:  # e.g. a full disk while purging: the next round tries again
                log.exception("publishing the charging schedules failed")
            interval = self._ctx.schedule_publishing.interval_s
            with contextlib.suppress(TimeoutError):
                await wait_for(self._ctx.clock, self._changed.wait(), interval if interval > 0 else None)

    async def _publish(self) -> None:
        options = self._ctx.schedule_publishing
        schedules = self.schedules(options.duration_s, options.unit)
        sink = self._ctx.ports.energy_sink

        async def limit(schedule: CompositeSchedule) -> None:
            await command("set_external_limits", sink.set_limits(schedule), None)
        await asyncio.gather(*map(limit, schedules))
        await command("publish charging_schedules", sink.publish_schedules(schedules), None)


def _transaction_problem(connector_id: int, transaction: RunningTransaction | None, wanted: int | None
                         ) -> str | None:
    if transaction is None:
        return f"no transaction runs on connector {connector_id}"
    if wanted is not None and wanted != transaction.transaction_id:
        return f"transaction {wanted} does not run on connector {connector_id}"
    return None


def _transaction_start(transaction: RunningTransaction | None) -> int | None:
    moment = parse_time(transaction.start_time) if transaction else None
    return None if moment is None else epoch(moment)
