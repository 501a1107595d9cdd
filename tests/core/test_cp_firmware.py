"""FirmwareManagement through the real charge point in process: UpdateFirmware, GetDiagnostics, their status
notifications (offline, after a power cut, on TriggerMessage) and the connectors around an installation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from module.core.ports import DiagnosticsUpload, FirmwareDownload
from module.core.profiles.firmware.service import RESUME_GRACE_S
from sim.csms.replies import CsmsCallError
from sim.csms.server import LocalCsms
from tests.core.station import Station, station

FIRMWARE = "FirmwareStatusNotification"
DIAGNOSTICS = "DiagnosticsStatusNotification"
UPDATE = {"location": "https://files.example/fw-2.0.bin", "retrieveDate": "2030-01-01T00:00:00Z", "retries": 2,
          "retryInterval": 5}


def statuses(csms: LocalCsms, action: str = FIRMWARE, after: int = 0) -> list[str]:
    return [payload["status"] for payload in csms.payloads(action, after_index=after)]


async def wait_status(cp: Station, action: str, status: str, after: int = 0) -> None:
    await cp.csms.wait_for(action, lambda p: p["status"] == status, after_index=after)


async def wait_connector(cp: Station, connector: int, status: str, after: int = 0) -> None:
    await cp.csms.wait_for("StatusNotification", lambda p: p["connectorId"] == connector and p["status"] == status,
                           after_index=after)


def connector_statuses(csms: LocalCsms, connector: int, after: int) -> list[str]:
    return [payload["status"] for payload in csms.payloads("StatusNotification", after_index=after)
            if payload["connectorId"] == connector]


async def downloaded(cp: Station) -> None:
    assert await cp.call("UpdateFirmware", UPDATE) == {}
    await cp.charger.wait_called("update_firmware")
    await cp.charger.firmware_status("Downloading")
    await cp.charger.firmware_status("Downloaded")


async def test_tc_044_1_cs_firmware_update_download_and_install(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        mark = csms.mark()
        await downloaded(cp)
        assert cp.charger.called("update_firmware") == [(FirmwareDownload(
            location=UPDATE["location"], retrieve_date=UPDATE["retrieveDate"], retries=2, retry_interval=5),)]
        await cp.charger.wait_called("allow_firmware_installation")
        for connector in (1, 2):
            await wait_connector(cp, connector, "Unavailable", mark)
        installing_confirmed = asyncio.Event()
        cp.charge_point.queue.on_transactional_result(FIRMWARE, lambda _session, request, _response: (
            installing_confirmed.set() if request["status"] == "Installing" else None))
        await cp.charger.firmware_status("Installing")
        await cp.charger.firmware_status("InstallRebooting")  # no 1.6 status: the CSMS still sees Installing
        await installing_confirmed.wait()  # else the reboot sends it again (a CALL in flight is not lost)
    mark = csms.mark()
    async with station(tmp_path, csms, boot_reason="FirmwareUpdate") as cp:
        await wait_status(cp, FIRMWARE, "Installed", mark)
        assert statuses(csms) == ["Downloading", "Downloaded", "Installing", "Installed"]
        assert connector_statuses(csms, 1, mark) == ["Available"]  # out of service only until the reboot


async def test_installation_waits_for_the_running_transaction_to_end(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        await csms.wait_for_transaction()
        await wait_connector(cp, 1, "Charging")
        mark = csms.mark()
        await downloaded(cp)
        await wait_connector(cp, 2, "Unavailable", mark)
        assert cp.charger.called("allow_firmware_installation") == []
        assert cp.charger.called("stop_transaction") == []
        await cp.charger.finish(1, "Local")
        await cp.charger.wait_called("allow_firmware_installation")
        await wait_connector(cp, 1, "Unavailable", mark)
        await cp.charger.unplug(1)
        assert connector_statuses(csms, 1, mark) == ["Finishing", "Unavailable"]  # never Available meanwhile
        assert (1, False) in cp.charger.called("set_available")


async def test_tc_044_3_cs_installation_failed_puts_the_connectors_back(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}) == {
            "status": "Accepted"}
        await wait_connector(cp, 2, "Unavailable")
        mark = csms.mark()
        await downloaded(cp)
        await cp.charger.wait_called("allow_firmware_installation")
        await cp.charger.firmware_status("Installing")
        await cp.charger.firmware_status("InstallationFailed")
        await wait_status(cp, FIRMWARE, "InstallationFailed")
        await wait_connector(cp, 1, "Available", mark)
        assert statuses(csms) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert connector_statuses(csms, 1, mark) == ["Unavailable", "Available"]
        assert connector_statuses(csms, 2, mark) == []  # the CSMS took it out of service: it stays out
        assert (2, True) not in cp.charger.called("set_available")


async def test_tc_044_2_cs_download_failed(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("UpdateFirmware", UPDATE) == {}
        for status in ("Downloading", "DownloadFailed", "Downloading", "DownloadFailed"):
            await cp.charger.firmware_status(status)
        await csms.wait_for(FIRMWARE, lambda _p: len(statuses(csms)) == 4)
        assert statuses(csms) == ["Downloading", "DownloadFailed", "Downloading", "DownloadFailed"]
        assert cp.charger.called("allow_firmware_installation") == []


async def test_signed_update_statuses_are_not_firmware_status_notifications(tmp_path: Path,
                                                                            csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.firmware_status("Downloading", request_id=7)  # SignedUpdateFirmware's, not ours
        await cp.charger.log_status("Uploading", request_id=7)
        await cp.charger.firmware_status("DownloadFailed")
        await wait_status(cp, FIRMWARE, "DownloadFailed")
        assert statuses(csms) == ["DownloadFailed"] and statuses(csms, DIAGNOSTICS) == []


@pytest.mark.parametrize("action, payload", [
    ("UpdateFirmware", {**UPDATE, "location": "ftp://files.example/fw.bin"}),
    ("GetDiagnostics", {"location": "sftp://files.example/logs/"})])
async def test_a_protocol_outside_supported_file_transfer_protocols_fails_at_once(
        tmp_path: Path, csms: LocalCsms, action: str, payload: dict[str, Any]) -> None:
    config = {"FirmwareManagement": {"SupportedFileTransferProtocols": "HTTP,HTTPS"}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await cp.call(action, payload) == {}
        if action == "UpdateFirmware":
            await wait_status(cp, FIRMWARE, "DownloadFailed")
        else:
            await wait_status(cp, DIAGNOSTICS, "UploadFailed")
        assert cp.charger.called("update_firmware") == cp.charger.called("upload_logs") == []


async def test_tc_045_1_cs_get_diagnostics(tmp_path: Path, csms: LocalCsms) -> None:
    request = {"location": "ftp://user:pw@files.example/logs/", "retries": 1, "retryInterval": 3,
               "startTime": "2030-01-01T00:00:00Z", "stopTime": "2030-01-02T00:00:00Z"}
    async with station(tmp_path, csms) as cp:
        assert await cp.call("GetDiagnostics", request) == {"fileName": "diagnostics-cp1.tar.gz"}
        assert cp.charger.called("upload_logs") == [(DiagnosticsUpload(
            location=request["location"], retries=1, retry_interval=3, start_time=request["startTime"],
            stop_time=request["stopTime"]),)]
        await cp.charger.log_status("Uploading")
        await cp.charger.log_status("Uploaded")
        await wait_status(cp, DIAGNOSTICS, "Uploaded")
        assert statuses(csms, DIAGNOSTICS) == ["Uploading", "Uploaded"]


async def test_tc_045_2_cs_get_diagnostics_upload_failed(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("GetDiagnostics", {"location": "https://files.example/upload"}) == {
            "fileName": "diagnostics-cp1.tar.gz"}
        for status in ("Uploading", "UploadFailure", "Uploading", "PermissionDenied"):
            await cp.charger.log_status(status)
        await csms.wait_for(DIAGNOSTICS, lambda _p: len(statuses(csms, DIAGNOSTICS)) == 4)
        assert statuses(csms, DIAGNOSTICS) == ["Uploading", "UploadFailed", "Uploading", "UploadFailed"]


async def test_get_diagnostics_without_a_file_names_none(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        cp.charger.log_file_name = None
        assert await cp.call("GetDiagnostics", {"location": "https://files.example/upload"}) == {}


async def test_tc_054_cs_trigger_reports_the_transfer_under_way_and_idle_otherwise(tmp_path: Path,
                                                                                 csms: LocalCsms) -> None:
    async def triggered(action: str) -> str:
        mark = csms.mark()
        assert await cp.call("TriggerMessage", {"requestedMessage": action}) == {"status": "Accepted"}
        return (await csms.wait_for(action, after_index=mark))["status"]

    async with station(tmp_path, csms) as cp:
        assert await triggered(FIRMWARE) == "Idle"
        assert await triggered(DIAGNOSTICS) == "Idle"
        await cp.charger.firmware_status("Downloading")
        await cp.charger.log_status("Uploading")
        await wait_status(cp, DIAGNOSTICS, "Uploading")
        assert await triggered(FIRMWARE) == "Downloading"
        assert await triggered(DIAGNOSTICS) == "Uploading"
        await cp.charger.firmware_status("DownloadFailed")
        await cp.charger.log_status("Uploaded")
        await wait_status(cp, DIAGNOSTICS, "Uploaded")
        assert await triggered(FIRMWARE) == "Idle"
        assert await triggered(DIAGNOSTICS) == "Idle"


async def test_statuses_sent_while_offline_arrive_after_reconnect_in_order(tmp_path: Path,
                                                                         csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        csms.refuse_connections = True
        await csms.drop()
        await cp.charge_point.link.wait_disconnected()
        mark = csms.mark()
        for status in ("Downloading", "Downloaded"):
            await cp.charger.firmware_status(status)
        await cp.charger.log_status("Uploading")
        await cp.charger.firmware_status("Installing")
        await cp.charger.log_status("UploadFailure")
        csms.refuse_connections = False
        await wait_status(cp, DIAGNOSTICS, "UploadFailed", mark)
        sent = [(record.action, record.payload["status"]) for record in csms.messages[mark:]
                if record.kind == "CALL" and record.action in (FIRMWARE, DIAGNOSTICS)]
        assert sent == [(FIRMWARE, "Downloading"), (FIRMWARE, "Downloaded"), (DIAGNOSTICS, "Uploading"),
                        (FIRMWARE, "Installing"), (DIAGNOSTICS, "UploadFailed")]


async def test_a_transfer_cut_by_a_power_loss_is_reported_failed_unless_the_system_resumes_it(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.firmware_status("Downloading")
        await cp.charger.log_status("Uploading")
        await wait_status(cp, DIAGNOSTICS, "Uploading")
    mark = csms.mark()
    async with station(tmp_path, csms) as cp:
        await cp.charger.firmware_status("Downloading")  # the system module takes the download up again
        await cp.clock.sleeper_until(cp.clock.monotonic() + RESUME_GRACE_S)  # the grace for the cut upload
        cp.clock.advance(RESUME_GRACE_S)
        await wait_status(cp, DIAGNOSTICS, "UploadFailed", mark)
        assert statuses(csms, after=mark) == ["Downloading"]


async def test_without_firmware_management_both_operations_are_not_supported(tmp_path: Path,
                                                                             csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Core": {"SupportedFeatureProfiles": "Core,RemoteTrigger"}}) as cp:
        with pytest.raises(CsmsCallError) as refused:
            await cp.call("UpdateFirmware", UPDATE)
        assert refused.value.code == "NotSupported"
        assert await cp.call("TriggerMessage", {"requestedMessage": FIRMWARE}) == {"status": "NotImplemented"}
