"""The diagnostics archive: the charger's log files in one tar.gz, as a system module uploads them."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path


def archive_logs(sources: list[Path], target: Path, oldest: str | None, latest: str | None) -> list[str]:
    """Write `target` with the log files `sources` names (files, or folders taken whole) last written at or after
    `oldest` (a file last written before it holds nothing newer) and an index `diagnostics.json`; returns the
    archived names. `latest` cuts no file (its older lines may be the ones wanted) and is only recorded."""
    since = _parse(oldest)
    names: list[str] = []
    with tarfile.open(target, "w:gz") as tar:
        for source in sources:
            files = sorted(source.rglob("*")) if source.is_dir() else [source]
            for path in files:
                if path.is_file() and (since is None or _modified(path) >= since):
                    name = f"{source.name}/{path.relative_to(source)}" if source.is_dir() else source.name
                    tar.add(path, arcname=name)
                    names.append(name)
        index = json.dumps({"oldest": oldest, "latest": latest, "files": names}, indent=1).encode()
        info = tarfile.TarInfo("diagnostics.json")
        info.size = len(index)
        info.mtime = int(datetime.now(UTC).timestamp())
        tar.addfile(info, io.BytesIO(index))
    return names


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _parse(timestamp: str | None) -> datetime | None:
    if not timestamp:
        return None
    parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
