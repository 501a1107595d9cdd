"""Outbound queue and charge point database: what must reach the CSMS survives restarts and power loss."""
