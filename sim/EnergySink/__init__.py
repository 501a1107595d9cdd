"""Simulated energy sink: records the external limits it gets (`python -m sim.EnergySink`)."""
