"""`python -m module`: the OCPP module as a framework process (the manager sets the EV_* environment)."""

import asyncio
import sys

from module.impl.ocpp_module import run

sys.exit(asyncio.run(run()))
