"""Simulated System module: reset, time, boot reason, simulated firmware update and log upload."""
