"""Block E: transactions."""
