"""Shared fixtures: a real Mosquitto broker per test."""

from __future__ import annotations

import pytest

from framework.broker import PrivateBroker


@pytest.fixture
def broker():
    """A real mosquitto on a free loopback port, stopped after the test."""
    running = PrivateBroker().start()
    yield running
    running.stop()
