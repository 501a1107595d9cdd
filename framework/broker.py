"""A private Mosquitto broker: the manager's embedded default and the test suite's real broker."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class BrokerError(RuntimeError):
    """Mosquitto could not be found or did not start."""


def find_mosquitto() -> str:
    """Path of the mosquitto binary; Debian installs it in /usr/sbin, which is not always on PATH."""
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise BrokerError("mosquitto is not installed: run 'make setup' or 'sudo apt-get install mosquitto'")
    return found


def _terminate_with_parent() -> None:
    """Ask Linux to send SIGTERM to this child when the process that started it dies (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PrivateBroker:
    """A mosquitto process on a free loopback port (or a unix socket), stopped with `stop()`."""

    port: int = 0
    socket_path: str | None = None
    host: str = "127.0.0.1"
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _workdir: str | None = field(default=None, repr=False)

    def start(self, timeout: float = 10.0) -> PrivateBroker:
        binary = find_mosquitto()
        self._workdir = tempfile.mkdtemp(prefix="mosquitto-")
        if not self.port and not self.socket_path:
            self.port = free_tcp_port()
        # Mosquitto's default in-flight window (20), as a stock broker has it: clients must respect it. The queue
        # behind it (messages the broker holds for a client that reads slower than others publish) is raised
        # from 1,000 so that a burst of thousands of QoS 1/2 messages reaches a slow subscriber complete.
        lines = ["allow_anonymous true", "persistence false", "set_tcp_nodelay true",
                 "max_queued_messages 100000", "max_inflight_messages 20"]
        if self.port:
            lines += [f"listener {self.port} {self.host}"]
        if self.socket_path:
            lines += [f"listener 0 {self.socket_path}"]
        conf = Path(self._workdir) / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        # Its own process group keeps a terminal's Ctrl-C (meant for the manager) from stopping the broker before
        # the modules have shut down; the parent-death signal still ends it when its owner is killed outright.
        with open(Path(self._workdir) / "mosquitto.log", "wb") as log:  # the child keeps its own descriptor
            self._process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                             process_group=0, preexec_fn=_terminate_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self.log_text().strip()[-400:]
                self.stop()  # removes the work folder
                raise BrokerError(f"mosquitto exited at start: {output}")
            if self._accepts():
                return self
            time.sleep(0.02)
        self.stop()
        raise BrokerError(f"mosquitto did not accept connections within {timeout:.0f} s")

    def _accepts(self) -> bool:
        try:
            if self.port:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            if self.socket_path:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
                    unix.settimeout(0.2)
                    unix.connect(self.socket_path)
            return True
        except OSError:
            return False

    def log_text(self) -> str:
        if not self._workdir:
            return ""
        path = Path(self._workdir) / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """Stop the broker abruptly, as a crash would (used to test reconnects)."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def restart(self) -> None:
        """Start again on the same port or socket after `kill()`."""
        self.kill()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self.start()
