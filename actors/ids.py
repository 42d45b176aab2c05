"""Transaction ids the switch has been asked to run: each runs once, for good.

NPCI refuses a request that reuses a transaction id at any time, not only
while the first is in flight: re-running a finished id would give a second
row, a second notice and a second debit. Remembering every id would make
memory grow with the run, so :class:`SeenIds` uses how ids are made: an
issuer (a PSP's app) numbers its ids in the order it makes them
(``UPS00001T00000000042``). The ids of at least the last ``window`` ms are
held exactly (in two generations); as a generation ages out, each issuer's
*floor* rises to the highest number in it, and an id at or below its
issuer's floor is a repeat. The window only has to outlast the longest time
two ids of one issuer can be reordered on their way to the switch. Ids that
end in no number are held for good (hand-made ids in tests and scripts)."""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_DIGITS = "0123456789"


class SeenIds:
    """Every id seen so far: the last ``window`` ms or more of them exactly (two generations
    of ``window`` ms each), older ones by their issuer's floor."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._current: set[str] = set()
        self._previous: set[str] = set()
        self._current_max: dict[str, int] = {}  # issuer -> highest number in _current
        self._previous_max: dict[str, int] = {}
        self._floor: dict[str, int] = {}  # issuer -> the highest number aged out
        self._unnumbered: set[str] = set()
        self._rotate_at = window

    def __len__(self) -> int:
        return len(self._current) + len(self._previous) + len(self._unnumbered)

    def repeat(self, txn_id: str, now: int) -> bool:
        """Has ``txn_id`` been seen before? If not, it is now."""
        if now >= self._rotate_at:
            self._rotate(now)
        if txn_id in self._current or txn_id in self._previous:
            return True
        issuer = txn_id.rstrip(_DIGITS)
        if issuer == txn_id:  # no number to order it by: kept for good
            if txn_id in self._unnumbered:
                return True
            self._unnumbered.add(txn_id)
            return False
        number = int(txn_id[len(issuer) :])
        if number <= self._floor.get(issuer, -1):
            return True
        self._current.add(txn_id)
        if number > self._current_max.get(issuer, -1):
            self._current_max[issuer] = number
        return False

    def _rotate(self, now: int) -> None:
        """A generation is at least ``window`` old: its ids age out, into their floors."""
        floor = self._floor
        for issuer, number in self._previous_max.items():
            if number > floor.get(issuer, -1):
                floor[issuer] = number
        if now >= self._rotate_at + self.window:  # quiet for a whole generation: both go
            for issuer, number in self._current_max.items():
                if number > floor.get(issuer, -1):
                    floor[issuer] = number
            self._previous, self._previous_max = set(), {}
        else:
            self._previous, self._previous_max = self._current, self._current_max
        self._current, self._current_max = set(), {}
        self._rotate_at = now + self.window


class RecentIds:
    """Ids seen in the last ``window`` ms or more (two generations): for telling a replayed
    message from a new one, when a replay can only come so long after the original."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._current: set[str] = set()
        self._previous: set[str] = set()
        self._rotate_at = window

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def repeat(self, key: str, now: int) -> bool:
        """Was ``key`` seen in the window? If not, it is now."""
        if now >= self._rotate_at:
            quiet = now >= self._rotate_at + self.window  # a whole generation went by
            self._previous = set() if quiet else self._current
            self._current = set()
            self._rotate_at = now + self.window
        if key in self._current or key in self._previous:
            return True
        self._current.add(key)
        return False


