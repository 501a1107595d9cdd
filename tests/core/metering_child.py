"""A charge point in its own process, so a test can cut its power (kill -9): `metering_child.py DIR URL MODE`.

MODE charge: plug in on connector 1, start a transaction for CARD1, print "started", then take every stdin line
as the meter's energy register in Wh (as the EVSE manager's powermeter var would report it). MODE recover: start
the charge point over the same database (what the power cut left) and keep it running.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from module.clock import monotonic_clock
from tests.core.station import build_charge_point


async def main(folder: Path, url: str, mode: str) -> None:
    charge_point, charger = build_charge_point(folder, url, monotonic_clock)
    await charge_point.start()
    if mode == "recover":
        await asyncio.Event().wait()
    await charge_point.queue.registration.wait_accepted()
    await charger.plug_in(1)
    await charger.start(1, "CARD1")
    print("started", flush=True)
    lines = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    while line := await lines.readline():
        charger.evses[1].energy_wh = float(line)
        charge_point.core.transactions.on_reading(1, charger.reading(1))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
