"""The security extension's GetLog and SignedUpdateFirmware through the real charge point in process: the signing
certificate checked before any download, the system module's answers and statuses with the CSMS's request id,
offline and after a power cut, and ExtendedTriggerMessage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from module.core.ports import DiagnosticsUpload, FirmwareDownload
from module.core.profiles.firmware.service import RESUME_GRACE_S
from sim.csms.records import CALL
from sim.csms.server import LocalCsms
from tests.core.sim_security import FirmwareSigner
from tests.core.station import Station, station

SIGNED = "SignedFirmwareStatusNotification"
LOG = "LogStatusNotification"
FIRMWARE_FILE = b"firmware 2.0 image"
GET_LOG = {"logType": "SecurityLog", "requestId": 7, "retries": 2, "retryInterval": 10,
           "log": {"remoteLocation": "ftp://logs.example/upload", "oldestTimestamp": "2026-01-01T00:00:00Z",
                   "latestTimestamp": "2026-02-01T00:00:00Z"}}


def signed_update(signer: FirmwareSigner, request_id: int = 11) -> dict[str, Any]:
    return {"requestId": request_id, "retries": 1, "retryInterval": 30, "firmware": {
        "location": "https://files.example/fw-2.0.bin", "retrieveDateTime": "2026-01-01T00:00:00Z",
        "installDateTime": "2026-01-02T00:00:00Z", "signingCertificate": signer.certificate_pem,
        "signature": signer.sign(FIRMWARE_FILE)}}


def notifications(csms: LocalCsms, action: str, after: int = 0) -> list[dict[str, Any]]:
    return csms.payloads(action, after_index=after)


async def install_manufacturer_root(cp: Station, signer: FirmwareSigner) -> None:
    answer = await cp.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                  "certificate": signer.root_pem})
    assert answer == {"status": "Accepted"}


async def wait_connector(cp: Station, connector: int, status: str, after: int) -> None:
    await cp.csms.wait_for("StatusNotification", lambda p: p["connectorId"] == connector and p["status"] == status,
                           after_index=after)


async def test_tc_079_cs_get_security_log(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("GetLog", GET_LOG) == {"status": "Accepted", "filename": "diagnostics-cp1.tar.gz"}
        assert cp.charger.called("upload_logs") == [(DiagnosticsUpload(
            location="ftp://logs.example/upload", retries=2, retry_interval=10, start_time="2026-01-01T00:00:00Z",
            stop_time="2026-02-01T00:00:00Z", request_id=7, log_type="SecurityLog"),)]
        await cp.charger.log_status("Uploading", 7)
        await cp.charger.log_status("Uploaded", 7)
        await csms.wait_for(LOG, lambda p: p["status"] == "Uploaded")
        assert notifications(csms, LOG) == [{"status": "Uploading", "requestId": 7},
                                            {"status": "Uploaded", "requestId": 7}]
        assert notifications(csms, "DiagnosticsStatusNotification") == []


async def test_get_log_answers_what_the_system_module_answers(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        cp.charger.log_answer = "AcceptedCanceled"
        answer = await cp.call("GetLog", {**GET_LOG, "logType": "DiagnosticsLog"})
        assert answer == {"status": "AcceptedCanceled", "filename": "diagnostics-cp1.tar.gz"}
        assert cp.charger.called("upload_logs")[-1][0].log_type == "DiagnosticsLog"
        cp.charger.log_answer = "Rejected"
        assert await cp.call("GetLog", GET_LOG) == {"status": "Rejected"}


async def test_get_log_to_a_protocol_not_supported_is_rejected(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"FirmwareManagement": {"SupportedFileTransferProtocols": "HTTPS"}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await cp.call("GetLog", GET_LOG) == {"status": "Rejected"}
        assert cp.charger.called("upload_logs") == []


async def test_tc_080_cs_secure_firmware_update(tmp_path: Path, csms: LocalCsms) -> None:
    signer = FirmwareSigner()
    async with station(tmp_path, csms) as cp:
        await install_manufacturer_root(cp, signer)
        request = signed_update(signer)
        assert await cp.call("SignedUpdateFirmware", request) == {"status": "Accepted"}
        firmware = request["firmware"]
        assert cp.charger.called("update_firmware") == [(FirmwareDownload(
            location=firmware["location"], retrieve_date=firmware["retrieveDateTime"], retries=1, retry_interval=30,
            request_id=11, install_date=firmware["installDateTime"], signing_certificate=signer.certificate_pem,
            signature=firmware["signature"]),)]
        mark = csms.mark()
        for status in ("Downloading", "Downloaded"):
            await cp.charger.firmware_status(status, 11)
        await cp.charger.wait_called("allow_firmware_installation")
        for connector in (1, 2):
            await wait_connector(cp, connector, "Unavailable", mark)
        rebooting_confirmed = asyncio.Event()
        cp.charge_point.queue.on_transactional_result(SIGNED, lambda _session, request, _response: (
            rebooting_confirmed.set() if request["status"] == "InstallRebooting" else None))
        for status in ("SignatureVerified", "Installing", "InstallRebooting"):
            await cp.charger.firmware_status(status, 11)
        await rebooting_confirmed.wait()  # else the reboot sends it again (a CALL in flight is not lost)
    mark = csms.mark()
    async with station(tmp_path, csms, boot_reason="FirmwareUpdate") as cp:
        await csms.wait_for(SIGNED, lambda p: p["status"] == "Installed", after_index=mark)
        assert notifications(csms, SIGNED) == [{"status": status, "requestId": 11} for status in (
            "Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed")]
        assert notifications(csms, "FirmwareStatusNotification") == []  # the unsigned kind never appears
        await wait_connector(cp, 1, "Available", mark)


async def test_tc_081_cs_invalid_firmware_signature(tmp_path: Path, csms: LocalCsms) -> None:
    signer = FirmwareSigner()
    async with station(tmp_path, csms) as cp:
        await install_manufacturer_root(cp, signer)
        assert await cp.call("SignedUpdateFirmware", signed_update(signer, 12)) == {"status": "Accepted"}
        mark = csms.mark()
        for status in ("Downloading", "Downloaded"):
            await cp.charger.firmware_status(status, 12)
        await wait_connector(cp, 1, "Unavailable", mark)
        await cp.charger.firmware_status("InvalidSignature", 12)
        event = await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidFirmwareSignature")
        assert "12" in event["techInfo"]
        assert notifications(csms, SIGNED)[-1] == {"status": "InvalidSignature", "requestId": 12}
        await wait_connector(cp, 1, "Available", mark)  # no installation: the connectors serve again


async def test_signing_certificate_without_the_manufacturer_root_is_refused_before_download(
        tmp_path: Path, csms: LocalCsms) -> None:
    trusted, stranger = FirmwareSigner(), FirmwareSigner(trusted=False)
    async with station(tmp_path, csms) as cp:
        # no manufacturer root installed at all
        assert await cp.call("SignedUpdateFirmware", signed_update(trusted)) == {"status": "InvalidCertificate"}
        await install_manufacturer_root(cp, trusted)
        # a signing certificate that another root issued
        assert await cp.call("SignedUpdateFirmware", signed_update(stranger)) == {"status": "InvalidCertificate"}
        await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidFirmwareSigningCertificate")
        assert cp.charger.called("update_firmware") == []
        assert notifications(csms, SIGNED) == []


async def test_a_second_update_gets_the_system_modules_answer(tmp_path: Path, csms: LocalCsms) -> None:
    """The system module decides whether a running update is cancelled for a new one (AcceptedCanceled) or the
    new one is refused (Rejected, while installing); the charge point passes its answer on."""
    signer = FirmwareSigner()
    async with station(tmp_path, csms) as cp:
        await install_manufacturer_root(cp, signer)
        for answer in ("AcceptedCanceled", "Rejected"):
            cp.charger.firmware_answer = answer
            assert await cp.call("SignedUpdateFirmware", signed_update(signer)) == {"status": answer}
        cp.charger.firmware_answer = "SomethingElse"
        assert await cp.call("SignedUpdateFirmware", signed_update(signer)) == {"status": "Rejected"}


async def test_statuses_produced_offline_arrive_after_reconnect_in_order(tmp_path: Path, csms: LocalCsms) -> None:
    signer = FirmwareSigner()
    async with station(tmp_path, csms) as cp:
        await install_manufacturer_root(cp, signer)
        assert await cp.call("SignedUpdateFirmware", signed_update(signer, 21)) == {"status": "Accepted"}
        assert (await cp.call("GetLog", {**GET_LOG, "requestId": 22}))["status"] == "Accepted"
        await cp.go_offline()
        mark = csms.mark()
        await cp.charger.firmware_status("Downloading", 21)
        await cp.charger.log_status("Uploading", 22)
        await cp.charger.firmware_status("DownloadFailed", 21)
        await cp.charger.log_status("UploadFailure", 22)
        await cp.go_online()
        await csms.wait_for(LOG, lambda p: p["status"] == "UploadFailure", after_index=mark)
        sent = [(record.action, record.payload) for record in csms.log.records[mark:]
                if record.action in (SIGNED, LOG) and record.direction == "in" and record.kind == CALL]
        assert sent == [(SIGNED, {"status": "Downloading", "requestId": 21}),
                        (LOG, {"status": "Uploading", "requestId": 22}),
                        (SIGNED, {"status": "DownloadFailed", "requestId": 21}),
                        (LOG, {"status": "UploadFailure", "requestId": 22})]


async def test_extended_trigger_message_reports_the_transfer_under_way(tmp_path: Path, csms: LocalCsms) -> None:
    signer = FirmwareSigner()
    async with station(tmp_path, csms) as cp:
        for requested, action in (("FirmwareStatusNotification", SIGNED), ("LogStatusNotification", LOG)):
            mark = csms.mark()
            assert await cp.call("ExtendedTriggerMessage", {"requestedMessage": requested}) == {"status": "Accepted"}
            assert await csms.wait_for(action, after_index=mark) == {"status": "Idle"}
        await install_manufacturer_root(cp, signer)
        await cp.call("SignedUpdateFirmware", signed_update(signer, 31))
        await cp.charger.firmware_status("Downloading", 31)
        await cp.call("GetLog", {**GET_LOG, "requestId": 32})
        await cp.charger.log_status("Uploading", 32)
        mark = csms.mark()
        await cp.call("ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
        await cp.call("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"})
        assert await csms.wait_for(SIGNED, after_index=mark) == {"status": "Downloading", "requestId": 31}
        assert await csms.wait_for(LOG, after_index=mark) == {"status": "Uploading", "requestId": 32}
        await cp.charger.log_status("Uploaded", 32)
        await csms.wait_for(LOG, lambda p: p["status"] == "Uploaded")
        mark = csms.mark()
        await cp.call("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"})
        assert await csms.wait_for(LOG, after_index=mark) == {"status": "Idle"}


async def test_a_signed_download_cut_by_a_power_loss_is_reported_failed(tmp_path: Path, csms: LocalCsms) -> None:
    signer = FirmwareSigner()
    async with station(tmp_path, csms) as cp:
        await install_manufacturer_root(cp, signer)
        await cp.call("SignedUpdateFirmware", signed_update(signer, 41))
        await cp.charger.firmware_status("Downloading", 41)
        await csms.wait_for(SIGNED, lambda p: p["status"] == "Downloading")
    mark = csms.mark()
    async with station(tmp_path, csms, boot_reason="PowerUp") as cp:
        cp.clock.advance(RESUME_GRACE_S)
        failed = await csms.wait_for(SIGNED, lambda p: p["status"] != "Downloading", after_index=mark)
        assert failed == {"status": "DownloadFailed", "requestId": 41}