class RecentMap(Generic[V]):
    """Values by key for the last ``window`` ms or more (two generations): what the switch
    remembers of finished payments, for the status checks apps may still send."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._current: dict[str, V] = {}
        self._previous: dict[str, V] = {}
        self._rotate_at = window

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def put(self, key: str, value: V, now: int) -> None:
        if now >= self._rotate_at:
            quiet = now >= self._rotate_at + self.window
            self._previous = {} if quiet else self._current
            self._current = {}
            self._rotate_at = now + self.window
        self._current[key] = value

    def get(self, key: str) -> V | None:
        value = self._current.get(key)
        return value if value is not None else self._previous.get(key)


H = TypeVar("H", bound=Hashable)


class _Span:
    """One issuer's numbers in one generation: a value index (+1; 0: none) per number from
    ``base`` on, grown both ways in doubling steps."""

    __slots__ = ("base", "codes")

    def __init__(self, number: int) -> None:
        self.base = number
        self.codes = array("H", bytes(2 * _SPAN_START))

    def get(self, number: int) -> int:
        at = number - self.base
        return self.codes[at] if 0 <= at < len(self.codes) else 0

    def set(self, number: int, code: int) -> bool:
        """Keep ``code`` for ``number``; False (nothing kept) if that would stretch the span
        far beyond the numbers it holds (ids numbered far apart)."""
        codes, at = self.codes, number - self.base
        if at < 0:
            grow = max(-at, len(codes))
            if grow > _SPAN_REACH + len(codes):
                return False
            self.codes = codes = array("H", bytes(2 * grow)) + codes
            self.base -= grow
            at += grow
        elif at >= len(codes):
            grow = max(at + 1 - len(codes), len(codes))
            if grow > _SPAN_REACH + len(codes):
                return False
            codes.frombytes(bytes(2 * grow))
        codes[at] = code
        return True


_SPAN_START = 64  # numbers a new span has room for
_SPAN_REACH = 1 << 16  # how far beyond its size a span may grow in one step
_MAX_CODES = (1 << 16) - 1  # distinct values a map keeps as two-byte codes


class RecentNumbered(Generic[H]):
    """What :class:`RecentMap` keeps (values by id for the last ``window`` ms or more, two
    generations), in two bytes an id when ids are numbered by their issuer in order
    (``UPS00001T00000000042``) and the values are few and hashable (a payment's outcome):
    each generation keeps, per issuer, a two-byte code per number between the lowest and
    the highest it was given, the codes indexing one table of the distinct values. Ids with
    no number, or numbered far from their issuer's others, are kept in a dict.

    The switch remembers every payment's outcome for a status check's whole window (over
    a quarter of an hour): at a national 8,400 payments a second, that is millions of ids,
    about 100 bytes each as dict entries with their id strings."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._values: list[H] = []
        self._code: dict[H, int] = {}
        self._current: dict[str, _Span] = {}
        self._previous: dict[str, _Span] = {}
        self._others: dict[str, H] = {}  # of the current generation; then of the previous
        self._others_before: dict[str, H] = {}
        self._rotate_at = window

    def put(self, key: str, value: H, now: int) -> None:
        if now >= self._rotate_at:
            quiet = now >= self._rotate_at + self.window
            self._previous = {} if quiet else self._current
            self._others_before = {} if quiet else self._others
            self._current, self._others = {}, {}
            self._rotate_at = now + self.window
        issuer = key.rstrip(_DIGITS)
        code = self._code.get(value)
        if code is None and len(self._values) < _MAX_CODES:
            self._values.append(value)
            code = self._code[value] = len(self._values)
        if issuer != key:
            number = int(key[len(issuer) :])
            span = self._current.get(issuer)
            if span is None:
                span = self._current[issuer] = _Span(number)
            if code is not None and span.set(number, code):
                self._others.pop(key, None)  # (a value it had there is older)
                return
            for generation in (self._current, self._previous):  # the dict's is the latest
                span = generation.get(issuer)
                if span is not None and span.get(number):
                    span.set(number, 0)
        self._others[key] = value

    def get(self, key: str) -> H | None:
        issuer = key.rstrip(_DIGITS)
        if issuer != key:
            number = int(key[len(issuer) :])
            for generation in (self._current, self._previous):
                span = generation.get(issuer)
                code = span.get(number) if span is not None else 0
                if code:
                    return self._values[code - 1]
        value = self._others.get(key)
        return value if value is not None else self._others_before.get(key)
