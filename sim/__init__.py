"""Simulated peers of the OCPP module: charger-side sim modules, a local CSMS and a driver CLI."""
