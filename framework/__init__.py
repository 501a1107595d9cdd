"""EVerest-wire-compatible component framework: definitions, module runtime and manager (no OCPP knowledge)."""
