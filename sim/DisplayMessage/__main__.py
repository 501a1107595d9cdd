"""Entry point used by the manager: `python -m sim.DisplayMessage` with EVerest's EV_* environment."""

import asyncio

from sim.DisplayMessage.module import main

asyncio.run(main())
