"""A display that prints: messages are kept by id until cleared."""

from __future__ import annotations

import itertools
import logging

from framework.module import Module

log = logging.getLogger(__name__)


class Display:
    def __init__(self) -> None:
        self.messages: dict[int, dict] = {}
        self._ids = itertools.count(1)

    def set_display_message(self, args: dict) -> dict:
        for message in args["request"]:
            message = dict(message)
            if "id" not in message:
                message["id"] = next(i for i in self._ids if i not in self.messages)
            self.messages[message["id"]] = message
            print(f"[display] #{message['id']}: {message['message']['content']}", flush=True)
        return {"status": "Accepted"}

    def get_display_messages(self, args: dict) -> dict:
        request = args["request"]
        found = [m for m in self.messages.values()
                 if ("id" not in request or m["id"] in request["id"])
                 and ("priority" not in request or m.get("priority") == request["priority"])
                 and ("state" not in request or m.get("state") == request["state"])]
        return {"messages": found}

    def clear_display_message(self, args: dict) -> dict:
        removed = self.messages.pop(args["request"]["id"], None)
        if removed is None:
            return {"status": "Unknown"}
        log.info("display message %s cleared", removed["id"])
        return {"status": "Accepted"}


async def main() -> None:
    mod = await Module.connect()
    display = Display()
    for cmd in ("set_display_message", "get_display_messages", "clear_display_message"):
        mod.implement("main", cmd, getattr(display, cmd))
    await mod.signal_ready()
    try:
        await mod.run_forever()
    finally:
        await mod.close()
