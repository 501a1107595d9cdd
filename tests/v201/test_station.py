"""The assembled 2.0.1 station: what the boot's answer sets, Reset through the system module (B11/B12), and where
it connects from the device model."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from module.queue.database import Database
from module.v201.device_model.device_model import DeviceModel
from module.v201.station import NetworkProfileError, link_settings
from sim.csms.records import DISCONNECTED
from sim.csms.server import LocalCsms
from tests.v201.conftest import STATION_ID, RecordingSystem, running_station


async def test_the_boot_answer_sets_the_heartbeat_interval_and_the_clock(tmp_path: Path, csms: LocalCsms) -> None:
    csms.heartbeat_interval = 45
    system = RecordingSystem()
    async with running_station(tmp_path, csms, system=system) as station:
        assert station.model.value_of("OCPPCommCtrlr", "HeartbeatInterval") == "45"
        assert system.calls[0][0] == "set_system_time"
        assert station.model.value_of("ClockCtrlr", "DateTime") == system.calls[0][1]


async def test_tc_b_11_cs_reset_immediate_without_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    system = RecordingSystem()
    async with running_station(tmp_path, csms, system=system) as station:
        assert await csms.call(STATION_ID, "Reset", {"type": "Immediate"}) == {"status": "Accepted"}
        await asyncio.wait_for(system.reset_done.wait(), 5)
        assert ("reset", "NotSpecified") in system.calls and not station.running
        await csms.wait_for_record(lambda r: r.kind == DISCONNECTED)  # the OCPP side stopped for the reset


async def test_reset_of_one_evse_or_not_allowed_is_rejected(tmp_path: Path, csms: LocalCsms) -> None:
    system = RecordingSystem(reset_allowed=False)
    async with running_station(tmp_path, csms, system=system) as station:
        assert await csms.call(STATION_ID, "Reset", {"type": "OnIdle"}) == {"status": "Rejected"}
        system.reset_allowed = True
        assert await csms.call(STATION_ID, "Reset", {"type": "Immediate", "evseId": 1}) == {"status": "Rejected"}
        assert station.running and not [call for call in system.calls if call[0] == "reset"]


def test_link_settings_come_from_the_prioritized_network_profile(tmp_path: Path) -> None:
    profiles = [{"configurationSlot": 1, "connectionData": {"ocppCsmsUrl": "ws://first.example:9000"}},
                {"configurationSlot": 2, "connectionData": {"ocppCsmsUrl": "wss://second.example/ocpp",
                                                            "securityProfile": 2}}]
    model = DeviceModel(Database.open(tmp_path, "CS1"), shipped={
        "InternalCtrlr/NetworkConnectionProfiles": {"Actual": json.dumps(profiles)},
        "OCPPCommCtrlr/NetworkConfigurationPriority": {"Actual": "2,1"},
        "InternalCtrlr/ChargePointId": {"Actual": "CS1"}})
    settings = link_settings(model)
    assert (settings.url(), settings.security_profile) == ("wss://second.example/ocpp/CS1", 2)
    tuned = DeviceModel(Database.open(tmp_path / "tuned", "CS1"), shipped={
        "InternalCtrlr/NetworkConnectionProfiles": {"Actual": json.dumps(profiles[:1])},
        "OCPPCommCtrlr/NetworkConfigurationPriority": {"Actual": "1"},
        "OCPPCommCtrlr/MessageTimeout[Default]": {"Actual": "12"},
        "OCPPCommCtrlr/WebSocketPingInterval": {"Actual": "25"},
        "OCPPCommCtrlr/RetryBackOffWaitMinimum": {"Actual": "4"},
        "OCPPCommCtrlr/RetryBackOffRandomRange": {"Actual": "6"},
        "OCPPCommCtrlr/RetryBackOffRepeatTimes": {"Actual": "2"}})
    tuned_settings = link_settings(tuned)
    assert (tuned_settings.call_timeout, tuned_settings.ping_interval, tuned_settings.retry_backoff_wait_minimum,
            tuned_settings.retry_backoff_random_range, tuned_settings.retry_backoff_repeat_times) == (12, 25, 4, 6, 2)
    unusable = DeviceModel(Database.open(tmp_path / "other", "CS1"), shipped={
        "InternalCtrlr/NetworkConnectionProfiles": {"Actual": "[]"}})
    with pytest.raises(NetworkProfileError):
        link_settings(unusable)


def _profile(slot: int, url: str, security_profile: int = 0) -> dict[str, object]:
    return {"configurationSlot": slot, "connectionData": {"ocppVersion": "OCPP20", "ocppTransport": "JSON",
                                                          "ocppCsmsUrl": url, "messageTimeout": 30,
                                                          "securityProfile": security_profile,
                                                          "ocppInterface": "Wired0"}}


async def test_set_network_profile_stores_a_slot_and_refuses_a_downgrade_or_unknown_slot(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms) as station:
        profile = _profile(2, "ws://backup.example:9000", 1)
        assert await csms.call(STATION_ID, "SetNetworkProfile", profile) == {"status": "Accepted"}
        stored = json.loads(station.model.value_of("InternalCtrlr", "NetworkConnectionProfiles") or "")
        assert [p["configurationSlot"] for p in stored] == [1, 2] and stored[1] == profile
        assert await csms.call(STATION_ID, "SetNetworkProfile", _profile(12, "ws://x.example")) == {
            "status": "Rejected"}
        station.link.update_settings(security_profile=1)  # as if profile 1 were in use
        assert await csms.call(STATION_ID, "SetNetworkProfile", _profile(3, "ws://a.example", 0)) == {
            "status": "Rejected"}  # below the profile in use


async def test_connection_falls_back_to_the_next_priority_slot(tmp_path: Path, csms: LocalCsms) -> None:
    """Slot 1 answers nobody; after NetworkProfileConnectionAttempts failures the station uses slot 2."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"ws://127.0.0.1:{closed.getsockname()[1]}"
    profiles = [_profile(1, dead), _profile(2, f"ws://{csms.host}:{csms.port}")]
    async with running_station(tmp_path, csms, shipped={
            "InternalCtrlr/NetworkConnectionProfiles": {"Actual": json.dumps(profiles)},
            "OCPPCommCtrlr/NetworkConfigurationPriority": {"Actual": "1,2"},
            "OCPPCommCtrlr/NetworkProfileConnectionAttempts": {"Actual": "2"}}) as station:
        assert station.link.settings.central_system_uri == f"ws://{csms.host}:{csms.port}"
        assert len(csms.payloads("BootNotification")) == 1


async def test_the_transaction_lane_retries_as_message_attempts_say(tmp_path: Path, csms: LocalCsms) -> None:
    shipped = {"OCPPCommCtrlr/MessageAttempts[TransactionEvent]": {"Actual": "7"},
               "OCPPCommCtrlr/MessageAttemptInterval[TransactionEvent]": {"Actual": "9"}}
    async with running_station(tmp_path, csms, shipped=shipped) as station:
        settings = station.queue.settings
        assert (settings.transaction_message_attempts, settings.transaction_message_retry_interval) == (7, 9)
