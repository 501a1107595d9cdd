"""Entry point used by the manager: `python -m sim.System` with EVerest's EV_* environment."""

import asyncio

from sim.System.module import main

asyncio.run(main())
