"""The OCPP 2.0.1 module's protocol parts: its protocol spec for the shared link, and the device model."""
