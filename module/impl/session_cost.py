"""Provided `session_cost`: its vars (default_price, tariff_message, session_cost) are declared; they are
published once the California pricing extension is implemented. It has no commands."""

IMPL = "session_cost"
