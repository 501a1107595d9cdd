"""`python -m sim.csms`: the local CSMS as a process, with an event stream and a control channel.

The first event line is {"kind": "LISTENING", "url": ..., "control_port": ...}; then one JSON line per
message or connection event. The control port is also written to <state-dir>/csms-control.port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import IO

from sim.csms.control import PORT_FILE, default_state_dir
from sim.csms.control_server import ControlServer
from sim.csms.records import Record
from sim.csms.server import LocalCsms
from sim.csms.tls import server_context


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.csms", description="Local OCPP 1.6J CSMS")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=None, help="where csms-control.port is written")
    parser.add_argument("--tls-dir", type=Path, default=None, help="serve wss with csms.pem / csms.key from here")
    parser.add_argument("--require-client-cert", action="store_true", help="security profile 3: needs ca.pem")
    parser.add_argument("--basic-auth-file", type=Path, default=None, help='JSON {"CP_ID": "password"}')
    parser.add_argument("--events", default="-", help="JSON lines of every message to this file (- = stdout)")
    parser.add_argument("--boot-status", default="Accepted", choices=["Accepted", "Pending", "Rejected"])
    parser.add_argument("--heartbeat-interval", type=int, default=300)
    return parser.parse_args(argv)


def _write_line(out: IO[str], event: dict) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


async def run(args: argparse.Namespace, out: IO[str]) -> None:
    ssl_context = server_context(args.tls_dir, args.require_client_cert) if args.tls_dir else None
    basic_auth = json.loads(args.basic_auth_file.read_text()) if args.basic_auth_file else None
    csms = LocalCsms(args.host, args.port, ssl_context=ssl_context, basic_auth=basic_auth)
    csms.boot_status = args.boot_status
    csms.heartbeat_interval = args.heartbeat_interval
    await csms.start()
    control = ControlServer(csms)
    control_port = await control.start()
    state_dir = args.state_dir or default_state_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    port_file = state_dir / PORT_FILE
    partial = port_file.with_suffix(".tmp")
    partial.write_text(f"{control_port}\n")
    partial.replace(port_file)  # readers never see a half-written file

    def on_record(record: Record) -> None:
        _write_line(out, record.to_event())

    csms.add_listener(on_record)
    _write_line(out, {"kind": "LISTENING", "url": csms.url, "control_port": control_port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        port_file.unlink(missing_ok=True)
        await control.stop()
        await csms.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        out = sys.stdout if args.events == "-" else stack.enter_context(open(args.events, "a"))
        asyncio.run(run(args, out))


if __name__ == "__main__":
    main()
