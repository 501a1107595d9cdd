"""Logging set-up for module processes: one line per record, tagged with the module id."""

from __future__ import annotations

import logging
import os


def setup_logging(module_id: str, level: int | str | None = None) -> None:
    """Configure the root logger once, unless the host program (or pytest) already did."""
    root = logging.getLogger()
    if root.handlers:
        return
    level = level or os.environ.get("EV_LOG_LEVEL", "INFO")
    logging.basicConfig(level=level,
                        format=f"%(asctime)s %(levelname)-7s [{module_id}] %(name)s: %(message)s")
