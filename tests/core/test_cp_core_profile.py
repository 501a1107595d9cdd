"""Core profile operations against the real charge point in process (link, queue, SQLite, local CSMS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from module.core.profiles.core.remote_control import RESET_RETRY_S
from sim.csms.server import LocalCsms
from tests.core.station import station


async def test_tc_001_cs_cold_boot(tmp_path: Path, csms: LocalCsms) -> None:
    csms.heartbeat_interval = 120
    async with station(tmp_path, csms) as cp:
        boot = csms.payloads("BootNotification")[0]
        assert (boot["chargePointVendor"], boot["chargePointModel"]) == ("SimVendor", "SimModel")
        statuses = [(p["connectorId"], p["status"]) for p in csms.payloads("StatusNotification")]
        assert statuses == [(0, "Available"), (1, "Available"), (2, "Available")]
        assert cp.charge_point.cfg.get("HeartbeatInterval") == 120
        assert cp.charger.called("set_system_time")


async def test_heartbeat_every_heartbeat_interval(tmp_path: Path, csms: LocalCsms) -> None:
    csms.heartbeat_interval = 60
    async with station(tmp_path, csms) as cp:
        mark = csms.mark()
        await cp.clock.sleeper_until(cp.clock.monotonic() + 60)  # the heartbeat timer
        cp.clock.advance(60)
        await csms.wait_for("Heartbeat", after_index=mark)
        await cp.charger.wait_called("set_system_time", count=2)  # the Heartbeat answer's currentTime


async def test_tc_019_cs_retrieve_configuration(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        answer = await cp.call("GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
        assert [item["key"] for item in answer["configurationKey"]] == ["HeartbeatInterval"]
        assert answer["unknownKey"] == ["NoSuchKey"]
        everything = await cp.call("GetConfiguration", {})
        keys = {item["key"]: item.get("value") for item in everything["configurationKey"]}
        assert keys["SupportedFeatureProfiles"] == ("Core,FirmwareManagement,LocalAuthListManagement,RemoteTrigger,"
                                                    "Reservation,SmartCharging")


async def test_tc_021_cs_change_configuration(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "15"}) == {
            "status": "Accepted"}
        assert cp.charge_point.cfg.get("MeterValueSampleInterval") == 15


async def test_tc_040_cs_configuration_key_unknown_or_invalid(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert (await cp.call("ChangeConfiguration", {"key": "NoSuchKey", "value": "1"}))["status"] == "NotSupported"
        answer = await cp.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "-3"})
        assert answer["status"] == "Rejected"


async def test_connection_timeout_change_reaches_the_auth_module(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "45"})
        assert await cp.charger.wait_called("set_connection_timeout") == [(45,)]


async def test_tc_061_cs_clear_authorization_cache(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Core": {"AuthorizationCacheEnabled": True,
                                                        "LocalPreAuthorize": True}}) as cp:
        authorization = cp.charge_point.core.authorization
        assert (await authorization.validate("CARD1"))["status"] == "Accepted"
        assert authorization.cache.get("CARD1") is not None
        assert await cp.call("ClearCache", {}) == {"status": "Accepted"}
        assert authorization.cache.get("CARD1") is None


async def test_tc_062_cs_data_transfer(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("DataTransfer", {"vendorId": "acme"}) == {"status": "UnknownVendorId"}
        cp.charger.data_transfer_answer = {"status": "Accepted", "data": "pong"}
        answer = await cp.call("DataTransfer", {"vendorId": "acme", "messageId": "ping", "data": "x"})
        assert answer == {"status": "Accepted", "data": "pong"}
        assert cp.charger.called("data_transfer")[-1] == ({"vendor_id": "acme", "message_id": "ping", "data": "x"},)


async def test_data_transfer_to_the_csms(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        remote = cp.charge_point.core.remote
        answer = await remote.data_transfer_to_csms("acme", "hello", None)
        assert answer["status"] == "Accepted"
        assert csms.payloads("DataTransfer")[-1] == {"vendorId": "acme", "messageId": "hello"}
        csms.set_handler("DataTransfer", {"idTagInfo": {}})  # an answer that breaks DataTransfer's schema
        assert await remote.data_transfer_to_csms("acme", "broken", None) == {"status": "Rejected"}
        csms.set_handler("DataTransfer", None)
        csms.refuse_connections = True
        await csms.drop()
        await cp.charge_point.link.wait_disconnected()
        assert await remote.data_transfer_to_csms("acme", "offline", None) == {"status": "Offline"}


async def test_tc_013_cs_hard_reset_without_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("Reset", {"type": "Hard"}) == {"status": "Accepted"}
        assert await cp.charger.wait_called("reset") == [("Hard",)]
        assert not cp.charge_point.running


async def test_tc_015_cs_hard_reset_with_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        await csms.wait_for_transaction()
        assert await cp.call("Reset", {"type": "Hard"}) == {"status": "Accepted"}
        stop = await csms.wait_for("StopTransaction")
        assert stop["reason"] == "HardReset"
        assert await cp.charger.wait_called("reset") == [("Hard",)]


async def test_a_failed_reset_is_tried_again_reset_retries_times(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Core": {"ResetRetries": 2}}) as cp:
        cp.charger.reset_failures = 5  # never works
        assert await cp.call("Reset", {"type": "Soft"}) == {"status": "Accepted"}
        await cp.charger.wait_called("reset")
        for count in (2, 3):
            await cp.clock.sleeper_until(cp.clock.monotonic() + RESET_RETRY_S)
            cp.clock.advance(RESET_RETRY_S)
            await cp.charger.wait_called("reset", count)
        assert cp.clock.monotonic() + RESET_RETRY_S not in cp.clock.pending()  # no fourth attempt
        assert len(cp.charger.called("reset")) == 3  # the first attempt and two retries


async def test_reset_rejected_when_the_system_refuses(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        cp.charger.reset_allowed = False
        assert await cp.call("Reset", {"type": "Soft"}) == {"status": "Rejected"}
        assert cp.charge_point.running


@pytest.mark.parametrize("unlock_works, status", [(True, "Unlocked"), (False, "NotSupported")])
async def test_tc_017_030_cs_unlock_connector_without_session(tmp_path: Path, csms: LocalCsms, unlock_works: bool,
                                                              status: str) -> None:
    async with station(tmp_path, csms) as cp:
        cp.charger.unlock_works = unlock_works
        assert await cp.call("UnlockConnector", {"connectorId": 1}) == {"status": status}


async def test_tc_018_cs_unlock_connector_with_charging_session(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(2)
        await cp.charger.start(2, "CARD1")
        assert await cp.call("UnlockConnector", {"connectorId": 2}) == {"status": "Unlocked"}
        assert (await csms.wait_for("StopTransaction"))["reason"] == "UnlockCommand"


async def test_unlock_connector_of_a_fixed_cable_leaves_the_transaction_running(tmp_path: Path,
                                                                               csms: LocalCsms) -> None:
    """EVerest's test_unlock_connector_with_charging_session_fixed_cable: no lock, nothing to unlock or stop."""
    async with station(tmp_path, csms) as cp:
        cp.charger.unlock_works = False
        await cp.charger.plug_in(2)
        await cp.charger.start(2, "CARD1")
        assert await cp.call("UnlockConnector", {"connectorId": 2}) == {"status": "NotSupported"}
        assert not cp.charger.called("stop_transaction")


