"""Entry point used by the manager: `python -m sim.ChargerInformation` with EVerest's EV_* environment."""

import asyncio

from sim.ChargerInformation.module import main

asyncio.run(main())
