"""By hand (pytest does not collect it): the frames of test_link_fuzz_actions by the hundred thousand, each
followed by the two probes, so every answer is attributed to its frame. Counts instead of failing: frames owed an
answer that got none or one with another id, by shape; tracebacks by exception; log lines as a handler prints them.

    python -m tests.link.fuzz_long_run 100000 [--message-log] [--per-connection 100] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from module.link.message_log import MessageLog
from tests.link.test_link_fuzz_actions import PROBES, Frame, Outcome, collect_until, frames, serving_link

CALL_SHAPES = ("call", "binary")  # well-formed CALLs: [2, id, action, payload] as text or as UTF-8 bytes


@dataclass
class Totals:
    frames: Counter[str] = field(default_factory=Counter)  # by shape
    owed: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    wrong_id: Counter[str] = field(default_factory=Counter)
    tracebacks: Counter[str] = field(default_factory=Counter)
    log_lines: int = 0
    reconnects: int = 0

    def add(self, frame: Frame, outcome: Outcome) -> None:
        self.frames[frame.shape] += 1
        if frame.answer_id is not None:
            self.owed[frame.shape] += 1
            self.unanswered[frame.shape] += outcome.unanswered
            self.wrong_id[frame.shape] += outcome.missing - outcome.unanswered

    def add_connection(self, outcome: Outcome, formatter: logging.Formatter) -> None:
        self.reconnects += not outcome.stayed_connected
        for record in outcome.log_lines:
            self.log_lines += len(formatter.format(record).splitlines())
            if record.exc_info:
                self.tracebacks[record.exc_info[0].__name__] += 1
        for context in outcome.loop_errors:
            self.tracebacks[f"{type(context.get('exception')).__name__} in a task"] += 1

    def report(self, seconds: float) -> str:
        def share(counter: Counter[str], shapes: tuple[str, ...] | None = None) -> str:
            chosen = shapes or tuple(self.frames)
            part, whole = sum(counter[s] for s in chosen), sum(self.owed[s] for s in chosen)
            return f"{part} of {whole} ({100 * part / max(whole, 1):.2f} %)"

        lines = [f"{sum(self.frames.values())} frames in {seconds:.0f} s, by shape: {dict(self.frames)}",
                 f"well-formed CALLs without an answer: {share(self.unanswered, CALL_SHAPES)}",
                 f"frames owed an answer without one:   {share(self.unanswered)}",
                 f"answered with another id:            {share(self.wrong_id)}",
                 f"unanswered by shape: {dict(+self.unanswered)}, another id by shape: {dict(+self.wrong_id)}",
                 f"tracebacks: {dict(self.tracebacks)}",
                 f"log lines as printed: {self.log_lines}, reconnects: {self.reconnects}"]
        return "\n".join(lines)


async def one_by_one(sent: list[Frame], message_log: MessageLog | None, totals: Totals,
                     formatter: logging.Formatter) -> None:
    connection = Outcome()
    async with serving_link(message_log, connection) as peer:
        for frame in sent:
            outcome = Outcome(expected=Counter([frame.answer_id] if frame.answer_id is not None else []))
            await peer.ws.send(frame.data)
            for probe in PROBES:
                await collect_until(peer, probe, outcome)
            totals.add(frame, outcome)
    totals.add_connection(connection, formatter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", type=int)
    parser.add_argument("--message-log", action="store_true", help="with the JSON lines and HTML message log")
    parser.add_argument("--per-connection", type=int, default=100, help="frames per link and connection")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    totals, formatter = Totals(), logging.Formatter()
    logging.getLogger("module.link").propagate = False  # counted here, not printed

    @seed(args.seed)
    @settings(max_examples=args.frames // args.per_connection, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(frames(), min_size=args.per_connection, max_size=args.per_connection))
    def connection(sent: list[Frame]) -> None:
        if not args.message_log:
            asyncio.run(one_by_one(sent, None, totals, formatter))
            return
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(one_by_one(sent, MessageLog(folder), totals, formatter))

    started = time.monotonic()
    connection()
    print(totals.report(time.monotonic() - started))


if __name__ == "__main__":
    main()
