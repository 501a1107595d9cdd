"""Errors of the configuration layer; their text is safe to log (secrets are masked before they get here)."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, rendered as ONE line naming file, section, key, value and the broken rule."""

    def __init__(self, file: str, section: str | None, key: str | None, value: str | None, rule: str) -> None:
        self.file = file
        self.section = section
        self.key = key
        self.value = value
        self.rule = rule
        super().__init__(str(self))

    def __str__(self) -> str:
        text = (
            f"{self.file}: section {self.section or '-'}, key {self.key or '-'}, "
            f"value {self.value if self.value is not None else '-'}: {self.rule}"
        )
        return " ".join(text.split())


class TooManyKeysError(Exception):
    """GetConfiguration listed more keys than GetConfigurationMaxKeys; the core answers with this CALLERROR code."""

    ocpp_error_code = "PropertyConstraintViolation"

    def __init__(self, requested: int, maximum: int) -> None:
        self.requested = requested
        self.maximum = maximum
        super().__init__(f"GetConfiguration asked for {requested} keys, GetConfigurationMaxKeys is {maximum}")
