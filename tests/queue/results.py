"""A result callback for `on_transactional_result` that tests can await."""

from __future__ import annotations

import asyncio
from typing import Any


class Results:
    """Collects (session_id, request, response) and wakes waiters when enough arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, dict[str, Any], dict[str, Any] | None]] = []
        self._changed = asyncio.Event()

    def __call__(self, session_id: str | None, request: dict[str, Any], response: dict[str, Any] | None) -> None:
        self.items.append((session_id, request, response))
        self._changed.set()

    async def wait(self, count: int) -> None:
        while len(self.items) < count:
            self._changed.clear()
            await self._changed.wait()

    def responses(self) -> list[dict[str, Any] | None]:
        return [response for _, _, response in self.items]
