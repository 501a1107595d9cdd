"""One timer for every transaction's Sample.Periodic: each transaction keeps its phase, samples due together are
taken in one pass (one disk write), and MeterValueSampleInterval 0 pauses the sampling."""

from __future__ import annotations

import asyncio

from module.core.profiles.core.periodic_sampler import PeriodicSampler
from tests.manual_clock import ManualClock


class Recorder:
    """What the sampler asked for, pass by pass, with the clock's time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.passes: list[tuple[float, list[str]]] = []

    async def take(self, sessions: list[str]) -> None:
        self.passes.append((self.clock.monotonic() - 1000.0, sorted(sessions)))


async def run_until(clock: ManualClock, recorder: Recorder, at: float) -> None:
    """Advance the clock to `at` (seconds since the start), letting the sampler take what falls due."""
    while True:
        deadlines = await clock.sleeping()
        if deadlines[0] > 1000.0 + at:
            clock.advance(1000.0 + at - clock.monotonic())
            return
        clock.advance(deadlines[0] - clock.monotonic())  # the next sleeping() sees the pass done


async def test_transactions_started_together_are_sampled_in_one_pass_and_each_keeps_its_phase() -> None:
    clock = ManualClock()
    recorder = Recorder(clock)
    interval = 10
    sampler = PeriodicSampler(clock, lambda: interval, recorder.take)
    sampler.add("a")
    clock.advance(0.05)
    sampler.add("b")  # 50 ms later: joins a's pass
    clock.advance(0.45)
    sampler.add("c")  # 500 ms later: a pass of its own
    await run_until(clock, recorder, 25)
    await sampler.close()
    assert [(round(at, 2), sessions) for at, sessions in recorder.passes] == [
        (10.0, ["a", "b"]), (10.5, ["c"]), (20.0, ["a", "b"]), (20.5, ["c"])]


async def test_a_stopped_transaction_is_not_sampled_again() -> None:
    clock = ManualClock()
    recorder = Recorder(clock)
    sampler = PeriodicSampler(clock, lambda: 5, recorder.take)
    sampler.add("a")
    sampler.add("b")
    await run_until(clock, recorder, 6)
    sampler.remove("b")
    await run_until(clock, recorder, 12)
    await sampler.close()
    assert [sessions for _, sessions in recorder.passes] == [["a", "b"], ["a"]]


async def test_interval_zero_pauses_and_the_first_sample_after_comes_one_interval_later() -> None:
    clock = ManualClock()
    recorder = Recorder(clock)
    interval = 0
    sampler = PeriodicSampler(clock, lambda: interval, recorder.take)
    sampler.add("a")
    await run_until(clock, recorder, 30)
    assert recorder.passes == []
    interval = 15
    await run_until(clock, recorder, 60)
    await sampler.close()
    assert [(round(at), sessions) for at, sessions in recorder.passes] == [(46, ["a"])]  # 31 s (next look) + 15


async def test_a_failed_pass_does_not_end_the_sampling() -> None:
    clock = ManualClock()
    passes: list[float] = []
    taken = asyncio.Event()

    async def take(sessions: list[str]) -> None:
        passes.append(clock.monotonic() - 1000.0)
        taken.set()
        if len(passes) == 1:
            raise OSError("disk full")

    sampler = PeriodicSampler(clock, lambda: 10, take)
    sampler.add("a")
    for _ in range(2):
        await clock.sleeping()
        taken.clear()
        clock.advance(10)
        await taken.wait()
    await sampler.close()
    assert passes == [10, 20]
