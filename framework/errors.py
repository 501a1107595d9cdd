"""Runtime exceptions; command errors are named like EVerest's `__everest__error_type` values."""

from __future__ import annotations


class FrameworkError(RuntimeError):
    """Base of every error the runtime raises."""


class SchemaViolation(ValueError):
    """A value does not match its interface schema; the message names what and where."""


class StartupError(FrameworkError):
    """The module config or the retained definitions could not be obtained or make no sense."""


class CommandError(FrameworkError):
    """A command call failed; `error_type` is the wire name of the failure."""

    error_type = "CommandError"

    def __init__(self, message: str = "", *, command: str = "", callee: str = "") -> None:
        self.message = message
        self.command = command
        self.callee = callee
        where = f"{callee} {command}: " if command else ""
        super().__init__(f"{self.error_type}: {where}{message}")


class MessageParsingError(CommandError):
    error_type = "MessageParsingError"


class SchemaValidationError(CommandError):
    error_type = "SchemaValidationError"


class HandlerException(CommandError):
    error_type = "HandlerException"


class CmdTimeout(CommandError):
    error_type = "CmdTimeout"


class Shutdown(CommandError):
    error_type = "Shutdown"


class NotReady(CommandError):
    error_type = "NotReady"


class BrokerDisconnected(CommandError):
    """Not an EVerest wire error: the broker link dropped while the call was in flight."""

    error_type = "BrokerDisconnected"


COMMAND_ERRORS: dict[str, type[CommandError]] = {
    cls.error_type: cls
    for cls in (MessageParsingError, SchemaValidationError, HandlerException, CmdTimeout, Shutdown, NotReady)
}


def command_error(error_type: str, message: str, *, command: str = "", callee: str = "") -> CommandError:
    """The typed exception for a wire error; unknown types keep their name in a plain CommandError."""
    cls = COMMAND_ERRORS.get(error_type)
    if cls is None:
        return CommandError(f"{error_type}: {message}", command=command, callee=callee)
    return cls(message, command=command, callee=callee)
