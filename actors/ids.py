"""Transaction ids seen so far, for good, in memory that follows the rate of payments.

NPCI refuses a request that reuses a transaction id at any time, not only
while the first is in flight, and a bank never applies a leg of a payment it
has settled: re-running a finished id would give a second row, a second
notice and a second debit. Remembering every id would make memory grow with
the run, so :class:`SeenIds` uses how ids are made: an issuer (a PSP's app) numbers its
ids in the order it makes them (``UPS00001T00000000042``). The ids of the last
``window`` ms are held exactly; as they age out, each issuer's *floor* rises
to the highest number aged out, and an id at or below its issuer's floor is a
repeat. The window only has to outlast the longest time two ids of one
issuer can be reordered on their way to the switch. Ids that end in no
number are held for good (hand-made ids in tests and scripts).
"""

from __future__ import annotations

from collections import deque

_DIGITS = "0123456789"


class SeenIds:
    """Every id seen so far; ``window`` ms of them exactly, older ones by their issuer's floor."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._recent: set[str] = set()
        self._since: deque[tuple[int, str]] = deque()
        self._floor: dict[str, int] = {}  # issuer -> the highest number aged out of the window
        self._unnumbered: set[str] = set()

    def __len__(self) -> int:
        return len(self._recent) + len(self._unnumbered)

    def __contains__(self, txn_id: str) -> bool:
        if txn_id in self._recent or txn_id in self._unnumbered:
            return True
        issuer = txn_id.rstrip(_DIGITS)
        return issuer != txn_id and int(txn_id[len(issuer) :]) <= self._floor.get(issuer, -1)

    def add(self, txn_id: str, now: int) -> None:
        """``txn_id`` is seen from ``now`` on."""
        if txn_id.rstrip(_DIGITS) == txn_id:
            self._unnumbered.add(txn_id)
            return
        self._age_out(now)
        self._recent.add(txn_id)
        self._since.append((now, txn_id))

    def repeat(self, txn_id: str, now: int) -> bool:
        """Has ``txn_id`` been seen before? If not, it is now."""
        if txn_id in self:
            return True
        self.add(txn_id, now)
        return False

    def _age_out(self, now: int) -> None:
        since, floor = self._since, self._floor
        horizon = now - self.window
        while since and since[0][0] < horizon:
            old = since.popleft()[1]
            self._recent.discard(old)
            issuer = old.rstrip(_DIGITS)
            number = int(old[len(issuer) :])
            if number > floor.get(issuer, -1):
                floor[issuer] = number
