"""The outbound scheduler above `OcppLink.call`: a durable, ordered transactional lane and a normal lane.

Transactional messages are durable on disk before their first attempt, go out in strict order, and leave the disk
only after a CALLRESULT or after their last attempt. They are stored without fsync (group commit): the lane makes
every message stored so far durable with one fsync before it sends the first of them, so a burst of N messages
(128 EVSEs starting at once) costs one fsync instead of N. Their results reach callbacks registered per action,
because a future would die with the process while the message survives it. Which actions are transactional and how a
session's messages are linked is the OCPP version's `TransactionPolicy`; the queue names no action itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from module.clock import Clock, monotonic_clock
from module.link.errors import CallErrorReceived, CallTimeout, InvalidPayload, LinkDown
from module.queue.database import Database
from module.queue.outbox import Lane, Outbox, OutboxMessage
from module.queue.policy import TransactionPolicy
from module.queue.registration import AcceptedCallback, BootPayload, Registration

log = logging.getLogger(__name__)

ResultCallback = Callable[[str | None, dict[str, Any], dict[str, Any] | None], Awaitable[None] | None]

_WINDOW = 64
BOOKKEEPING_RETRY_S = 1.0  # first wait after a failed database write of the lane's bookkeeping (then doubled)
BOOKKEEPING_RETRY_MAX_S = 30.0


@dataclass(frozen=True)
class Transactional:
    """A message for the transactional lane, and any write of the caller's that must commit with it."""

    action: str
    payload: dict[str, Any]
    session_id: str | None = None
    with_message: Callable[[], None] | None = None
    """Runs inside the disk write that stores the message (e.g. the meter reading a PowerLoss stop reports)."""


class Offline(Exception):
    """The CALL was not sent: the link is down or the charge point is not registered (and it was not queued)."""


