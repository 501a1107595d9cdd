"""What the OCPP 1.6 charge point decides about its queued messages: the transaction policy and its table."""
