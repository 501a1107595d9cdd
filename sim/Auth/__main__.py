"""Entry point used by the manager: `python -m sim.Auth` with EVerest's EV_* environment."""

import asyncio

from sim.Auth.module import main

asyncio.run(main())
