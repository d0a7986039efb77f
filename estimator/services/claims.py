"""Work claimed from the database a few items at a time, so several builders of one device
profile — processes on different machines filling one PostgreSQL database, or two builds
started at once on one machine — split the items instead of measuring each twice.

Each claim is a lease with an expiry on the database's clock, renewed while this builder
works through what it holds and deleted with the result it commits. A builder that dies
keeps its leases until they expire; then another builder takes the work over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..generate.work import WorkItem

if TYPE_CHECKING:  # the CLI reads LEASE_S without opening a database
    from ..db import Database

LEASE_S = 300.0  # longer than any one item takes; renewed between items
WINDOW = 8  # items claimed at a time
POLL_S = 2.0  # how often a builder with nothing left to claim looks again


def machine_name() -> str:
    """The machine a builder says it runs on in its leases: LETI_BUILDER_HOST, else the host
    name (set it where containers on different machines share one host name)."""
    return os.environ.get("LETI_BUILDER_HOST") or socket.gethostname()


def owner_name() -> str:
    return f"{machine_name()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def release_dead_owners(db: Database, device_id: str) -> int:
    """Free at once the leases of builders on this machine whose process is gone (killed,
    crashed): a rerun after a kill resumes now, not after the lease. Owners on other machines
    are left to expire; so is a process id since reused (it only waits). Returns how many."""
    host, dead = machine_name(), {}
    for row in db.leases(device_id):
        name, _, rest = row["owner"].partition(":")
        pid = rest.split(":")[0]
        if name == host and pid.isdigit() and not _alive(int(pid)):
            dead.setdefault(row["owner"], []).append(row["key"])
    for owner, keys in dead.items():
        db.release(device_id, keys, owner)
    return sum(len(k) for k in dead.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


class Claims:
    """Iterate over the items of ``items`` this builder holds a lease on, in plan order."""

    def __init__(self, db: Database, device_id: str, items: list[WorkItem],
                 lease_s: float = LEASE_S, owner: str | None = None) -> None:  # fmt: skip
        self.db, self.device_id, self.items = db, device_id, items
        self.lease_s = lease_s
        self.owner = owner or owner_name()
        self.held: list[str] = []  # claimed, neither committed nor given back (finished)
        self._renewed = time.monotonic()
        self.done_by_others: list[WorkItem] = []

    def __iter__(self) -> Iterator[WorkItem]:
        release_dead_owners(self.db, self.device_id)
        pending = deque(self.items)
        waiting: list[WorkItem] = []
        while pending or waiting:
            if not pending:
                pending.extend(self._still_open(waiting))
                waiting = []
                if not pending:
                    break
                continue
            window = [pending.popleft() for _ in range(min(WINDOW, len(pending)))]
            got = set(self.db.claim(self.device_id, [i.key for i in window], self.owner,
                                    self.lease_s))  # fmt: skip
            mine = [i for i in window if i.key in got]
            waiting += [i for i in window if i.key not in got]
            self.held += [i.key for i in mine]
            for item in mine:
                self.renew()
                yield item

    def renew(self, force: bool = False) -> None:
        """Renew the leases of what this builder holds, once a third of a lease has passed
        since the last renewal (or now, with ``force``): between items, and between the rounds
        of a window timed together (:func:`.build.run_build`)."""
        if self.held and (force or time.monotonic() - self._renewed > self.lease_s / 3):
            self.db.renew(self.device_id, self.held, self.owner, self.lease_s)
            self._renewed = time.monotonic()

    def finished(self, key: str) -> None:
        """``key`` is settled (its result committed, which ended its lease) or given back."""
        if key in self.held:
            self.held.remove(key)

    def _still_open(self, waiting: list[WorkItem]) -> list[WorkItem]:
        """Items other builders held: drop those they finished; wait while the rest are held
        on live leases, and return them once a lease has expired (a builder died)."""
        while True:
            done = self.db.done_keys(self.device_id)
            self.done_by_others += [i for i in waiting if i.key in done]
            waiting = [i for i in waiting if i.key not in done]
            if not waiting:
                return []
            wait = self.db.next_expiry(self.device_id, self.owner)
            if wait is None or wait <= 0:
                return waiting
            time.sleep(min(max(wait, 0.2), POLL_S))

    def release(self) -> None:
        """Give back what this builder holds but did not finish (cancelled, crashed)."""
        if self.held:
            self.db.release(self.device_id, self.held, self.owner)
            self.held = []
