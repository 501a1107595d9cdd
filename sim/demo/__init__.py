"""`make run`: the OCPP module with two simulated EVSEs, a local CSMS and a scripted charging session, live.

Modules: state_folder (files the demo keeps), monitor (what the EVSEs and the OCPP link show over MQTT),
view (terminal screen or plain lines), session (the scripted car and RFID actions), runner (start, run, stop).
"""
