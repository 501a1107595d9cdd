"""`python -m sim.demo [--csms ws://host:port/path] [--ocpp 16|201] [--state-dir DIR] [--headless] [--duration S]`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from sim.csms.control import DEFAULT_STATE_DIR, STATE_DIR_ENV
from sim.demo.runner import Demo, Options
from sim.demo.state_folder import REPO


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=(
        "Simulated two-EVSE charger with the OCPP module: a scripted charging session on each connector, live."))
    parser.add_argument("--csms", default=None, metavar="URL",
                        help="another CSMS (ws://host:port/path; the charge point id cp001 is appended); "
                             "default: a local CSMS")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help=f"where the demo keeps its files (default ${STATE_DIR_ENV} or {DEFAULT_STATE_DIR}/ "
                             "in the repository)")
    parser.add_argument("--ocpp", choices=("16", "201"), default="16",
                        help="201: the OCPP201 module (boot and a full base report; no sessions yet) instead of OCPP")
    parser.add_argument("--headless", action="store_true", help="plain event lines even on a terminal")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    args = parser.parse_args(argv)
    if args.csms and not args.csms.startswith("ws://"):
        parser.error("--csms: the demo connects with security profile 0, so the URL must start with ws://")
    state_dir = args.state_dir or Path(os.environ.get(STATE_DIR_ENV) or REPO / DEFAULT_STATE_DIR)
    return Options(args.csms, state_dir, live=sys.stdout.isatty() and not args.headless, duration=args.duration,
                   ocpp_version="2.0.1" if args.ocpp == "201" else "1.6")


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(Demo(parse_args(argv), sys.stdout).run())


if __name__ == "__main__":
    sys.exit(main())
