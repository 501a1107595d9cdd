"""Fixtures for the configuration tests: the shipped base, a libocpp-style config and writable user configs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from config_testkit import BASE, LIBOCPP_STYLE, write_json

from module.config.charge_point_config import ChargePointConfig
from module.config.loader import load_config


@pytest.fixture
def base_copy(tmp_path: Path) -> Path:
    """The shipped base, copied so a test can prove it is never written."""
    path = tmp_path / "ocpp-config.json"
    shutil.copyfile(BASE, path)
    return path


@pytest.fixture
def user_path(tmp_path: Path) -> Path:
    return tmp_path / "user" / "user_config.json"


@pytest.fixture
def load(base_copy: Path, user_path: Path) -> Callable[..., ChargePointConfig]:
    """load(user_doc=None, base=None, **kwargs): writes the user doc (if given) and loads base + user."""

    def _load(user_doc: dict[str, Any] | None = None, base: Path | None = None, **kwargs: Any) -> ChargePointConfig:
        if user_doc is not None:
            write_json(user_path, user_doc)
        kwargs.setdefault("number_of_connectors", 2)
        return load_config(base or base_copy, user_path, **kwargs)

    return _load


@pytest.fixture
def libocpp_copy(tmp_path: Path) -> Path:
    path = tmp_path / "libocpp-config.json"
    shutil.copyfile(LIBOCPP_STYLE, path)
    return path
