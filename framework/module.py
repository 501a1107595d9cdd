"""The module runtime: an EVerest-wire-compatible module on asyncio (commands, vars, errors, ready handshake).

Everything user code registers runs on the asyncio loop. Callbacks of one subscription run in arrival order;
command handlers run as concurrent tasks, so a handler may itself call other modules.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paho.mqtt.client import topic_matches_sub

from framework import envelopes as env
from framework.envelopes import ErrorEvent, MsgType
from framework.errors import (
    BrokerDisconnected,
    CmdTimeout,
    CommandError,
    FrameworkError,
    HandlerException,
    SchemaValidationError,
    SchemaViolation,
    Shutdown,
    StartupError,
    command_error,
)
from framework.logs import setup_logging
from framework.mqtt import BrokerAddress, MqttClient
from framework.topics import Topics, external

if TYPE_CHECKING:
    from framework.schema_validation import InterfaceValidator

__all__ = ["ErrorEvent", "Module", "Requirement"]

log = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT = 300.0
Callback = Callable[..., Any]
RawHandler = Callable[[str, bytes], None]


class _Ordered:
    """Runs one subscription's callback in arrival order, sync or async; a raising callback is only logged."""

    def __init__(self, callback: Callback, label: str, tasks: set[asyncio.Task]) -> None:
        self._callback = callback
        self._label = label
        self._tasks = tasks
        self._backlog: deque[tuple] = deque()
        self._busy = False

    def __call__(self, *args: Any) -> None:
        if self._busy:
            self._backlog.append(args)
            return
        pending = self._invoke(args)
        if pending is not None:
            self._busy = True
            task = asyncio.ensure_future(self._drain(pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _invoke(self, args: tuple) -> Awaitable | None:
        try:
            result = self._callback(*args)
        except Exception:
            log.exception("callback for %s raised", self._label)
            return None
        return result if inspect.isawaitable(result) else None

    async def _drain(self, pending: Awaitable | None) -> None:
        try:
            while True:
                if pending is not None:
                    try:
                        await pending
                    except Exception:
                        log.exception("callback for %s raised", self._label)
                if not self._backlog:
                    return
                pending = self._invoke(self._backlog.popleft())
        finally:
            self._busy = False


@dataclass
class Requirement:
    """One connection of a requirement: the module/impl that fulfils it, and its evse/connector mapping."""

    module: Module = field(repr=False)
    requirement_id: str
    index: int
    module_id: str
    impl_id: str
    interface: str
    mapping: dict | None = None

    async def call(self, cmd: str, args: dict | None = None, timeout: float | None = None) -> Any:
        """Call a command of the fulfilling module and return its retval; failures raise CommandError."""
        return await self.module._call(self, cmd, args or {}, DEFAULT_CALL_TIMEOUT if timeout is None else timeout)

    def subscribe(self, var: str, callback: Callback) -> None:
        """`callback(value)` for every publication of `var`."""
        self.module._subscribe_var(self, var, callback)

    def subscribe_errors(self, on_raise: Callback, on_clear: Callback) -> None:
        """`on_raise(ErrorEvent)` / `on_clear(ErrorEvent)` for every error type of this requirement."""
        self.module._subscribe_errors(self.module.topics.impl_errors(self.module_id, self.impl_id),
                                      on_raise, on_clear, f"errors of {self.module_id}.{self.impl_id}")


@dataclass
class _PendingCall:
    future: asyncio.Future
    cmd: str
    callee: str


class _CallIds:
    """UUID-shaped call ids, unique per module: a random prefix drawn once and a counter in the last group.

    A fresh uuid4 per call costs a getrandom() system call and a UUID object on every round trip."""

    def __init__(self) -> None:
        self._prefix = str(uuid.uuid4())[:24]
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


class _Startup:
    """Collects the config response and the retained definitions; knows what is still missing."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.values: dict[str, Any] = {}
        self.changed = asyncio.Event()

    def store(self, topic: str, data: Any) -> None:
        self.values[topic] = data
        self.changed.set()

    def missing(self) -> list[str]:
        t, v = self.module.topics, self.values
        needed = [t.config_response(self.module.id), t.settings(), t.module_names(), t.interfaces(), t.types()]
        needed += [t.interface_definition(i) for i in v.get(t.interfaces()) or []]
        needed += [t.type_definition(f) for f in v.get(t.types()) or []]
        response = v.get(t.config_response(self.module.id))
        if response is not None:
            name = (response.get("module_config") or {}).get("module_name")
            if name:
                needed.append(t.manifest(name))
        return [topic for topic in needed if topic not in v]


class _IncomingCall:
    """One command call to answer. A sync handler is answered right here, without a task: fewer loop turns."""

    def __init__(self, module: Module, impl_id: str, cmd: str, call_id: str, origin: str) -> None:
        self.module, self.impl_id, self.cmd, self.call_id = module, impl_id, cmd, call_id
        self.topic = module.topics.cmd_response(module.id, impl_id, cmd, origin)
        self.validator = module._validators.get(module.provides[impl_id])

    def serve(self, args: Any) -> None:
        if args is None:  # what everestpy sends for a command without arguments; EVerest's framework accepts it
            args = {}
        if not isinstance(args, dict):
            return self.fail("MessageParsingError", f"{self.cmd}: args must be an object")
        if self.validator is not None:
            try:
                self.validator.check_args(self.cmd, args)
            except SchemaViolation as exc:
                return self.fail("SchemaValidationError", str(exc))
        try:
            retval = self.module._handlers[self.impl_id, self.cmd](args)
        except Exception as exc:
            return self.failed(exc)
        if inspect.isawaitable(retval):
            task = asyncio.ensure_future(self._finish_later(retval))
            self.module._tasks.add(task)
            task.add_done_callback(self.module._tasks.discard)
        else:
            self.finish(retval)

    async def _finish_later(self, pending: Awaitable) -> None:
        try:
            retval = await pending
        except Exception as exc:
            return self.failed(exc)
        self.finish(retval)

    def failed(self, exc: Exception) -> None:
        if isinstance(exc, CommandError):
            return self.fail(exc.error_type, exc.message or str(exc))
        log.error("handler of %s.%s raised", self.impl_id, self.cmd, exc_info=exc)
        self.fail(HandlerException.error_type, f"{type(exc).__name__}: {exc}")

    def finish(self, retval: Any) -> None:
        if self.validator is not None:
            try:
                self.validator.check_result(self.cmd, retval)
            except SchemaViolation as exc:
                return self.fail("SchemaValidationError", str(exc), retval=retval)
        self.module._publish(self.topic, env.cmd_result(self.call_id, self.module.id, retval))

    def fail(self, error_type: str, message: str, **retval: Any) -> None:
        self.module._publish(self.topic, env.cmd_error(self.call_id, self.module.id, error_type, message, **retval))


class Module:
    """A running module; create it with `await Module.connect()`."""

    def __init__(self, module_id: str, topics: Topics, external_prefix: str, address: BrokerAddress) -> None:
        self.id = module_id
        self.topics = topics
        self.external_prefix = external_prefix
        self.name = ""
        self.manifest: dict = {}
        self.settings: dict = {}
        self.config: dict[str, Any] = {}
        self.impl_config: dict[str, dict[str, Any]] = {}
        self.provides: dict[str, str] = {}
        self.interface_definitions: dict[str, dict] = {}
        self.module_names: dict[str, str] = {}
        self.mapping: dict | None = None
        self.mappings: dict[str, Any] = {}
        self.validate_schema = False
        self._requirements: dict[str, list[Requirement]] = {}
        self._validators: dict[str, InterfaceValidator] = {}
        self._mqtt = MqttClient(address, self._on_message, self._on_link)
        self._exact: dict[str, list[RawHandler]] = {}
        self._wildcards: list[tuple[str, RawHandler]] = []
        self._subacks: list[asyncio.Future] = []
        self._handlers: dict[tuple[str, str], Callback] = {}
        self._call_topics: dict[tuple[str, str, str], tuple[str, str]] = {}  # (module, impl, cmd) -> (cmd, response)
        self._new_call_id = _CallIds()
        self._pending: dict[str, _PendingCall] = {}
        self._active_errors: dict[tuple[str, str, str], ErrorEvent] = {}
        self._link_listeners: list[_Ordered] = []
        self._tasks: set[asyncio.Task] = set()
        self._on_ready: Callback | None = None
        self._global_ready_seen = False
        self._ready_fired = False
        self.global_ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False

    # ---------------------------------------------------------------- start-up
    @classmethod
    async def connect(cls, module_id: str | None = None, *, everest_prefix: str | None = None,
                      external_prefix: str | None = None, host: str | None = None, port: int | None = None,
                      socket_path: str | None = None, definitions_timeout: float = 5.0,
                      definitions_retries: int = 1, connect_timeout: float = 10.0) -> Module:
        """Connect as EVerest's manager tells us (EV_* environment), kwargs winning; fetch config and definitions."""
        environ = os.environ
        module_id = module_id or environ.get("EV_MODULE")
        if not module_id:
            raise StartupError("no module id: set EV_MODULE or pass module_id")
        setup_logging(module_id)
        socket_path = socket_path or (None if host or port else environ.get("EV_MQTT_BROKER_SOCKET_PATH"))
        address = BrokerAddress(
            host=host or environ.get("EV_MQTT_BROKER_HOST") or "localhost",
            port=int(port or environ.get("EV_MQTT_BROKER_PORT") or 1883),
            socket_path=socket_path or None,
        )
        topics = Topics.for_prefix(everest_prefix if everest_prefix is not None
                                   else environ.get("EV_MQTT_EVEREST_PREFIX"))
        ext = external_prefix if external_prefix is not None else environ.get("EV_MQTT_EXTERNAL_PREFIX", "")
        module = cls(module_id, topics, ext, address)
        try:
            await module._mqtt.connect(connect_timeout)
        except ConnectionError as exc:
            raise StartupError(f"module {module_id}: {exc}") from None
        try:
            await module._start(definitions_timeout, definitions_retries)
        except BaseException:
            await module._mqtt.close()
            raise
        return module

    async def _start(self, timeout: float, retries: int) -> None:
        t = self.topics
        startup = _Startup(self)
        patterns = [t.interfaces(), t.interface_definition("+"), t.types(), t.type_definition("+"), t.settings(),
                    t.module_names(), t.manifest("+"), t.config_response(self.id)]
        for pattern in patterns:
            self._route(pattern, self._envelope_handler({MsgType.GET_CONFIG_RESPONSE},
                                                        lambda topic, e: startup.store(topic, e.data)))
        self._route(t.global_ready(), self._envelope_handler({MsgType.GLOBAL_READY}, self._on_global_ready))
        for attempt in range(retries + 1):
            if t.config_response(self.id) not in startup.values:
                self._publish(t.config_request(), env.get_config_request(self.id))
            if await self._wait_complete(startup, timeout):
                break
            if attempt < retries:
                log.warning("module %s: still waiting for %s, asking again", self.id, ", ".join(startup.missing()))
                for pattern in patterns[:-1]:  # subscribing again brings the retained messages again
                    self._mqtt.unsubscribe(pattern)
                    self._subacks.append(self._mqtt.subscribe(pattern))
        else:
            raise StartupError(f"module {self.id}: no config from the manager within "
                               f"{timeout * (retries + 1):.0f} s; missing: {', '.join(startup.missing())}")
        for pattern in patterns:
            self._unroute(pattern)
        self._configure(startup.values)
        self._publish(t.metadata(self.id), env.metadata(self.name, self.provides))

    async def _wait_complete(self, startup: _Startup, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        asked_again = False
        while startup.missing():
            if not asked_again and startup.values and self.topics.config_response(self.id) not in startup.values:
                # a retained definition came: the manager is up and subscribed, so a request made before it was
                # (a standalone module started with the manager) is answered now instead of after the timeout
                self._publish(self.topics.config_request(), env.get_config_request(self.id))
                asked_again = True
            startup.changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(startup.changed.wait(), remaining)
            except TimeoutError:
                return False
        return True

    def _configure(self, values: dict[str, Any]) -> None:
        """Build the module config from the "Module" response and the retained definitions (spec 5.5)."""
        t = self.topics
        answer = values[t.config_response(self.id)]
        if not isinstance(answer, dict) or answer.get("status") != "Ok":
            raise StartupError(f"module {self.id}: the manager refused the config request: {answer}")
        data = (answer.get("response") or {}).get("data") or {}
        module_config = data.get("module_config") or {}
        self.name = module_config.get("module_name", "")
        self.manifest = values[t.manifest(self.name)]
        self.settings = values[t.settings()] or {}
        self.module_names = values[t.module_names()] or {}
        self.interface_definitions = {i: values[t.interface_definition(i)] for i in values[t.interfaces()] or []}
        self.mapping = module_config.get("mapping")
        self.mappings = data.get("mappings") or {}
        self.provides = {impl: spec["interface"] for impl, spec in (self.manifest.get("provides") or {}).items()}
        parameters = module_config.get("configuration_parameters") or {}
        self.config = {p["name"]: p.get("value") for p in parameters.get("!module") or []}
        for impl in self.provides:
            defaults = {name: spec.get("default") for name, spec in
                        ((self.manifest["provides"][impl].get("config")) or {}).items() if "default" in spec}
            overrides = {p["name"]: p.get("value") for p in parameters.get(impl) or []}
            self.impl_config[impl] = {**defaults, **overrides}
        requires = self.manifest.get("requires") or {}
        for req_id, fulfilments in (module_config.get("connections") or {}).items():
            ordered = sorted(fulfilments, key=lambda f: (f.get("requirement") or {}).get("index", 0))
            self._requirements[req_id] = [
                Requirement(self, req_id, index, f["module_id"], f["implementation_id"],
                            (requires.get(req_id) or {}).get("interface", ""),
                            _impl_mapping(self.mappings.get(f["module_id"]), f["implementation_id"]))
                for index, f in enumerate(ordered)
            ]
        self.validate_schema = bool(self.settings.get("validate_schema"))
        if self.validate_schema:
            # imported here: jsonschema costs every module process ~40 ms of start-up, and the check is off by default
            from framework.schema_validation import InterfaceValidator, type_registry

            types = type_registry({f: values[t.type_definition(f)] for f in values[t.types()] or []})
            self._validators = {name: InterfaceValidator(name, definition, types)
                                for name, definition in self.interface_definitions.items()}
            for validator in self._validators.values():
                validator.compile()

    # ---------------------------------------------------------------- routing
    def _route(self, pattern: str, handler: RawHandler, qos: int = 2) -> None:
        if "+" in pattern or "#" in pattern:
            self._wildcards.append((pattern, handler))
        else:
            self._exact.setdefault(pattern, []).append(handler)
        self._subacks.append(self._mqtt.subscribe(pattern, qos))

    def _unroute(self, pattern: str) -> None:
        self._exact.pop(pattern, None)
        self._wildcards = [(p, h) for p, h in self._wildcards if p != pattern]
        self._mqtt.unsubscribe(pattern)

    def _on_message(self, topic: str, payload: bytes, retain: bool) -> None:
        handlers = tuple(self._exact.get(topic, ()))  # a copy: a handler may route or unroute
        if self._wildcards:
            handlers += tuple(h for p, h in self._wildcards if topic_matches_sub(p, topic))
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:
                log.exception("handling a message on %s failed", topic)

    def _envelope_handler(self, accepted: set[MsgType],
                          handler: Callable[[str, env.Envelope], None]) -> RawHandler:
        """Decode, drop with a warning what is broken or unexpected, hand the rest to `handler`."""

        def decode(topic: str, payload: bytes) -> None:
            if not payload:
                return  # a cleared retained topic
            try:
                envelope = env.decode(payload)
            except env.EnvelopeError as exc:
                log.warning("dropped a message on %s: %s", topic, exc)
                return
            if envelope.msg_type not in accepted:
                log.warning("dropped a message on %s: unexpected msg_type %s", topic, envelope.msg_type)
                return
            handler(topic, envelope)

        return decode

    async def flush_subscriptions(self) -> None:
        """Wait until the broker acknowledged every subscription made so far."""
        pending, self._subacks = self._subacks, []
        await asyncio.gather(*pending)

    def _publish(self, topic: str, message: dict, qos: int = 2) -> None:
        self._mqtt.publish(topic, env.encode(message), qos=qos)

    # ---------------------------------------------------------------- requirements
    def requirements(self, requirement_id: str) -> list[Requirement]:
        """All connections of a requirement, in index order (empty when an optional one is unconnected)."""
        if requirement_id not in (self.manifest.get("requires") or {}):
            raise KeyError(f"module {self.id} ({self.name}) has no requirement {requirement_id!r}")
        return list(self._requirements.get(requirement_id, []))

    def requirement(self, requirement_id: str, index: int = 0) -> Requirement:
        connections = self.requirements(requirement_id)
        if not 0 <= index < len(connections):
            raise IndexError(f"module {self.id}: requirement {requirement_id!r} has no connection #{index} "
                             f"({len(connections)} connected)")
        return connections[index]

    async def _call(self, req: Requirement, cmd: str, args: dict, timeout: float) -> Any:
        callee = f"{req.module_id}.{req.impl_id}"
        if self._closing:
            raise Shutdown("the module is closing", command=cmd, callee=callee)
        if not self._mqtt.connected:
            raise BrokerDisconnected(f"no link to the MQTT broker {self._mqtt.address}", command=cmd,
                                     callee=callee)
        validator = self._validators.get(req.interface)
        if validator is not None:
            try:
                validator.check_args(cmd, args)
            except SchemaViolation as exc:
                raise SchemaValidationError(str(exc), command=cmd, callee=callee) from None
        topics = self._call_topics.get((req.module_id, req.impl_id, cmd))
        if topics is None:
            topics = self._call_topics_for(req.module_id, req.impl_id, cmd)
        call_id = self._new_call_id()
        loop = asyncio.get_running_loop()
        pending = _PendingCall(loop.create_future(), cmd, callee)
        self._pending[call_id] = pending
        expiry = loop.call_later(timeout, _expire, pending, timeout)  # cheaper than wait_for on the hot path
        try:
            self._publish(topics[0], env.cmd_call(call_id, args, self.id))
            result = await pending.future
        finally:
            expiry.cancel()
            self._pending.pop(call_id, None)
        error = result.get("error")
        if error is not None:
            raise command_error(str(error.get(env.ERROR_TYPE_KEY, "")), str(error.get(env.ERROR_MSG_KEY, "")),
                                command=cmd, callee=callee)
        retval = result.get("retval")
        if validator is not None:
            try:
                validator.check_result(cmd, retval)
            except SchemaViolation as exc:
                raise SchemaValidationError(str(exc), command=cmd, callee=callee) from None
        return retval

    def _call_topics_for(self, module_id: str, impl_id: str, cmd: str) -> tuple[str, str]:
        """The command topic and our response topic; the latter is subscribed before the first call, and kept."""
        response_topic = self.topics.cmd_response(module_id, impl_id, cmd, self.id)
        self._route(response_topic, self._envelope_handler({MsgType.CMD_RESULT}, self._on_cmd_result))
        topics = self._call_topics[module_id, impl_id, cmd] = (self.topics.cmd(module_id, impl_id, cmd), response_topic)
        return topics

    def _on_cmd_result(self, topic: str, envelope: env.Envelope) -> None:
        inner = (envelope.data or {}).get("data") if isinstance(envelope.data, dict) else None
        call_id = inner.get("id") if isinstance(inner, dict) else None
        pending = self._pending.get(call_id) if isinstance(call_id, str) else None
        if pending is None:
            log.debug("result on %s matches no call in flight", topic)
            return
        if not pending.future.done():
            pending.future.set_result(inner)

    def _subscribe_var(self, req: Requirement, var: str, callback: Callback) -> None:
        label = f"var {req.module_id}.{req.impl_id}/{var}"
        ordered = _Ordered(callback, label, self._tasks)
        validator = self._validators.get(req.interface)

        def on_var(topic: str, envelope: env.Envelope) -> None:
            if not isinstance(envelope.data, dict) or "data" not in envelope.data:
                log.warning("dropped a message on %s: a Var without data.data", topic)
                return
            value = envelope.data["data"]
            if validator is not None:
                try:
                    validator.check_var(var, value)
                except SchemaViolation as exc:
                    log.warning("dropped a message on %s: %s", topic, exc)
                    return
            ordered(value)

        self._route(self.topics.var(req.module_id, req.impl_id, var), self._envelope_handler({MsgType.VAR}, on_var))

    def _subscribe_errors(self, pattern: str, on_raise: Callback, on_clear: Callback, label: str) -> None:
        def dispatch(event: ErrorEvent) -> Any:
            return on_raise(event) if event.active else on_clear(event)

        ordered = _Ordered(dispatch, label, self._tasks)

        def on_error(topic: str, envelope: env.Envelope) -> None:
            try:
                event = ErrorEvent.from_wire(envelope.data)
            except (KeyError, TypeError, AttributeError):
                log.warning("dropped a message on %s: not an error object", topic)
                return
            if not event.active and event.state not in env.CLEARED_STATES:
                log.warning("dropped a message on %s: unknown error state %r", topic, event.state)
                return
            ordered(event)

        self._route(pattern, self._envelope_handler({MsgType.RAISE_ERROR, MsgType.CLEAR_ERROR}, on_error))

    def subscribe_global_errors(self, on_raise: Callback, on_clear: Callback) -> None:
        """Every error raised or cleared by any module (needs `enable_global_errors` in the manifest)."""
        if not self.manifest.get("enable_global_errors"):
            raise FrameworkError(f"module {self.id}: subscribe_global_errors needs enable_global_errors: true "
                                 f"in the manifest of {self.name}")
        self._subscribe_errors(self.topics.global_errors(), on_raise, on_clear, "global errors")

    # ---------------------------------------------------------------- provided implementations
    def _interface_of(self, impl_id: str) -> tuple[str, dict]:
        if impl_id not in self.provides:
            raise KeyError(f"module {self.id} ({self.name}) provides no implementation {impl_id!r}")
        interface = self.provides[impl_id]
        return interface, self.interface_definitions.get(interface) or {}

    def implement(self, impl_id: str, cmd: str, handler: Callback) -> None:
        """`handler(args) -> result` (sync or async) answers calls of `cmd` on `impl_id`."""
        interface, definition = self._interface_of(impl_id)
        if cmd not in (definition.get("cmds") or {}):
            raise KeyError(f"interface {interface} (impl {impl_id}) has no command {cmd!r}")
        first = (impl_id, cmd) not in self._handlers
        self._handlers[impl_id, cmd] = handler
        if first:
            self._route(self.topics.cmd(self.id, impl_id, cmd),
                        self._envelope_handler({MsgType.CMD}, lambda topic, e: self._on_cmd(impl_id, cmd, topic, e)))

    def _on_cmd(self, impl_id: str, cmd: str, topic: str, envelope: env.Envelope) -> None:
        data = envelope.data if isinstance(envelope.data, dict) else {}
        call_id, origin, args = data.get("id"), data.get("origin"), data.get("args")
        if not isinstance(call_id, str) or not isinstance(origin, str):
            log.warning("dropped a message on %s: a Cmd without id or origin", topic)
            return
        _IncomingCall(self, impl_id, cmd, call_id, origin).serve(args)

    async def publish(self, impl_id: str, var: str, value: Any) -> None:
        """Publish a var of a provided implementation to every subscriber."""
        interface, definition = self._interface_of(impl_id)
        if var not in (definition.get("vars") or {}):
            raise KeyError(f"interface {interface} (impl {impl_id}) has no var {var!r}")
        validator = self._validators.get(interface)
        if validator is not None:
            try:
                validator.check_var(var, value)
            except SchemaViolation as exc:
                raise SchemaValidationError(str(exc)) from None
        self._publish(self.topics.var(self.id, impl_id, var), env.var(value))

    # ---------------------------------------------------------------- errors
    def _declared_error(self, impl_id: str, error_type: str) -> dict:
        interface, definition = self._interface_of(impl_id)
        namespace, _, name = error_type.partition("/")
        declared = ((definition.get("errors") or {}).get(namespace) or {}).get(name)
        if declared is None:
            raise KeyError(f"interface {interface} (impl {impl_id}) declares no error {error_type!r}")
        return declared

    async def raise_error(self, impl_id: str, error_type: str, message: str = "", sub_type: str = "",
                          severity: str = "High", vendor_id: str = "everest") -> ErrorEvent:
        """Raise an error declared by the implementation's interface; raising it again re-sends it."""
        declared = self._declared_error(impl_id, error_type)
        event = ErrorEvent(type=error_type, sub_type=sub_type, message=message,
                           description=declared.get("description", ""), severity=severity,
                           origin_module=self.id, origin_impl=impl_id,
                           mapping=_impl_mapping(self.mapping, impl_id), vendor_id=vendor_id)
        self._active_errors[impl_id, error_type, sub_type] = event
        self._publish(self.topics.error(self.id, impl_id, error_type), env.raise_error(event))
        return event

    async def clear_error(self, impl_id: str, error_type: str, sub_type: str = "") -> ErrorEvent | None:
        """Clear an active error (same object, state ClearedByModule); None if it was not active."""
        self._declared_error(impl_id, error_type)
        event = self._active_errors.pop((impl_id, error_type, sub_type), None)
        if event is None:
            log.warning("clear_error: %s (%r) of %s is not active", error_type, sub_type, impl_id)
            return None
        event.state = "ClearedByModule"
        self._publish(self.topics.error(self.id, impl_id, error_type), env.clear_error(event))
        return event

    # ---------------------------------------------------------------- external MQTT
    def _require_external(self, what: str) -> None:
        if not self.manifest.get("enable_external_mqtt"):
            raise FrameworkError(f"module {self.id}: {what} needs enable_external_mqtt: true "
                                 f"in the manifest of {self.name}")

    def subscribe_external(self, topic: str, callback: Callback) -> None:
        """`callback(payload: str)` for raw messages on `{external prefix}{topic}` (wildcards allowed)."""
        self._require_external("subscribe_external")
        full = external(self.external_prefix, topic)
        ordered = _Ordered(callback, f"external {full}", self._tasks)
        self._route(full, lambda _topic, payload: ordered(payload.decode("utf-8", errors="replace")), qos=0)

    async def publish_external(self, topic: str, payload: str | bytes) -> None:
        self._require_external("publish_external")
        self._mqtt.publish(external(self.external_prefix, topic), payload, qos=0)

    # ---------------------------------------------------------------- link, ready, shutdown
    @property
    def connected(self) -> bool:
        return self._mqtt.connected

    @property
    def publish_backlog(self) -> int:
        """Messages this module published that still wait for room in the broker's in-flight window (or for the
        link to come back); they go out in order, none is dropped. Long only during a burst or an outage."""
        return self._mqtt.backlog

    def on_connection_change(self, callback: Callback) -> None:
        """`callback(connected: bool)` each time the broker link drops or comes back."""
        self._link_listeners.append(_Ordered(callback, "connection change", self._tasks))

    def _on_link(self, connected: bool) -> None:
        if not connected:
            self._fail_pending(lambda p: BrokerDisconnected(
                f"the link to the MQTT broker {self._mqtt.address} dropped", command=p.cmd, callee=p.callee))
        for listener in self._link_listeners:
            listener(connected)

    def _fail_pending(self, make_error: Callable[[_PendingCall], CommandError]) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(make_error(pending))

    def missing_handlers(self) -> list[str]:
        """Commands of provided interfaces without a handler, as "impl.cmd (interface)"."""
        return [f"{impl}.{cmd} ({interface})" for impl, interface in self.provides.items()
                for cmd in (self.interface_definitions.get(interface) or {}).get("cmds") or {}
                if (impl, cmd) not in self._handlers]

    async def signal_ready(self, on_ready: Callback | None = None) -> None:
        """Publish ModuleReady; `on_ready()` runs once when the manager publishes GlobalReady."""
        missing = self.missing_handlers()
        if missing:
            raise FrameworkError(f"module {self.id} ({self.name}) cannot signal ready: no handler for "
                                 f"command {', '.join(missing)}")
        self._on_ready = on_ready
        self._publish(self.topics.module_ready(self.id), env.module_ready(True))
        if self._global_ready_seen:
            self._fire_ready()

    def _on_global_ready(self, topic: str, envelope: env.Envelope) -> None:
        if envelope.data is not True:
            return
        self._global_ready_seen = True
        self._fire_ready()

    def _fire_ready(self) -> None:
        self.global_ready.set()
        if self._ready_fired or self._on_ready is None:
            return
        self._ready_fired = True
        _Ordered(self._on_ready, "ready callback", self._tasks)()

    async def run_forever(self) -> None:
        await self._closed.wait()

    async def close(self) -> None:
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._fail_pending(lambda p: Shutdown("the calling module is closing", command=p.cmd, callee=p.callee))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._mqtt.close()
        self._closed.set()


def _expire(pending: _PendingCall, timeout: float) -> None:
    if not pending.future.done():
        pending.future.set_exception(CmdTimeout(f"no result within {timeout:g} s", command=pending.cmd,
                                                callee=pending.callee))


def _impl_mapping(mapping: Any, impl_id: str) -> dict | None:
    """The evse/connector mapping of one implementation from a module's 3-tier mapping, if any."""
    if not isinstance(mapping, dict):
        return None
    if "evse" in mapping:
        return mapping
    return (mapping.get("implementations") or {}).get(impl_id) or mapping.get("module")
