"""Resolving the module's file options the way EVerest's OCPP module does."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def share_dir() -> Path:
    """Where shipped configs live: `<prefix>/share/everest/modules/OCPP` under EVerest, else the repo's config/."""
    prefix = os.environ.get("EV_PREFIX")
    if prefix:
        shared = Path(prefix) / "share" / "everest" / "modules" / "OCPP"
        if shared.is_dir():
            return shared
    return REPOSITORY / "config"


def resolve(option: str, must_exist: bool = False) -> Path:
    """An absolute path as given; a relative one as given if it exists, else inside the share folder."""
    path = Path(option).expanduser()
    if path.is_absolute() or (must_exist and path.exists()):
        return path
    return share_dir() / path
