"""One OCPP module with N EVSEs over a real Mosquitto: start-up, all N starting at once, metering at 1 Hz.

Run: .venv/bin/python bench/scale.py [--evses 2,16,64,128] [--duration 20] [--intervals 10,1] [--baseline REV]
[--profile FILE] [--validate-schema]. The real manager and OCPP module run as in tests/e2e (harness.py); the
e2e probe plays N EVSE managers, and the scenario is tests/e2e/fleet.py's. Per N and MeterValueSampleInterval it prints:

- boot: manager started -> BootNotification received by the CSMS;
- start p50 / p99: every EVSE publishes TransactionStarted in the same loop turn; each one's publish -> the CSMS
  receiving its StartTransaction;
- burst: the first TransactionStarted published -> the last StartTransaction received; csms: the part of it the
  CSMS (in this process) spent answering CALLs, which is not the module's; cp: the CPU time the OCPP module
  used in it (clock ticks of 10 ms), the module's own share;
- cpu: the OCPP module's process CPU time per wall second (% of one core) while every EVSE is in a transaction
  and publishes `powermeter` at 1 Hz, for `--duration` seconds; rss: its peak resident size (VmHWM);
- MeterValues received in that window vs N x duration / interval.

`--baseline REV` runs the same scenario, taking turns, with the manager and OCPP module of git revision REV (its
files exported into a temporary folder), and prints each figure's ratio to it. The probe and the CSMS run in
this process for both. Each figure is the median of `--repeat` runs (the turns alternate run by run), as one run
on a shared machine swings by 1.5x. `--profile FILE` dumps a cProfile of the OCPP module (the last run of this
tree) to FILE. `--validate-schema` turns on the framework setting that checks every var and command against its
interface schema (off by default, in EVerest too; the e2e tests turn it on).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from framework.broker import PrivateBroker  # noqa: E402
from sim.csms import LocalCsms  # noqa: E402
from tests.e2e import fleet  # noqa: E402
from tests.e2e.harness import ChargerUnderTest  # noqa: E402

OCPP_MODULE_ARGS = ["-m", "module"]  # how the manager runs the OCPP module
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROFILE_HOOK = '''"""Profiles the OCPP module of a bench/scale.py run (loaded by every module; only `ocpp` acts)."""
import os
if os.environ.get("EV_MODULE") == "ocpp":
    import atexit, cProfile
    _profile = cProfile.Profile()
    _profile.enable()
    atexit.register(lambda: (_profile.disable(), _profile.dump_stats(os.environ["SCALE_PROFILE"])))
'''


@dataclass(frozen=True)
class Figures:
    boot_s: float
    start_p50_ms: float
    start_p99_ms: float
    burst_ms: float
    csms_ms: float
    module_ms: float
    cpu_percent: float
    rss_mb: float
    meter_values: float
    expected: float


def median(runs: list[Figures]) -> Figures:
    """Each figure's median over the runs."""
    return Figures(*(statistics.median(getattr(run, f.name) for run in runs) for f in fields(Figures)))