async def test_unlock_not_supported_ends_the_transaction_when_configured(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Internal": {"StopTransactionIfUnlockNotSupported": True}}) as cp:
        cp.charger.unlock_works = False
        await cp.charger.plug_in(2)
        await cp.charger.start(2, "CARD1")
        assert await cp.call("UnlockConnector", {"connectorId": 2}) == {"status": "NotSupported"}
        assert (await csms.wait_for("StopTransaction"))["reason"] == "UnlockCommand"


async def test_tc_031_cs_unlock_unknown_connector(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("UnlockConnector", {"connectorId": 3}) == {"status": "NotSupported"}


async def test_tc_010_cs_remote_start_hands_the_token_to_auth(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 2}) == {"status": "Accepted"}
        assert cp.charger.called("provide_token") == [("APP1", [2], True, None)]


async def test_tc_026_027_cs_remote_start_rejected(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        assert (await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 1}))["status"] == "Rejected"
        assert (await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 0}))["status"] == "Rejected"
        profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute",
                   "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
                       {"startPeriod": 0, "limit": 16}]}}
        answer = await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 2,
                                                          "chargingProfile": profile})
        assert answer["status"] == "Rejected"
        assert not cp.charger.called("provide_token")


async def test_tc_012_028_cs_remote_stop(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        transaction = await csms.wait_for_transaction()
        assert await cp.call("RemoteStopTransaction", {"transactionId": transaction.transaction_id + 100}) == {
            "status": "Rejected"}
        assert await cp.call("RemoteStopTransaction", {"transactionId": transaction.transaction_id}) == {
            "status": "Accepted"}
        assert (await csms.wait_for("StopTransaction"))["reason"] == "Remote"


async def test_change_availability_now_scheduled_and_kept_over_a_restart(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {
            "status": "Accepted"}
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2 and p["status"] == "Unavailable")
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        assert await cp.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {
            "status": "Scheduled"}
        mark = csms.mark()
        await cp.charger.finish(1, "Local")
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Unavailable",
                            after_index=mark)
        assert (await cp.call("ChangeAvailability", {"connectorId": 7, "type": "Operative"}))["status"] == "Rejected"
    async with station(tmp_path, csms) as cp:
        await cp.charge_point.core.availability.apply_persisted()
        assert (2, False) in cp.charger.called("set_available")


