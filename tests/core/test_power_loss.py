"""Power cuts (kill -9) at random moments of a metered transaction: the PowerLoss StopTransaction after the restart
bills what the meter reported before the cut, within one second of charging."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from sim.csms.server import LocalCsms

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("metering_child.py")
POWER_W = 11_000
READING_PERIOD_S = 0.05  # a fast meter, so a cut can fall anywhere between two journal writes
WH_PER_SECOND = POWER_W / 3600
CUTS = 20


def start_child(folder: Path, url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(CHILD), str(folder), url, mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def cut_power(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


async def test_tc_032_cs_power_loss_meter_stop_within_one_second_of_charging(tmp_path: Path) -> None:
    shortfalls: list[float] = []
    rng = random.Random(32)
    async with LocalCsms(call_timeout=5) as csms:
        for cut in range(CUTS):
            folder = tmp_path / f"cut{cut}"
            folder.mkdir()
            child = start_child(folder, csms.url, "charge")
            try:
                assert child.stdout is not None and child.stdin is not None
                assert (await asyncio.to_thread(child.stdout.readline)).strip() == "started"
                energy = 1000.0
                for _ in range(rng.randint(4, 30)):
                    energy += WH_PER_SECOND * READING_PERIOD_S
                    child.stdin.write(f"{energy}\n")
                    child.stdin.flush()
                    await asyncio.sleep(READING_PERIOD_S)  # the meter's own pace, not a synchronisation
                await asyncio.sleep(rng.uniform(0, READING_PERIOD_S))
            finally:
                cut_power(child)
            mark = csms.mark()
            recovered = start_child(folder, csms.url, "recover")
            try:
                stop = await csms.wait_for("StopTransaction", after_index=mark, timeout=20)
            finally:
                cut_power(recovered)
            assert stop["reason"] == "PowerLoss"
            shortfall = energy - stop["meterStop"]
            assert -1 < shortfall < WH_PER_SECOND + 1, f"cut {cut}: meterStop {stop['meterStop']}, meter {energy}"
            shortfalls.append(shortfall)
    print(f"power loss: {CUTS} cuts, meterStop short of the last reading by at most {max(shortfalls):.2f} Wh "
          f"({max(shortfalls) / WH_PER_SECOND:.2f} s at {POWER_W / 1000:g} kW)")
