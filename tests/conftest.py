"""Shared fixtures: a real Mosquitto broker per test, real HTTP and FTP file servers."""

from __future__ import annotations

import pytest

from framework.broker import PrivateBroker
from sim.file_server import FtpFileServer, HttpFileServer


@pytest.fixture
def broker():
    """A real mosquitto on a free loopback port, stopped after the test."""
    running = PrivateBroker().start()
    yield running
    running.stop()


@pytest.fixture
def http_files(tmp_path):
    """A real HTTP file server on loopback serving (and receiving into) tmp_path/http."""
    server = HttpFileServer(tmp_path / "http").start()
    yield server
    server.stop()


@pytest.fixture
def ftp_files(tmp_path):
    """A real FTP server (pyftpdlib) on loopback over tmp_path/ftp."""
    server = FtpFileServer(tmp_path / "ftp").start()
    yield server
    server.stop()