async def test_change_availability_of_the_charge_point_scheduled_in_preparing(tmp_path: Path,
                                                                              csms: LocalCsms) -> None:
    """EVerest's test_change_availability_scheduled_in_preparing: connector 0 and the idle connector go Unavailable
    at once, the connector being prepared only when its session ends."""
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Preparing")
        mark = csms.mark()
        assert await cp.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {
            "status": "Scheduled"}
        for connector_id in (0, 2):
            await csms.wait_for("StatusNotification", lambda p, c=connector_id: p["connectorId"] == c
                                and p["status"] == "Unavailable", after_index=mark)
        assert not [p for p in csms.payloads("StatusNotification", after_index=mark) if p["connectorId"] == 1]
        await cp.charger.unplug(1)
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Unavailable",
                            after_index=mark)


async def test_tc_054_cs_trigger_message(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        for requested, action in [("BootNotification", "BootNotification"), ("Heartbeat", "Heartbeat"),
                                  ("StatusNotification", "StatusNotification"),
                                  ("FirmwareStatusNotification", "FirmwareStatusNotification"),
                                  ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification")]:
            mark = csms.mark()
            assert await cp.call("TriggerMessage", {"requestedMessage": requested, "connectorId": 1}) == {
                "status": "Accepted"}
            await csms.wait_for(action, after_index=mark)
        cp.charger.draw(1, 0)
        mark = csms.mark()
        await cp.call("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
        values = await csms.wait_for("MeterValues", after_index=mark)
        assert values["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


async def test_tc_055_cs_trigger_message_rejected(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        answer = await cp.call("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 5})
        assert answer == {"status": "Rejected"}


async def test_critical_security_event_goes_to_the_csms(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charge_point.core.security.report("TamperDetectionActivated", "lid open" * 50)
        event = await csms.wait_for("SecurityEventNotification")
        assert event["type"] == "TamperDetectionActivated" and len(event["techInfo"]) == 255
        await cp.charge_point.core.security.report("SomethingHarmless", None)
        assert cp.charger.published[-1] == ("security_event", ("SomethingHarmless", None, False))


async def test_disable_security_event_notifications_keeps_critical_events_on_the_charger(tmp_path: Path,
                                                                                        csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Security": {"DisableSecurityEventNotifications": True}}) as cp:
        mark = csms.mark()
        await cp.charge_point.core.security.report("TamperDetectionActivated", "lid open")
        assert cp.charger.published[-1] == ("security_event", ("TamperDetectionActivated", "lid open", True))
        assert await csms.trigger_message("FirmwareStatusNotification") == {"status": "Accepted"}
        await csms.wait_for("FirmwareStatusNotification", after_index=mark)  # queued after it on the same lane
        assert csms.payloads("SecurityEventNotification", after_index=mark) == []
