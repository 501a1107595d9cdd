"""Durable writes of the user config: a crash at any instant leaves either the old or the new file, never a torn one."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Temp file in the same folder, fsync, rename over `path`, fsync the folder (so the rename itself persists)."""
    text = json.dumps(document, indent=4, sort_keys=False) + "\n"
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temp_files(path: Path) -> None:
    """Temp files of writes cut short by a crash; the real file is intact, these are garbage."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


class UserConfigStore:
    """The user config file: holds every change since the base; re-read before each write to keep hand edits."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self._document = document
        self._lock = threading.Lock()

    def store(self, section: str, key: str, value: Any) -> None:
        """Put one key into the user config durably; returns only after the data is on disk."""
        with self._lock:
            document = self._current()
            section_doc = document.get(section)
            if not isinstance(section_doc, dict):
                section_doc = {}
                document[section] = section_doc
            section_doc[key] = value
            write_json_atomic(self.path, document)
            self._document = document

    def _current(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("user config %s unreadable; rewriting it from the copy loaded at start", self.path)
            return json.loads(json.dumps(self._document))
        return document if isinstance(document, dict) else json.loads(json.dumps(self._document))
