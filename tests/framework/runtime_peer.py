"""A framework module run as its own process by the runtime tests (EV_MODULE, PYTHONPATH = repository).

It implements every command of the test `probe` interface; `relay` calls the `echo` of its optional requirement.
"""

from __future__ import annotations

import asyncio

from framework.module import Module

counter = 0


async def main() -> None:
    mod = await Module.connect()

    async def sleep(args: dict) -> None:
        await asyncio.sleep(args["seconds"])

    def fail(args: dict) -> None:
        raise RuntimeError("boom")

    async def emit(args: dict) -> None:
        global counter
        kind = args["kind"]
        if kind == "var":
            counter += 1
            await mod.publish("main", "counter", counter)
        elif kind == "event":
            await mod.publish("main", "event", {"name": "tick", "level": 1})
        elif kind == "raise":
            await mod.raise_error("main", "probe/Broken", message="it broke", sub_type="left")
        else:
            await mod.clear_error("main", "probe/Broken", sub_type="left")

    async def relay(args: dict) -> str:
        return await mod.requirement("target", 0).call("echo", {"value": args["value"]}, timeout=10)

    mod.implement("main", "echo", lambda args: args["value"])
    mod.implement("main", "add", lambda args: args["a"] + args["b"])
    mod.implement("main", "fail", fail)
    mod.implement("main", "sleep", sleep)
    mod.implement("main", "emit", emit)
    mod.implement("main", "relay", relay)
    await mod.signal_ready()
    await mod.run_forever()


if __name__ == "__main__":
    asyncio.run(main())
