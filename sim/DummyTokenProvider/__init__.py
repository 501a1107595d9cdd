"""Simulated token provider: publishes the tokens it is told about over external MQTT."""
