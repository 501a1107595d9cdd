"""Simulated EvseManager: one AC EVSE with its car and power meter (`python -m sim.EvseManager`)."""
