"""OCPP 1.6 configuration: libocpp-style base file plus user overlay, one key registry, Get/ChangeConfiguration."""
