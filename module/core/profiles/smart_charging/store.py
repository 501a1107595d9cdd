"""The installed charging profiles: in memory for the composite schedules, on disk so they survive a restart.

One row per profile: its id, connector, the EVSE session of a TxProfile's transaction, and the profile as the
CSMS sent it (with a startSchedule filled in when the profile came without one), from which it is parsed again
at start-up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from module.core.profiles.smart_charging.charging_profile import ChargingProfile
from module.queue.database import Database

log = logging.getLogger(__name__)

_SCHEMA = [
    "CREATE TABLE charging_profiles (id INTEGER PRIMARY KEY, connector_id INTEGER NOT NULL, session_id TEXT,"
    " profile TEXT NOT NULL)",
]


@dataclass(frozen=True)
class InstalledProfile:
    profile: ChargingProfile
    payload: dict[str, Any]
    session_id: str | None = None
    """A TxProfile's transaction, by the EVSE session that runs it (its transactionId may still be a
    placeholder when a RemoteStartTransaction's profile is attached)."""


class ProfileStore:
    def __init__(self, db: Database) -> None:
        db.register_migrations("smart_charging_profiles", _SCHEMA)
        self._db = db
        self._installed: dict[int, InstalledProfile] = {}
        unreadable = []
        for profile_id, connector_id, session_id, text in db.conn.execute(
                "SELECT id, connector_id, session_id, profile FROM charging_profiles ORDER BY id"):
            try:
                payload = json.loads(text)
                self._installed[profile_id] = InstalledProfile(ChargingProfile.from_ocpp(connector_id, payload),
                                                               payload, session_id)
            except (ValueError, KeyError, TypeError) as error:
                log.error("charging profile %s cannot be read back (%s): removed", profile_id, error)
                unreadable.append(profile_id)
        self._delete(unreadable)

    def __len__(self) -> int:
        return len(self._installed)

    def all(self) -> list[InstalledProfile]:
        return list(self._installed.values())

    def displaced_by(self, profile: ChargingProfile) -> list[int]:
        """The profiles `profile` replaces: the one with its id, and the one with its connector, stackLevel and
        purpose."""
        return [profile_id for profile_id, installed in self._installed.items()
                if profile_id == profile.id or (installed.profile.connector_id, installed.profile.stack_level,
                                                installed.profile.purpose)
                == (profile.connector_id, profile.stack_level, profile.purpose)]

    def install(self, installed: InstalledProfile) -> None:
        """Store the profile in place of those it displaces, in one disk write."""
        profile = installed.profile
        displaced = self.displaced_by(profile)
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM charging_profiles WHERE id = ?", [(i,) for i in displaced])
            conn.execute("INSERT INTO charging_profiles (id, connector_id, session_id, profile) VALUES (?, ?, ?, ?)",
                         (profile.id, profile.connector_id, installed.session_id, json.dumps(installed.payload)))
        for profile_id in displaced:
            del self._installed[profile_id]
        self._installed[profile.id] = installed

    def remove(self, matches: Callable[[InstalledProfile], bool]) -> list[int]:
        """Remove the profiles `matches` picks; their ids."""
        removed = [profile_id for profile_id, installed in self._installed.items() if matches(installed)]
        self._delete(removed)
        return removed

    def _delete(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM charging_profiles WHERE id = ?", [(i,) for i in ids])
        for profile_id in ids:
            self._installed.pop(profile_id, None)
