"""Core profile operations initiated by the CSMS."""
