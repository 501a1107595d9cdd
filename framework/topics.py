"""Every MQTT topic of the EVerest v0.25 wire protocol, built in one place so modules and manager agree."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "everest/"


def normalize_prefix(prefix: str | None) -> str:
    """EVerest stores the prefix with a trailing '/' and concatenates topics onto it."""
    if prefix is None or prefix == "":
        return DEFAULT_PREFIX
    return prefix if prefix.endswith("/") else prefix + "/"


@dataclass(frozen=True)
class Topics:
    """Topic builders for one everest prefix (`{P}`); `M` is a module's prefix, `I` an implementation's."""

    prefix: str = DEFAULT_PREFIX

    @classmethod
    def for_prefix(cls, prefix: str | None) -> Topics:
        return cls(normalize_prefix(prefix))

    def is_framework(self, topic: str) -> bool:
        """Framework topics carry JSON envelopes; everything else is raw external MQTT."""
        return topic.startswith(self.prefix)

    # module and implementation prefixes
    def module(self, module_id: str) -> str:
        return f"{self.prefix}modules/{module_id}"

    def impl(self, module_id: str, impl_id: str) -> str:
        return f"{self.module(module_id)}/impl/{impl_id}"

    # commands
    def cmd(self, module_id: str, impl_id: str, cmd: str) -> str:
        return f"{self.impl(module_id, impl_id)}/cmd/{cmd}"

    def cmd_response(self, module_id: str, impl_id: str, cmd: str, caller_id: str) -> str:
        return f"{self.cmd(module_id, impl_id, cmd)}/response/{caller_id}"

    # vars and errors
    def var(self, module_id: str, impl_id: str, var: str) -> str:
        return f"{self.impl(module_id, impl_id)}/var/{var}"

    def error(self, module_id: str, impl_id: str, error_type: str) -> str:
        """`error_type` is "<namespace>/<Name>", so the topic has two levels after `error`."""
        return f"{self.impl(module_id, impl_id)}/error/{error_type}"

    def impl_errors(self, module_id: str, impl_id: str) -> str:
        return f"{self.impl(module_id, impl_id)}/error/#"

    def global_errors(self) -> str:
        return f"{self.prefix}modules/+/impl/+/error/#"

    # ready handshake
    def module_ready(self, module_id: str) -> str:
        return f"{self.module(module_id)}/ready"

    def global_ready(self) -> str:
        return f"{self.prefix}ready"

    # config service
    def config_request(self) -> str:
        return f"{self.prefix}config/request"

    def config_response(self, module_id: str) -> str:
        return f"{self.module(module_id)}/response"

    # retained definitions
    def interfaces(self) -> str:
        return f"{self.prefix}interfaces"

    def interface_definition(self, interface: str) -> str:
        return f"{self.prefix}interface_definitions/{interface}"

    def types(self) -> str:
        return f"{self.prefix}types"

    def type_definition(self, type_file: str) -> str:
        """`type_file` may be given as "/evse_manager" (the types key) or "evse_manager"."""
        return f"{self.prefix}type_definitions/{type_file.lstrip('/')}"

    def settings(self) -> str:
        return f"{self.prefix}settings"

    def schemas(self) -> str:
        return f"{self.prefix}schemas"

    def module_names(self) -> str:
        return f"{self.prefix}module_names"

    def manifest(self, module_name: str) -> str:
        return f"{self.prefix}manifests/{module_name}"

    # other module topics
    def metadata(self, module_id: str) -> str:
        return f"{self.module(module_id)}/metadata"


def external(external_prefix: str, topic: str) -> str:
    """External topics get the external prefix prepended verbatim (default empty)."""
    return f"{external_prefix or ''}{topic}"
