"""Entry point used by the manager: `python -m sim.DummyTokenProvider` with EVerest's EV_* environment."""

import asyncio

from sim.DummyTokenProvider.module import main

asyncio.run(main())
