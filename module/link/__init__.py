"""OCPP-J link to the CSMS: websocket client, RPC with schema checks, message log (no framework imports)."""
