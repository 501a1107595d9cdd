"""Entry point used by the manager: `python -m sim.EvseManager` with EVerest's EV_* environment."""

import asyncio

from sim.EvseManager.module import main

asyncio.run(main())
