"""Blocks C and D: authorization, local list, cache."""
