"""Writes the local list over and over in its own process, so a test can kill -9 it inside the write:
`local_list_child.py DB_DIR ENTRIES`.

Each round replaces the list (a SendLocalList Full) with ENTRIES idTags (TAG00000 ...) whose parentIdTag names the
round's version, one above the stored one. Prints "writing <version>" when the store reads the new entries, which it
does inside its transaction (the old list is already deleted there), and "written <version>" once it is stored.
"""

from __future__ import annotations

import sys
from typing import Any

from module.core.profiles.local_auth_list.local_list import LocalAuthList
from module.queue.database import Database


class Announced(dict[str, dict[str, Any]]):
    """The new entries; saying so when the store reads them."""

    def __init__(self, version: int, entries: int) -> None:
        super().__init__({f"TAG{number:05d}": {"status": "Accepted", "parentIdTag": f"V{version}"}
                          for number in range(entries)})
        self.version = version

    def items(self) -> Any:
        print(f"writing {self.version}", flush=True)
        return super().items()


def main(db_dir: str, entries: int) -> None:
    local_list = LocalAuthList(Database.open(db_dir, "CP1"))
    while True:
        version = local_list.version() + 1
        local_list.replace(version, Announced(version, entries), max_length=entries)
        print(f"written {version}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
