"""Entry point used by the manager: `python -m sim.System` with EVerest's EV_* environment."""

import asyncio
import sys

from sim.System.module import main

sys.exit(asyncio.run(main()))
