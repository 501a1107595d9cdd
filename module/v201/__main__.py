"""`python -m module.v201`: the OCPP201 module as a framework process (the manager sets the EV_* environment)."""

import asyncio
import sys

from module.v201.impl.ocpp201_module import run

sys.exit(asyncio.run(run()))
