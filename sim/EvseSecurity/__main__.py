"""Entry point used by the manager: `python -m sim.EvseSecurity` with EVerest's EV_* environment."""

import asyncio

from sim.EvseSecurity.module import main

asyncio.run(main())
