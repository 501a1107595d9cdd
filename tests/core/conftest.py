from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sim.csms.server import LocalCsms


@pytest.fixture
async def csms() -> AsyncIterator[LocalCsms]:
    async with LocalCsms(call_timeout=5) as server:
        yield server
