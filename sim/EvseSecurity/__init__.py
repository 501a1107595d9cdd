"""Simulated EvseSecurity: a real certificate folder made with `cryptography` (`python -m sim.EvseSecurity`)."""
