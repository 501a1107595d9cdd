"""Simulated Auth module: token providers -> validators -> EVSE authorization, reservations."""
