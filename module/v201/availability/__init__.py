"""Block G: connector status and availability."""
