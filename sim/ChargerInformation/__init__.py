"""Simulated charger information from the module config (`python -m sim.ChargerInformation`)."""
