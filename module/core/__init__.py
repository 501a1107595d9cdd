"""The charge point core: OCPP 1.6 behaviour over the link, queue and configuration, with ports to the charger."""