def ocpp_module_pid(manager_pid: int) -> int:
    """The OCPP module among the manager's children."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, IndexError):
            continue
        if ppid == manager_pid and args[1:3] == OCPP_MODULE_ARGS:
            return int(entry.name)
    raise LookupError("the OCPP module is not running")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmHWM")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def run_once(repo: Path, evses: int, interval: int, duration: float, profile: Path | None,
                   validate_schema: bool) -> Figures:
    """One charger with `evses` EVSEs: boot, all start at once, `duration` s of metering, all stop."""
    broker = PrivateBroker().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with LocalCsms() as csms:
                charger = ChargerUnderTest(Path(folder), broker, csms, repo=repo, evse_count=evses,
                                           validate_schema=validate_schema,
                                           user_config={"Core": {"MeterValueSampleInterval": interval}})
                try:
                    return await _scenario(charger, interval, duration, _profile_env(Path(folder), profile))
                finally:
                    await charger.stop()
    finally:
        broker.stop()


def _profile_env(folder: Path, profile: Path | None) -> dict[str, str]:
    if profile is None:
        return {}
    (folder / "hook").mkdir()
    (folder / "hook" / "sitecustomize.py").write_text(PROFILE_HOOK)
    return {"PYTHONPATH": str(folder / "hook"), "SCALE_PROFILE": str(profile.resolve())}


async def _scenario(charger: ChargerUnderTest, interval: int, duration: float, env: dict[str, str]) -> Figures:
    observer = fleet.FleetObserver(charger.csms)
    launched = time.time()
    probe = await charger.start(env)
    await fleet.all_in(observer, range(charger.evse_count + 1), "Available")
    assert observer.boot_at is not None and charger.manager is not None
    answering = observer.answering_s
    pid = ocpp_module_pid(charger.manager.pid)
    cpu_before_burst = cpu_seconds(pid)
    published = await fleet.start_all(probe, observer, lambda n: f"TAG{n:03d}")
    burst_ms = (max(observer.start_at.values()) - min(published.values())) * 1e3
    csms_ms = (observer.answering_s - answering) * 1e3
    module_ms = (cpu_seconds(pid) - cpu_before_burst) * 1e3
    latencies = [(observer.start_at[c] - published[c]) * 1e3 for c in published]
    counted = sum(observer.meter_values.values())
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    next_tick = wall_before
    while next_tick < wall_before + duration:  # every EVSE's meter at 1 Hz, on the second
        for evse in probe.evses.values():
            await evse.meter(add_wh=2.0)
        next_tick += 1.0
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    figures = Figures(observer.boot_at - launched, statistics.median(latencies), percentile(latencies, 0.99),
                      burst_ms, csms_ms, module_ms, cpu * 100, peak_rss_mb(pid),
                      sum(observer.meter_values.values()) - counted, int(charger.evse_count * duration / interval))
    await fleet.stop_all(probe, observer)
    return figures


def export(revision: str, folder: Path) -> Path:
    """The files of `revision` in `folder` (git archive: no worktree, no checkout)."""
    archive = folder / "tree.tar"
    subprocess.run(["git", "archive", "--output", str(archive), revision], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return folder / "tree"


def row(name: str, figures: Figures, base: Figures | None) -> str:
    text = (f"{name:<10}{figures.boot_s:>7.2f}{figures.start_p50_ms:>9.0f}{figures.start_p99_ms:>9.0f}"
            f"{figures.burst_ms:>9.0f}{figures.csms_ms:>8.0f}{figures.module_ms:>8.0f}"
            f"{figures.cpu_percent:>8.1f}{figures.rss_mb:>8.1f}{figures.meter_values:>8.0f}/{figures.expected:<6.0f}")
    if base is not None:
        pairs = [(figures.boot_s, base.boot_s), (figures.start_p50_ms, base.start_p50_ms),
                 (figures.start_p99_ms, base.start_p99_ms), (figures.cpu_percent, base.cpu_percent),
                 (figures.rss_mb, base.rss_mb)]
        text += "  " + " ".join(f"x{value / baseline:.2f}" if baseline else "x-" for value, baseline in pairs)
    return text


async def main() -> None:
    logging.disable(logging.WARNING)  # the probe's and the CSMS's own logs would drown the table
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evses", default="2,16,64,128", help="EVSE counts, comma separated")
    parser.add_argument("--intervals", default="10,1", help="MeterValueSampleInterval values (s), comma separated")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of metering per run")
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare with, run in turns")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="cProfile output of the OCPP module")
    parser.add_argument("--validate-schema", action="store_true",
                        help="the framework's validate_schema setting on (the tests' setting; off by default)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        baseline = export(options.baseline, Path(folder)) if options.baseline else None
        print(f"{'':<10}{'boot s':>7}{'p50 ms':>9}{'p99 ms':>9}{'burst ms':>9}{'csms ms':>8}{'cp ms':>8}{'cpu %':>8}"
              f"{'rss MB':>8}  MeterValues" + ("   ratios to the baseline: boot, p50, p99, cpu, rss" if baseline
                                                  else ""))
        for interval in (int(i) for i in options.intervals.split(",")):
            print(f"MeterValueSampleInterval {interval} s, {options.duration:g} s of 1 Hz meters")
            for evses in (int(n) for n in options.evses.split(",")):
                base_runs, runs = [], []
                for turn in range(options.repeat):
                    if baseline is not None and turn % 2 == 0:
                        base_runs.append(await run_once(baseline, evses, interval, options.duration, None,
                                                        options.validate_schema))
                    runs.append(await run_once(ROOT, evses, interval, options.duration, options.profile,
                                             options.validate_schema))
                    if baseline is not None and turn % 2 == 1:
                        base_runs.append(await run_once(baseline, evses, interval, options.duration, None,
                                                        options.validate_schema))
                base = median(base_runs) if base_runs else None
                if base is not None:
                    print(row(f"N={evses} base", base, None))
                print(row(f"N={evses}", median(runs), base), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
