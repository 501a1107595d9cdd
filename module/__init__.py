"""OCPP charge point module: protocol layers (link, queue, config, core) and the framework glue (impl)."""
