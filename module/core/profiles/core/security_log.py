"""The security log the whitepaper asks for: every security event, one line each, in a rotated file; secrets
masked (an AuthorizationKey or Basic auth token in an event's info never reaches the disk)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from module.link.secrets import mask_text

FILE_NAME = "security.log"


class SecurityLog:
    """Appends to `folder`/security.log, rotated past `max_file_size` bytes, keeping `max_files` old files."""

    def __init__(self, folder: Path, *, max_file_size: int, max_files: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        self._handler = logging.handlers.RotatingFileHandler(self.path, maxBytes=max_file_size,
                                                             backupCount=max_files, encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))

    def write(self, timestamp: str, event_type: str, info: str | None, critical: bool) -> None:
        line = f"{timestamp} {event_type} {'critical' if critical else 'info'}"
        if info:
            line += " " + " ".join(info.split())
        self._handler.emit(logging.LogRecord("security", logging.INFO, "", 0, mask_text(line), None, None))

    def close(self) -> None:
        self._handler.close()
