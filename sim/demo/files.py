"""The demo's file servers on loopback: firmware to download (a good image and a bad one) and a place for the
diagnostics archives, so `sim.ctl csms update-firmware URL` and `csms get-diagnostics URL` have a far end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.file_server import FtpFileServer, HttpFileServer
from sim.System.module import BAD_FIRMWARE_MARKER

GOOD_FIRMWARE = "firmware/cp001-2.0.bin"
BAD_FIRMWARE = "firmware/cp001-bad.bin"


@dataclass
class DemoFiles:
    http: HttpFileServer
    ftp: FtpFileServer | None

    @classmethod
    def start(cls, root: Path) -> DemoFiles:
        """HTTP always; FTP too when pyftpdlib (a development dependency) is installed."""
        (root / "firmware").mkdir(parents=True, exist_ok=True)
        (root / GOOD_FIRMWARE).write_bytes(b"demo firmware 2.0 for cp001\n" * 256)
        (root / BAD_FIRMWARE).write_bytes(BAD_FIRMWARE_MARKER + b" for another charger\n")
        try:
            ftp: FtpFileServer | None = FtpFileServer(root).start()
        except ImportError:
            ftp = None
        return cls(HttpFileServer(root).start(), ftp)

    def stop(self) -> None:
        self.http.stop()
        if self.ftp is not None:
            self.ftp.stop()

    def hints(self) -> list[str]:
        """What to try, for the demo's header."""
        lines = [f"firmware: python -m sim.ctl csms update-firmware {self.http.url}{GOOD_FIRMWARE} "
                 f"(or {BAD_FIRMWARE}: installation fails)",
                 f"logs: python -m sim.ctl csms get-diagnostics {self.http.url}uploads/ "
                 f"(arrives in {self.http.uploads})"]
        if self.ftp is not None:
            lines.append(f"over FTP: {self.ftp.url}{GOOD_FIRMWARE}, {self.ftp.url}uploads/")
        return lines