class QueueLink(Protocol):
    """What the queue needs of `OcppLink`."""

    @property
    def connected(self) -> bool: ...

    async def wait_connected(self) -> None: ...

    async def call(self, action: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]: ...

    def add_connection_listener(self, listener: Callable[[bool], None]) -> None: ...

    def set_incoming_gate(self, gate: Callable[[str], bool]) -> None: ...

    def make_valid(self, action: str, payload: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class QueueSettings:
    """The configuration keys the queue follows (names as in libocpp's config, in snake case)."""

    transaction_message_attempts: int = 3
    transaction_message_retry_interval: float = 60.0
    queue_all_messages: bool = False
    discard_for_queueing: frozenset[str] = frozenset()
    """MessageTypesDiscardForQueueing: actions never queued, even with QueueAllMessages (sent now or Offline)."""
    message_queue_size_threshold: int = 200_000
    message_queue_resume_delay: float = 0.0
    message_timeout: float = 30.0
    boot_retry_interval: float = 60.0


class MessageQueue:
    """Sends every CALL of the charge point; see the module docstring for the guarantees."""

    def __init__(
        self,
        db: Database,
        link: QueueLink,
        settings: QueueSettings,
        policy: TransactionPolicy,
        *,
        boot_payload: BootPayload,
        on_boot_accepted: AcceptedCallback,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._link = link
        self.settings = settings
        self.policy = policy
        self._transactional = policy.transactional_actions
        self._clock: Clock = clock or monotonic_clock
        self._outbox = Outbox(db)
        self.registration = Registration(
            link, boot_payload, on_boot_accepted, self._clock,
            call_timeout=settings.message_timeout, retry_interval=settings.boot_retry_interval,
        )
        self._callbacks: dict[str, list[ResultCallback]] = {}
        self._count = self._outbox.count()
        self._stored_through = db.last_commit  # the commit of the latest transactional message stored
        self._window: deque[OutboxMessage] = deque()
        self._window_covers_tail = False
        self._retry_due: dict[int, float] = {}
        self._in_flight: int | None = None
        self._waiters: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._sendable = asyncio.Event()
        self._resumed_once = False
        self._connection_changes = 0
        self._connection_changed = asyncio.Event()
        self._tx_added = asyncio.Event()
        self._normal_added = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._resume_task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._link.add_connection_listener(self._on_connection)
        self._tasks = [
            asyncio.create_task(self.registration.run(), name="boot"),
            asyncio.create_task(self._drain_transactions(), name="transaction-lane"),
            asyncio.create_task(self._drain_normal(), name="normal-lane"),
        ]
        if self._link.connected:
            self._on_connection(True)
        log.info("message queue started with %d queued messages", self._count)

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._resume_task] if self._resume_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(Offline("message queue stopped"))

    def update_settings(self, **changes: Any) -> None:
        """Apply changed configuration keys (e.g. after ChangeConfiguration); unknown names raise TypeError."""
        known = {field.name for field in fields(QueueSettings)}
        for name, value in changes.items():
            if name not in known:
                raise TypeError(f"unknown queue setting {name!r}")
            setattr(self.settings, name, value)
        self.registration.call_timeout = self.settings.message_timeout
        self.registration.retry_interval = self.settings.boot_retry_interval

    # -- public API -----------------------------------------------------------------------------------

    def on_transactional_result(self, action: str, callback: ResultCallback) -> None:
        """callback(session_id, request, response or None) after the CALLRESULT or the final drop."""
        self._callbacks.setdefault(action, []).append(callback)

    def queued(self) -> int:
        """Messages on disk, both lanes."""
        return self._count

    async def enqueue_transactional(
        self, action: str, payload: dict[str, Any], session_id: str | None = None
    ) -> int | None:
        """Store the message (raises DatabaseFull if it cannot be), durable before it is sent (see the module
        docstring); returns its queue position.

        With a session the policy links the message to it in the same disk write, and may refuse it (None).
        """
        return (await self.enqueue_transactional_many([Transactional(action, payload, session_id)]))[0]

    async def enqueue_transactional_many(self, messages: Sequence[Transactional]) -> list[int | None]:
        """Store several messages in order in one disk write (all or none; raises DatabaseFull if they cannot be
        stored): the samples of many transactions taken together cost one commit instead of one each. Returns
        each message's queue position, None where the policy refused it."""
        for message in messages:
            if message.action not in self._transactional:
                raise ValueError(f"{message.action} is not a transactional action")
        positions: list[int | None] = []
        added: list[OutboxMessage] = []
        victims: list[OutboxMessage] = []
        with self._db.transaction(durable=False):
            for message in messages:
                payload = self._valid(message.action, message.payload)
                if message.session_id is not None:
                    linked = self.policy.on_enqueue(message.action, payload, message.session_id)
                    if linked is None:
                        positions.append(None)
                        continue
                    payload = linked
                if message.with_message is not None:
                    message.with_message()
                seq = self._outbox.add(Lane.TRANSACTION, message.action, payload, message.session_id)
                positions.append(seq)
                added.append(OutboxMessage(seq, Lane.TRANSACTION, message.action, payload, message.session_id, 0, 0.0))
                victims += self._shrink(self._count + len(added) - len(victims))
        self._stored_through = self._db.last_commit
        self._count += len(added) - len(victims)
        self._after_shrink(victims)
        for item in added:
            if self._window_covers_tail and len(self._window) < _WINDOW:
                self._window.append(item)
            else:
                self._window_covers_tail = False
        if added:
            self._tx_added.set()
        return positions

    async def send(self, action: str, payload: dict[str, Any], timeout: float | None = None, *,
                   triggered: bool = False) -> dict[str, Any]:
        """Normal lane: send now and return the response; Offline if it cannot go out (unless QueueAllMessages).

        `triggered` marks a message the CSMS asked for (TriggerMessage): it may go out while the boot is Pending,
        also when its action is transactional (an answer to a request, not part of the durable history).
        """
        if action in self._transactional and not triggered:
            raise ValueError(f"{action} is transactional: use enqueue_transactional")
        timeout = self.settings.message_timeout if timeout is None else timeout
        queued = self.settings.queue_all_messages and action not in self.settings.discard_for_queueing
        if self._link.connected and self.registration.may_send(triggered):
            try:
                return await self._link.call(action, payload, timeout)
            except LinkDown:
                if not queued:
                    raise Offline(f"{action} not sent: the link went down") from None
        elif not queued:
            state = "not registered" if self._link.connected else "offline"
            raise Offline(f"{action} not sent: {state}")
        return await self._queue_normal(action, self._link.make_valid(action, payload))

    # -- transactional lane ---------------------------------------------------------------------------

    def _valid(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Fix what can be fixed before storing; a transaction message is never refused for its shape."""
        try:
            return self._link.make_valid(action, payload)
        except Exception:
            log.exception("%s payload could not be made valid; queued as given", action)
            return payload

    async def _drain_transactions(self) -> None:
        while True:
            await self._sendable.wait()
            message = self._next_transactional()
            if message is None:
                self._tx_added.clear()
                await self._tx_added.wait()
                continue
            due = self._retry_due.get(message.seq)
            if due is None and message.attempts:
                # restarted after a failure: the monotonic deadline is gone, wait the whole interval again
                due = self._retry_due[message.seq] = self._clock.monotonic() + message.retry_delay
            if due is not None and due > self._clock.monotonic():
                await self._clock.sleep(due - self._clock.monotonic())
                continue
            # this message and every one stored before it: durable before it goes out, with one fsync for them all
            await self._book(message, self._sync)
            changes = self._connection_changes
            self._in_flight = message.seq
            try:
                response = await self._link.call(message.action, message.payload, self.settings.message_timeout)
            except LinkDown:
                await self._connection_change_after(changes)
                continue
            except (CallErrorReceived, CallTimeout, InvalidPayload) as exc:
                outcome = self._failed(message, exc)
            except Exception as exc:  # a fault below must cost an attempt, not the lane (and every later message)
                log.exception("%s (queue #%d) failed unexpectedly", message.action, message.seq)
                outcome = self._failed(message, exc)
            else:
                outcome = self._delivered(message, response)
            finally:
                self._in_flight = None
            await self._book(message, outcome)

    async def _book(self, message: OutboxMessage, bookkeeping: Callable[[], Awaitable[None]]) -> None:
        """Run the disk bookkeeping of an outcome until it succeeds: a database error (disk full, I/O) is
        logged and retried with back-off instead of ending the lane and every message behind it."""
        delay = BOOKKEEPING_RETRY_S
        while True:
            try:
                await bookkeeping()
                return
            except Exception:
                log.exception("bookkeeping of %s (queue #%d) failed; retrying in %s s", message.action,
                              message.seq, delay)
                self._forget_window()
            await self._clock.sleep(delay)
            delay = min(delay * 2, BOOKKEEPING_RETRY_MAX_S)

    async def _sync(self) -> None:
        self._db.sync(self._stored_through)

    def _next_transactional(self) -> OutboxMessage | None:
        if not self._window:
            self._window.extend(self._outbox.head(Lane.TRANSACTION, _WINDOW))
            self._window_covers_tail = len(self._window) < _WINDOW
        return self._window[0] if self._window else None

    def _forget_window(self) -> None:
        self._window.clear()
        self._window_covers_tail = False

    def _delivered(self, message: OutboxMessage, response: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        async def book() -> None:
            with self._db.transaction(durable=self.policy.durable_confirmation(message.action)):
                rewritten = self.policy.on_delivered(message, response, self._outbox)
                self._outbox.remove(message.seq)
            self._count -= 1
            self._retry_due.pop(message.seq, None)
            if rewritten:
                self._forget_window()
            elif self._window and self._window[0].seq == message.seq:
                self._window.popleft()
            await self._notify(message, response)
        return book

    def _failed(self, message: OutboxMessage, exc: Exception) -> Callable[[], Awaitable[None]]:
        async def book() -> None:
            attempts = message.attempts + 1
            if attempts >= self.settings.transaction_message_attempts:
                await self._drop_after_attempts(message, attempts, exc)
                return
            delay = self.settings.transaction_message_retry_interval * attempts
            self._outbox.record_failure(message.seq, attempts, delay, f"{type(exc).__name__}: {exc}")
            message.attempts, message.retry_delay = attempts, delay
            self._retry_due[message.seq] = self._clock.monotonic() + delay
            log.warning("%s (queue #%d) attempt %d failed (%s): next attempt in %s s",
                        message.action, message.seq, attempts, exc, delay)
        return book

    async def _drop_after_attempts(self, message: OutboxMessage, attempts: int, exc: Exception) -> None:
        dropped = [message]
        with self._db.transaction():
            if self.policy.on_dropped(message, attempts, str(exc)) and message.session_id is not None:
                dropped = self._outbox.session_messages(message.session_id)
            self._outbox.remove_many([item.seq for item in dropped])
        self._count -= len(dropped)
        for item in dropped:
            self._retry_due.pop(item.seq, None)
            log.error("DROPPED %s (queue #%d, session %s) after %d failed attempts of %s: %s",
                      item.action, item.seq, item.session_id, attempts, message.action, exc)
        self._forget_window()
        for item in dropped:
            await self._notify(item, None)

    async def _notify(self, message: OutboxMessage, response: dict[str, Any] | None) -> None:
        for callback in self._callbacks.get(message.action, []):
            try:
                result = callback(message.session_id, message.payload, response)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("result callback for %s failed", message.action)

    # -- size bound -----------------------------------------------------------------------------------

    def _shrink(self, count: int) -> list[OutboxMessage]:
        """Past the threshold drop normal messages first, then the policy's intermediate thinnable messages."""
        excess = count - self.settings.message_queue_size_threshold
        if excess <= 0:
            return []
        victims = self._outbox.oldest_normal(excess, self._in_flight)
        thinnable = self.policy.thinnable_action
        if len(victims) < excess and thinnable is not None:
            victims += self._outbox.intermediate(thinnable, excess - len(victims), self._in_flight)
        if not victims:
            log.warning("queue above MessageQueueSizeThreshold (%d) with nothing it may drop",
                        self.settings.message_queue_size_threshold)
        self._outbox.remove_many([victim.seq for victim in victims])
        return victims

    def _after_shrink(self, victims: list[OutboxMessage]) -> None:
        for victim in victims:
            log.warning("queue full: dropped %s (queue #%d, session %s)",
                        victim.action, victim.seq, victim.session_id)
            waiter = self._waiters.pop(victim.seq, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(Offline(f"{victim.action} dropped: message queue full"))
        if any(victim.lane is Lane.TRANSACTION for victim in victims):
            self._forget_window()

    # -- normal lane ----------------------------------------------------------------------------------

    async def _queue_normal(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        seq: int | None = None
        try:
            with self._db.transaction():
                seq = self._outbox.add(Lane.NORMAL, action, payload, None)
                self._waiters[seq] = future
                victims = self._shrink(self._count + 1)
        except BaseException:
            if seq is not None:
                self._waiters.pop(seq, None)
            raise
        self._count += 1 - len(victims)
        self._after_shrink(victims)
        self._normal_added.set()
        try:
            return await future
        finally:
            self._waiters.pop(seq, None)

    async def _drain_normal(self) -> None:
        while True:
            await self._sendable.wait()
            batch = self._outbox.head(Lane.NORMAL, 1)
            if not batch:
                self._normal_added.clear()
                await self._normal_added.wait()
                continue
            message = batch[0]
            waiter = self._waiters.get(message.seq)
            changes = self._connection_changes
            try:
                response = await self._link.call(message.action, message.payload, self.settings.message_timeout)
            except LinkDown:
                await self._connection_change_after(changes)
                continue
            except Exception as exc:
                self._finish_normal(message)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(exc)
                elif waiter is None:
                    log.warning("queued %s from an earlier run failed: %s", message.action, exc)
                continue
            self._finish_normal(message)
            if waiter is not None and not waiter.done():
                waiter.set_result(response)

    def _finish_normal(self, message: OutboxMessage) -> None:
        self._outbox.remove(message.seq)
        self._count -= 1

    # -- connection and resume ------------------------------------------------------------------------

    def _on_connection(self, connected: bool) -> None:
        self._connection_changes += 1
        self._connection_changed.set()
        self._connection_changed = asyncio.Event()
        self._sendable.clear()
        if self._resume_task is not None:
            self._resume_task.cancel()
            self._resume_task = None
        if connected:
            self._resume_task = asyncio.create_task(self._resume(), name="queue-resume")

    async def _resume(self) -> None:
        """After boot acceptance (first connect) or MessageQueueResumeDelay (reconnects), let the lanes go."""
        await self.registration.wait_accepted()
        if self._resumed_once and self.settings.message_queue_resume_delay > 0:
            await self._clock.sleep(self.settings.message_queue_resume_delay)
        self._resumed_once = True
        self._sendable.set()

    async def _connection_change_after(self, changes: int) -> None:
        """Wait until the connection state changed since `changes` was read (it may already have)."""
        if self._connection_changes == changes:
            await self._connection_changed.wait()
