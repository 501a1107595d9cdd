"""SmartCharging against the real charge point in process (link, queue, SQLite, local CSMS): the OCTT cases, the
profile rules, the limits the energy sinks get, and profiles kept over a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from module.core.context import SchedulePublishing
from module.core.profiles.smart_charging.service import SmartChargingService
from sim.csms.server import LocalCsms
from tests.core.charging_profiles import charging_profile
from tests.core.station import Station, station

MINUTE = timedelta(minutes=1)


def ago(delta: timedelta = MINUTE) -> datetime:
    return datetime.now(UTC) - delta


async def set_profile(cp: Station, connector_id: int, payload: dict[str, Any]) -> str:
    answer = await cp.call("SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": payload})
    return str(answer["status"])


async def charging(cp: Station, connector_id: int, id_tag: str = "CARD1") -> int:
    """A transaction the CSMS accepted on the connector; its id."""
    mark = cp.csms.mark()
    await cp.charger.plug_in(connector_id)
    await cp.charger.start(connector_id, id_tag)
    return (await cp.csms.wait_for_transaction(connector=connector_id, after_index=mark)).transaction_id


def installed(cp: Station) -> list[int]:
    """The ids of the charging profiles the charge point holds, sorted."""
    service = cp.charge_point.services["SmartCharging"]
    assert isinstance(service, SmartChargingService)
    return sorted(entry.profile.id for entry in service.store.all())


def tx_default(profile_id: int, limit: float, *, start: datetime | None = None, **fields: Any) -> dict[str, Any]:
    return charging_profile(profile_id, "TxDefaultProfile", [(0, limit)], start=start or ago(), **fields)


async def test_tc_056_cs_central_smart_charging_tx_default_profile(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.wait_limit(1, 48)  # nothing installed: the default
        assert await set_profile(cp, 0, tx_default(1, 10)) == "Accepted"
        await cp.charger.wait_limit(1, 10)
        await cp.charger.wait_limit(2, 10)
        await cp.charger.wait_limit(0, 20)  # the site: both connectors together
        await charging(cp, 1)
        assert cp.charger.limit(1) == 10


async def test_tc_057_cs_central_smart_charging_tx_profile(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await set_profile(cp, 0, tx_default(1, 20))
        transaction_id = await charging(cp, 1)
        profile = charging_profile(2, "TxProfile", [(0, 8)], start=ago(), transaction_id=transaction_id)
        assert await set_profile(cp, 1, profile) == "Accepted"
        await cp.charger.wait_limit(1, 8)
        assert cp.charger.limit(2) == 20
        await cp.charger.finish(1, "Local")
        await cp.charger.wait_limit(1, 20)  # the TxProfile went with its transaction
        assert installed(cp) == [1]


async def test_tc_058_1_cs_tx_profile_without_ongoing_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        profile = charging_profile(1, "TxProfile", [(0, 8)], start=ago(), transaction_id=1)
        assert await set_profile(cp, 1, profile) == "Rejected"


async def test_tc_058_2_cs_tx_profile_with_wrong_transaction_id(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        transaction_id = await charging(cp, 1)
        profile = charging_profile(1, "TxProfile", [(0, 8)], start=ago(), transaction_id=transaction_id + 1)
        assert await set_profile(cp, 1, profile) == "Rejected"
        assert await set_profile(cp, 2, {**profile, "transactionId": transaction_id}) == "Rejected"  # not there
        assert await set_profile(cp, 1, {**profile, "transactionId": transaction_id}) == "Accepted"


async def test_tc_059_cs_remote_start_transaction_with_charging_profile(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        profile = charging_profile(1, "TxProfile", [(0, 6), (300, 16)], kind="Relative")
        answer = await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 1,
                                                          "chargingProfile": profile})
        assert answer == {"status": "Accepted"}
        assert cp.charger.called("provide_token") == [("APP1", [1], True, None)]
        await cp.charger.wait_limit(1, 48)  # stored for the transaction the token starts, not applied before
        await charging(cp, 1, "APP1")
        schedule = await cp.charger.wait_limit(1, 6)
        assert [p.limit for p in schedule.periods] == [6, 16]  # the sink's schedule covers 600 s from now
        await cp.charger.finish(1, "Local")
        await cp.charger.wait_limit(1, 48)


async def test_remote_start_profile_only_for_the_token_it_came_with(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        profile = charging_profile(1, "TxProfile", [(0, 6)], kind="Relative")
        mark = cp.csms.mark()
        await cp.charger.plug_in(2)  # a car waits at connector 2: the auth module gives it the remote token
        assert (await cp.call("RemoteStartTransaction", {"idTag": "APP1", "chargingProfile": profile}))[
            "status"] == "Accepted"
        await cp.csms.wait_for_transaction(connector=2, after_index=mark)
        await charging(cp, 1, "CARD9")
        await cp.charger.wait_limit(2, 6)  # no connector was named: it goes where the token starts
        assert cp.charger.limit(1) == 48


async def test_tc_060_cs_remote_start_transaction_with_charging_profile_rejected(tmp_path: Path,
                                                                                 csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        for profile in (charging_profile(1, "TxDefaultProfile", [(0, 6)], kind="Relative"),
                        charging_profile(1, "TxProfile", [(0, 6)], kind="Relative", stack_level=99)):
            answer = await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 1,
                                                              "chargingProfile": profile})
            assert answer == {"status": "Rejected"}
        assert not cp.charger.called("provide_token")


async def test_tc_066_cs_get_composite_schedule(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        start = ago(timedelta(seconds=30)).replace(microsecond=0)
        await set_profile(cp, 0, charging_profile(1, "TxDefaultProfile", [(0, 16), (600, 10, 1)], start=start))
        await set_profile(cp, 0, charging_profile(2, "ChargePointMaxProfile", [(0, 13800)], unit="W", start=start))
        answer = await cp.call("GetCompositeSchedule", {"connectorId": 1, "duration": 1200, "chargingRateUnit": "A"})
        assert answer["status"] == "Accepted" and answer["connectorId"] == 1
        schedule = answer["chargingSchedule"]
        assert schedule["chargingRateUnit"] == "A" and schedule["duration"] == 1200
        assert schedule["startSchedule"] == answer["scheduleStart"]
        offset = 600 - (datetime.fromisoformat(answer["scheduleStart"]) - start).seconds
        assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16, "numberPhases": 3},
                                                      {"startPeriod": offset, "limit": 10, "numberPhases": 1}]
        watts = await cp.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "W"})
        assert watts["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 11040
        default_unit = await cp.call("GetCompositeSchedule", {"connectorId": 0, "duration": 60})
        assert default_unit["chargingSchedule"]["chargingRateUnit"] == "A"  # the first of Current,Power
        assert default_unit["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 20  # 13800 W at 690 V
        assert await cp.call("GetCompositeSchedule", {"connectorId": 3, "duration": 60}) == {"status": "Rejected"}


async def test_get_composite_schedule_duration_is_capped(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Internal": {"MaxCompositeScheduleDuration": 3600}}) as cp:
        answer = await cp.call("GetCompositeSchedule", {"connectorId": 1, "duration": 86400})
        assert answer["chargingSchedule"]["duration"] == 3600


async def test_tc_067_cs_clear_charging_profile(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await set_profile(cp, 0, tx_default(1, 10))
        await set_profile(cp, 1, tx_default(2, 12, stack_level=1))
        await set_profile(cp, 2, tx_default(3, 14, stack_level=1))
        await cp.charger.wait_limit(1, 12)
        assert await cp.call("ClearChargingProfile", {"id": 2}) == {"status": "Accepted"}
        await cp.charger.wait_limit(1, 10)
        assert await cp.call("ClearChargingProfile", {"id": 2}) == {"status": "Unknown"}
        assert await cp.call("ClearChargingProfile", {"connectorId": 1}) == {"status": "Unknown"}
        assert await cp.call("ClearChargingProfile", {"chargingProfilePurpose": "TxDefaultProfile",
                                                      "stackLevel": 1}) == {"status": "Accepted"}
        await cp.charger.wait_limit(2, 10)
        assert await cp.call("ClearChargingProfile", {"connectorId": 0}) == {"status": "Accepted"}
        await cp.charger.wait_limit(1, 48)


async def test_libocpp_811_clearing_the_tx_default_applies_the_limits_at_once(tmp_path: Path,
                                                                              csms: LocalCsms) -> None:
    interval = SchedulePublishing(interval_s=3600)  # no round of the timer can help: the clock stands still
    async with station(tmp_path, csms, schedule_publishing=interval) as cp:
        await charging(cp, 1)
        await set_profile(cp, 0, tx_default(1, 10))
        await cp.charger.wait_limit(1, 10)
        await cp.call("ClearChargingProfile", {"chargingProfilePurpose": "TxDefaultProfile"})
        await cp.charger.wait_limit(1, 48)


async def test_tc_072_cs_stacking_charging_profiles(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await set_profile(cp, 0, charging_profile(1, "TxDefaultProfile", [(0, 16)], start=ago(), stack_level=0))
        await set_profile(cp, 0, charging_profile(2, "TxDefaultProfile", [(0, 6)], start=ago(), stack_level=1,
                                                  duration=3600))
        await cp.charger.wait_limit(1, 6)
        answer = await cp.call("GetCompositeSchedule", {"connectorId": 1, "duration": 7200})
        periods = answer["chargingSchedule"]["chargingSchedulePeriod"]
        assert [period["limit"] for period in periods] == [6, 16]
        assert 3540 <= periods[1]["startPeriod"] <= 3600  # the stack level 1 profile ends an hour after its start


async def test_tc_082_cs_tx_default_profile_during_a_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await charging(cp, 2)
        await cp.charger.wait_limit(2, 48)
        assert await set_profile(cp, 2, tx_default(1, 9)) == "Accepted"
        await cp.charger.wait_limit(2, 9)
        assert cp.charger.limit(1) == 48


@pytest.mark.parametrize("connector_id, fields, reason", [
    (0, {"chargingProfilePurpose": "TxProfile"}, "a TxProfile on connector 0"),
    (1, {"chargingProfilePurpose": "ChargePointMaxProfile"}, "ChargePointMax on a connector"),
    (0, {"chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Relative"}, "Relative max"),
    (3, {}, "unknown connector"),
    (1, {"stackLevel": 11}, "above ChargeProfileMaxStackLevel"),
    (1, {"chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1}],
                              "startSchedule": "2026-01-01T00:00:00Z"}}, "unit not allowed"),
    (1, {"chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": s, "limit": 1} for s in range(4)], "startSchedule": "2026-01-01T00:00:00Z"}},
     "more periods than ChargingScheduleMaxPeriods"),
    (1, {"chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": 1}, {"startPeriod": 0, "limit": 2}], "startSchedule": "2026-01-01T00:00:00Z"}},
     "startPeriods not increasing"),
    (1, {"chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": 1, "numberPhases": 4}], "startSchedule": "2026-01-01T00:00:00Z"}},
     "four phases"),
    (1, {"chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 1}]}},
     "no startSchedule"),
    (1, {"chargingProfileKind": "Recurring"}, "Recurring without recurrencyKind"),
])
async def test_set_charging_profile_rules(tmp_path: Path, csms: LocalCsms, connector_id: int,
                                          fields: dict[str, Any], reason: str) -> None:
    config = {"SmartCharging": {"ChargeProfileMaxStackLevel": 10, "ChargingScheduleAllowedChargingRateUnit": "Current",
                                "ChargingScheduleMaxPeriods": 3}}
    async with station(tmp_path, csms, config=config) as cp:
        profile = {**tx_default(1, 10), **fields}
        assert await set_profile(cp, connector_id, profile) == "Rejected", reason
        assert await set_profile(cp, 1, tx_default(1, 10)) == "Accepted"


async def test_unsupported_purpose_and_profile_without_start_schedule(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Internal": {"SupportedChargingProfilePurposeTypes": ["TxDefaultProfile", "TxProfile"],
                           "AllowChargingProfileWithoutStartSchedule": True}}
    async with station(tmp_path, csms, config=config) as cp:
        maximum = charging_profile(1, "ChargePointMaxProfile", [(0, 10)], start=ago())
        assert await set_profile(cp, 0, maximum) == "Rejected"
        assert await set_profile(cp, 1, charging_profile(2, "TxDefaultProfile", [(0, 7)])) == "Accepted"
        await cp.charger.wait_limit(1, 7)  # starts now


async def test_profiles_replace_by_id_and_by_connector_stack_level_and_purpose(tmp_path: Path,
                                                                            csms: LocalCsms) -> None:
    config = {"SmartCharging": {"MaxChargingProfilesInstalled": 2}}
    async with station(tmp_path, csms, config=config) as cp:
        await set_profile(cp, 1, tx_default(1, 10))
        await set_profile(cp, 1, tx_default(1, 11, stack_level=2))  # same id
        await set_profile(cp, 1, tx_default(2, 12, stack_level=2))  # same connector, stack level and purpose
        assert installed(cp) == [2]
        await cp.charger.wait_limit(1, 12)
        await set_profile(cp, 2, tx_default(3, 13, stack_level=2))  # another connector: kept beside it
        assert await set_profile(cp, 0, tx_default(4, 14)) == "Rejected"  # MaxChargingProfilesInstalled
        assert await set_profile(cp, 2, tx_default(4, 14, stack_level=2)) == "Accepted"  # replaces 3
        assert installed(cp) == [2, 4]


async def test_profiles_survive_a_restart_and_tx_profiles_of_ended_transactions_do_not(tmp_path: Path,
                                                                                      csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await set_profile(cp, 0, tx_default(1, 11))
        await set_profile(cp, 0, charging_profile(2, "ChargePointMaxProfile", [(0, 30)], start=ago()))
        transaction_id = await charging(cp, 1)
        await set_profile(cp, 1, charging_profile(3, "TxProfile", [(0, 5)], start=ago(),
                                                  transaction_id=transaction_id))
        await set_profile(cp, 0, tx_default(4, 9, stack_level=3, duration=60, start=ago(timedelta(hours=2))))
        await cp.charger.wait_limit(1, 5)
    async with station(tmp_path, csms) as cp:  # a power cut: the transaction is not resumed
        await cp.charger.wait_limit(1, 11)
        await cp.charger.wait_limit(0, 22)
        assert installed(cp) == [1, 2]  # the expired profile 4 was purged too
        answer = await cp.call("GetCompositeSchedule", {"connectorId": 2, "duration": 60})
        assert answer["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 11


async def test_ignored_purposes_count_only_while_online(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Internal": {"IgnoredProfilePurposesOffline": "TxDefaultProfile"}}
                       ) as cp:
        await set_profile(cp, 0, tx_default(1, 10))
        await cp.charger.wait_limit(1, 10)
        csms.refuse_connections = True
        await csms.drop()
        await cp.charger.wait_limit(1, 48)
        mark = csms.mark()
        csms.refuse_connections = False
        await cp.clock.sleeping()
        cp.clock.advance(max(cp.clock.pending()) - cp.clock.monotonic())  # the link's back-off
        await csms.wait_for_charge_point(after_index=mark)
        await cp.charger.wait_limit(1, 10)


async def test_schedules_go_out_every_interval_for_the_configured_duration(tmp_path: Path, csms: LocalCsms) -> None:
    publishing = SchedulePublishing(interval_s=30, duration_s=900, unit="W")
    async with station(tmp_path, csms, schedule_publishing=publishing) as cp:
        await cp.charger.wait_called("set_limits", count=3)  # start-up: the site and both connectors
        await cp.clock.sleeping()
        rounds = len(cp.charger.limits[1])
        cp.clock.advance(30)
        await cp.charger.wait_called("set_limits", count=3 * (rounds + 1))
        schedule = cp.charger.limits[1][-1]
        assert (schedule.duration, schedule.unit, schedule.periods[0].limit) == (900, "W", 33120)
        published = [args[0] for name, args in cp.charger.published if name == "charging_schedules"]
        assert [s.connector_id for s in published[-1]] == [0, 1, 2]
