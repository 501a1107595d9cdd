"""Registration states (1.6 section 4.2): Pending answers the CSMS and sends what it triggers; Rejected is silent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from module.core.timestamps import utc_text
from sim.csms.server import LocalCsms
from tests.core.station import station


async def test_tc_002_cs_pending_answers_and_sends_triggered_messages_only(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Pending"
    async with station(tmp_path, csms, boot=False) as cp:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")  # answered
        answer = await cp.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
        assert answer["configurationKey"][0]["key"] == "HeartbeatInterval"
        for requested in ("StatusNotification", "Heartbeat", "DiagnosticsStatusNotification",
                          "FirmwareStatusNotification"):
            mark = csms.mark()
            assert (await cp.call("TriggerMessage", {"requestedMessage": requested}))["status"] == "Accepted"
            await csms.wait_for(requested, after_index=mark)
        assert not csms.payloads("SecurityEventNotification")
        assert {p["connectorId"] for p in csms.payloads("StatusNotification")} == {0, 1, 2}


async def test_remote_start_and_stop_rejected_while_pending(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Pending"
    async with station(tmp_path, csms, boot=False) as cp:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")  # answered
        assert await cp.call("RemoteStartTransaction", {"idTag": "APP1"}) == {"status": "Rejected"}
        assert await cp.call("RemoteStopTransaction", {"transactionId": 20}) == {"status": "Rejected"}
        assert not cp.charger.called("provide_token")


async def test_triggered_boot_notification_accepted_ends_pending(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Pending"
    async with station(tmp_path, csms, boot=False) as cp:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")  # answered
        csms.boot_status = "Accepted"
        mark = csms.mark()
        assert (await cp.call("TriggerMessage", {"requestedMessage": "BootNotification"}))["status"] == "Accepted"
        await csms.wait_for("BootNotification", after_index=mark)
        await cp.charge_point.queue.registration.wait_accepted()
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2, after_index=mark)
        assert (await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 1}))["status"] == "Accepted"


async def test_pending_boot_repeated_after_its_interval_then_accepted(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Pending"
    csms.heartbeat_interval = 30
    async with station(tmp_path, csms, boot=False) as cp:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")  # answered
        await cp.clock.sleeper_until(cp.clock.monotonic() + 30)  # the next boot after the Pending interval
        csms.boot_status = "Accepted"
        mark = csms.mark()
        cp.clock.advance(30)
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2, after_index=mark)
        assert len(csms.payloads("BootNotification")) == 2


async def test_rejected_sends_nothing_but_the_next_boot(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Rejected"
    csms.heartbeat_interval = 40
    async with station(tmp_path, csms, boot=False) as cp:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")  # answered
        await cp.charge_point.core.security.report("StartupOfTheDevice", None)
        await cp.clock.sleeper_until(cp.clock.monotonic() + 40)  # the next boot after the Rejected interval
        csms.boot_status = "Accepted"
        cp.clock.advance(40)
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2)
        actions = [r.action for r in csms.messages if r.direction == "in" and r.kind == "CALL"]
        assert actions[:2] == ["BootNotification", "BootNotification"]
        await csms.wait_for("SecurityEventNotification")


async def test_a_large_clock_step_from_the_csms_is_a_setting_system_time_event(tmp_path: Path,
                                                                              csms: LocalCsms) -> None:
    """Every Heartbeat answer sets the clock; only one that moves it by more than CLOCK_STEP_EVENT_S is reported."""
    async with station(tmp_path, csms) as cp:
        mark = csms.mark()
        assert await csms.trigger_message("Heartbeat") == {"status": "Accepted"}
        await cp.charger.wait_called("set_system_time", 2)  # boot, then this heartbeat
        two_hours_ahead = utc_text(datetime.now(UTC) + timedelta(hours=2))
        csms.set_handler("Heartbeat", lambda payload, cp_id: {"currentTime": two_hours_ahead})
        assert await csms.trigger_message("Heartbeat") == {"status": "Accepted"}
        event = await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "SettingSystemTime",
                                    after_index=mark)
        assert event["techInfo"] in (f"clock set to {two_hours_ahead} (+{seconds} s)" for seconds in (7199, 7200))
        assert [p["type"] for p in csms.payloads("SecurityEventNotification", after_index=mark)] == [
            "SettingSystemTime"]
