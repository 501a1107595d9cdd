"""The simulated System module's transfers and diagnostics archive against real servers on loopback."""

from __future__ import annotations

import asyncio
import os
import ssl
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sim.EvseSecurity import pki
from sim.file_server import FtpFileServer, HttpFileServer
from sim.System.logs import archive_logs
from sim.System.module import System
from sim.System.transfers import TransferError, download, upload
from tests.core.sim_security import FirmwareSigner

FIRMWARE = b"firmware 2.0\n" * 100


def tls_files(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for 127.0.0.1 and the CA file that trusts it."""
    ca_key, key = pki.new_key(), pki.new_key()
    ca = pki.issue(pki.name("Files CA", "Tests"), ca_key, None, ca_key, 1, ca=True)
    leaf = pki.issue(pki.name("127.0.0.1", "Tests"), key, ca, ca_key, 1, server_names=["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.write_pem(folder / "server.pem", leaf), pki.write_pem(folder / "server.key", key))
    return context, pki.write_pem(folder / "ca.pem", ca)


def test_download_over_http_ftp_and_https(tmp_path: Path, http_files: HttpFileServer,
                                          ftp_files: FtpFileServer) -> None:
    for server in (http_files, ftp_files):
        (server.root / "fw").mkdir(parents=True, exist_ok=True)
        (server.root / "fw" / "fw-2.0.bin").write_bytes(FIRMWARE)
    assert download(http_files.url + "fw/fw-2.0.bin", tmp_path / "a.bin", timeout=5) == len(FIRMWARE)
    assert download(ftp_files.url + "fw/fw-2.0.bin", tmp_path / "b.bin", timeout=5) == len(FIRMWARE)
    context, ca_file = tls_files(tmp_path / "tls")
    https = HttpFileServer(http_files.root, tls=context).start()
    try:
        assert https.url.startswith("https://")
        download(https.url + "fw/fw-2.0.bin", tmp_path / "c.bin", timeout=5, ca_file=str(ca_file))
        with pytest.raises(TransferError, match="CERTIFICATE_VERIFY_FAILED"):
            download(https.url + "fw/fw-2.0.bin", tmp_path / "d.bin", timeout=5)
    finally:
        https.stop()
    assert {path.name: path.read_bytes() for path in tmp_path.glob("?.bin")} == {
        "a.bin": FIRMWARE, "b.bin": FIRMWARE, "c.bin": FIRMWARE}


def test_failed_downloads_leave_no_file(tmp_path: Path, http_files: HttpFileServer,
                                        ftp_files: FtpFileServer) -> None:
    target = tmp_path / "fw.bin"
    for url, reason in ((http_files.url + "missing.bin", "404"), (ftp_files.url + "missing.bin", "550"),
                        (http_files.url + "held/fw.bin", "timed out"),
                        (ftp_files.url.replace(":firmware@", ":wrong@") + "fw.bin", "530"),
                        ("sftp://127.0.0.1/fw.bin", "protocol sftp")):
        with pytest.raises(TransferError, match=reason):
            download(url, target, timeout=0.5)
        assert list(tmp_path.glob("fw.bin*")) == []


def test_upload_over_ftp_and_http_put_and_multipart_post(tmp_path: Path, http_files: HttpFileServer,
                                                         ftp_files: FtpFileServer) -> None:
    source = tmp_path / "diagnostics-cp.tar.gz"
    source.write_bytes(FIRMWARE)
    (ftp_files.root / "logs").mkdir()
    assert upload(ftp_files.url + "logs/", source, timeout=5) == ftp_files.url.replace(
        ":firmware@", ":***@") + "logs/diagnostics-cp.tar.gz"
    assert (ftp_files.root / "logs" / source.name).read_bytes() == FIRMWARE
    upload(http_files.url + "put-here/", source, timeout=5, http_method="PUT")
    assert http_files.requests[-1] == ("PUT", "/put-here/diagnostics-cp.tar.gz")
    (http_files.uploads / source.name).unlink()
    upload(http_files.url + "post-here", source, timeout=5, http_method="POST")
    assert http_files.requests[-1] == ("POST", "/post-here")
    assert (http_files.uploads / source.name).read_bytes() == FIRMWARE
    for method in ("PUT", "POST"):
        with pytest.raises(TransferError, match="403"):
            upload(http_files.url + "forbidden/", source, timeout=5, http_method=method)


def test_diagnostics_archive_holds_the_logs_written_since_the_start_time(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "sessions").mkdir(parents=True)
    (logs / "messages.jsonl").write_text("new\n")
    (logs / "sessions" / "s1.log").write_text("new too\n")
    old = logs / "old.log"
    old.write_text("old\n")
    week_ago = time.time() - 7 * 86400
    os.utime(old, (week_ago, week_ago))
    manager_log = tmp_path / "manager.log"
    manager_log.write_text("manager\n")
    target = tmp_path / "diagnostics.tar.gz"
    names = archive_logs([logs, manager_log, tmp_path / "absent"], target, "2000-01-01T00:00:00Z", None)
    assert names == ["logs/messages.jsonl", "logs/old.log", "logs/sessions/s1.log", "manager.log"]
    since_yesterday = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    names = archive_logs([logs, manager_log], target, since_yesterday, None)
    assert "logs/old.log" not in names and len(names) == 3
    with tarfile.open(target) as tar:
        assert sorted(tar.getnames()) == sorted([*names, "diagnostics.json"])
        assert tar.extractfile("logs/sessions/s1.log").read() == b"new too\n"  # type: ignore[union-attr]


class _Published:
    """What System uses of its framework module: its config and publish."""

    def __init__(self, folder: Path) -> None:
        self.id = "system"
        self.config = {"state_file": str(folder / "system.json"), "work_dir": str(folder / "work"), "log_paths": "",
                       "security_log_path": "", "http_upload_method": "PUT", "transfer_timeout_s": 5,
                       "default_retry_interval_s": 1, "ca_file": ""}
        self.statuses: list[tuple[int, str]] = []
        self.changed = asyncio.Event()

    async def publish(self, impl: str, var: str, value: dict) -> None:
        self.statuses.append((value["request_id"], value[var]))
        self.changed.set()

    async def until(self, request_id: int, status: str) -> None:
        while (request_id, status) not in self.statuses:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


async def test_a_new_update_cancels_a_download_but_not_an_installation(tmp_path: Path,
                                                                        http_files: HttpFileServer) -> None:
    (http_files.root / "held").mkdir()
    (http_files.root / "held" / "fw.bin").write_bytes(FIRMWARE)
    (http_files.root / "fw.bin").write_bytes(FIRMWARE)
    mod = _Published(tmp_path)
    system = System(mod)  # type: ignore[arg-type]
    try:
        first = {"request_id": 1, "location": http_files.url + "held/fw.bin"}
        assert system.update_firmware({"firmware_update_request": first}) == "Accepted"
        await mod.until(1, "Downloading")
        later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        second = {"request_id": 2, "location": http_files.url + "fw.bin", "install_timestamp": later}
        assert system.update_firmware({"firmware_update_request": second}) == "AcceptedCanceled"
        await mod.until(2, "Downloaded")  # waits for allow_firmware_installation now
        system.allow_firmware_installation({})
        await mod.until(2, "InstallScheduled")
        third = {"request_id": 3, "location": http_files.url + "fw.bin"}
        assert system.update_firmware({"firmware_update_request": third}) == "Rejected"
        assert [status for request_id, status in mod.statuses if request_id == 1] == ["Downloading"]
        assert not any(request_id == 3 for request_id, _ in mod.statuses)
    finally:
        http_files.release()
        await system.close()


async def test_a_signed_firmware_is_installed_only_with_a_matching_signature(tmp_path: Path,
                                                                              http_files: HttpFileServer) -> None:
    (http_files.root / "fw.bin").write_bytes(FIRMWARE)
    signer = FirmwareSigner()
    mod = _Published(tmp_path)
    system = System(mod)  # type: ignore[arg-type]
    try:
        for request_id, signed in ((1, b"another file"), (2, FIRMWARE)):
            system.update_firmware({"firmware_update_request": {
                "request_id": request_id, "location": http_files.url + "fw.bin",
                "signing_certificate": signer.certificate_pem, "signature": signer.sign(signed)}})
            await mod.until(request_id, "InvalidSignature" if request_id == 1 else "SignatureVerified")
        assert [status for request_id, status in mod.statuses if request_id == 1] == [
            "Downloading", "Downloaded", "InvalidSignature"]
    finally:
        await system.close()
