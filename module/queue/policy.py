"""The transactional rules an OCPP version gives the queue: the queue stores, orders, retries and thins messages,
and asks its policy wherever a decision depends on what the messages mean.

1.6 links StartTransaction / MeterValues / StopTransaction by a CSMS-assigned id that must be put into queued
messages later; 2.0.1's TransactionEvent carries a charger-made id and a seqNo. Each version brings its own
policy, so one queue serves both.
"""

from __future__ import annotations

from typing import Any, Protocol

from module.queue.outbox import Outbox, OutboxMessage


class TransactionPolicy(Protocol):
    """Called inside the queue's database transactions: whatever a policy writes commits with the message."""

    transactional_actions: frozenset[str]
    """Actions that go through the durable, ordered lane."""

    @property
    def thinnable_action(self) -> str | None:
        """The action whose intermediate messages of a session may be dropped first when the queue is full."""
        ...
    def on_enqueue(self, action: str, payload: dict[str, Any], session_id: str) -> dict[str, Any] | None:
        """Link a message to its session (e.g. record the transaction, put the current id in); None refuses it."""
        ...

    def on_delivered(self, message: OutboxMessage, response: dict[str, Any], outbox: Outbox) -> bool:
        """Book a CALLRESULT; True when queued payloads were rewritten and the queue must read them again."""
        ...

    def durable_confirmation(self, action: str) -> bool:
        """Whether removing a delivered message must be fsynced (a repeat after power loss must not happen)."""
        ...

    def on_dropped(self, message: OutboxMessage, attempts: int, error: str) -> bool:
        """Book a message dropped after its last attempt; True when the rest of its session goes with it."""
        ...
