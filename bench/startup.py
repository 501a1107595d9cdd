"""Start-up of the SIL charger: manager started -> BootNotification received by the CSMS.

Run: .venv/bin/python bench/startup.py [--repeat 7] [--baseline REV]. Each run starts a private Mosquitto and the
local CSMS, writes the demo's run config (config/sil.yaml: the OCPP module and every simulated module) into a
fresh state folder, starts the manager and waits for the CSMS to receive BootNotification. The manager launches
the modules in parallel; the figure is the wall time from its process start to the CSMS's receipt, so it
includes every module's interpreter start and imports. The trees are byte-compiled first, as a charger ships
them (a process started with PYTHONDONTWRITEBYTECODE would otherwise compile every module from source at each
start). `--baseline REV` runs the manager and modules of git revision REV (exported with git archive, as
bench/scale.py does) in alternating turns and prints the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import export  # noqa: E402
from framework.broker import PrivateBroker  # noqa: E402
from sim.csms import LocalCsms  # noqa: E402

BOOT_TIMEOUT_S = 30.0


WRITE_CONFIGS = """
import sys
from pathlib import Path
from sim.demo.state_folder import StateFolder
state = StateFolder.at(Path(sys.argv[1]), None)
state.write_user_config(sys.argv[2])
print(state.write_run_config(sys.argv[3], int(sys.argv[4])))
"""


async def write_configs(tree: Path, folder: Path, csms_url: str, host: str, port: int) -> Path:
    """The demo's run and user configs as `tree` itself writes them (a baseline knows only its own options)."""
    writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITE_CONFIGS, str(folder), csms_url, host,
                                                  str(port), cwd=tree, stdout=asyncio.subprocess.PIPE)
    out, _ = await writer.communicate()
    return Path(out.decode().strip())


async def boot_seconds(tree: Path) -> float:
    """One cold start of the SIL config with the manager and modules of `tree`."""
    broker = PrivateBroker().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with LocalCsms() as csms:
                run_config = await write_configs(tree, Path(folder), csms.url, broker.host, broker.port)
                with (Path(folder) / "manager.log").open("ab") as log:
                    launched = time.time()
                    manager = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "framework.manager", "--config", str(run_config), cwd=tree,
                        stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
                try:
                    boot = await csms.wait_for_record(
                        lambda record: record.action == "BootNotification" and record.direction == "in",
                        BOOT_TIMEOUT_S)
                    return boot.time - launched
                finally:
                    if manager.returncode is None:
                        manager.send_signal(signal.SIGTERM)
                    await manager.wait()
    finally:
        broker.stop()


async def main() -> None:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="cold starts per tree (the median is shown)")
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare with, run in turns")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        baseline = export(options.baseline, Path(folder)) if options.baseline else None
        for tree in filter(None, (ROOT, baseline)):
            for package in ("framework", "module", "sim"):
                compileall.compile_dir(tree / package, quiet=1)
        runs: list[float] = []
        base_runs: list[float] = []
        for _ in range(options.repeat):
            if baseline is not None:
                base_runs.append(await boot_seconds(baseline))
            runs.append(await boot_seconds(ROOT))
        line = f"SIL config, manager start -> BootNotification: median {statistics.median(runs):.2f} s"
        line += f" (min {min(runs):.2f}, max {max(runs):.2f}, {len(runs)} runs)"
        if base_runs:
            base = statistics.median(base_runs)
            line += f"; baseline {options.baseline}: {base:.2f} s; ratio x{statistics.median(runs) / base:.2f}"
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
