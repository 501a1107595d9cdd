"""Paths and helpers shared by the configuration tests (a plain module, so tests need not import conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "config" / "ocpp-config.json"
LIBOCPP_STYLE = Path(__file__).parent / "fixtures" / "libocpp-style-config.json"
SECRET = "S3cretAuthKey1234"


def write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
