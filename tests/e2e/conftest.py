"""Fixtures for end-to-end tests: the charger under test and its CSMS."""

from __future__ import annotations

import pytest

from sim.csms import LocalCsms
from tests.e2e.harness import ChargerUnderTest


@pytest.fixture
async def csms():
    async with LocalCsms() as server:
        yield server


@pytest.fixture
async def charger(tmp_path, broker, csms, request):
    """A charger wired to the CSMS; not started, so a test can adjust its configuration first."""
    under_test = ChargerUnderTest(tmp_path, broker, csms)
    yield under_test
    await under_test.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(under_test.log_text()[-6000:])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
