"""Entry point used by the manager: `python -m sim.EnergySink` with EVerest's EV_* environment."""

import asyncio

from sim.EnergySink.module import main

asyncio.run(main())
