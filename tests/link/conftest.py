"""Fixtures of the link tests: a CSMS per test, links stopped after the test, certificates per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from module.config import secret_fields
from module.link.link import OcppLink
from module.link.settings import LinkSettings
from tests.link.link_helpers import Csms, Pki, make_pki


@pytest.fixture(autouse=True)
def configuration_secrets() -> None:
    """What the configuration layer tells the link at start-up: AuthorizationKey values are secrets."""
    secret_fields.register(["AuthorizationKey"])


@pytest.fixture
async def csms() -> AsyncIterator[Csms]:
    async with Csms() as server:
        yield server


@pytest.fixture
async def links() -> AsyncIterator[list[OcppLink]]:
    """Links registered here are stopped after the test."""
    created: list[OcppLink] = []
    yield created
    for link in created:
        await link.stop()


@pytest.fixture
def new_link(links: list[OcppLink]) -> Callable[..., OcppLink]:
    def build(uri: str, **kwargs: Any) -> OcppLink:
        link_args = {k: kwargs.pop(k) for k in ("message_log", "clock", "rng") if k in kwargs}
        kwargs.setdefault("retry_backoff_wait_minimum", 0.05)
        kwargs.setdefault("retry_backoff_random_range", 0.0)
        link = OcppLink(LinkSettings(uri, "CP1", **kwargs), **link_args)
        links.append(link)
        return link

    return build


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))
