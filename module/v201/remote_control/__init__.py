"""Block F: remote control (TriggerMessage so far)."""
