"""The OCPP 2.0.1 device model: components and variables with their attributes and characteristics."""
