"""Simulated display: prints the messages it is asked to show (`python -m sim.DisplayMessage`)."""
