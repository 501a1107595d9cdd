"""OCPP 2.0.1 block B, provisioning: one file per operation over the device model."""
