"""Who a VPA is and which app server hosts them, for a million users without a dict of them.

A generated user's VPA ends its name with the user's row in the run's openings
(``aarav.shah1042@okaxis`` is row 1042: :func:`upisim.scenarios.people.generate_population`),
so a :class:`Roster` reads a VPA's row off the VPA and checks it against that row's own VPA;
the listed users (the rows before the population's) and any VPA not so numbered are found
through a small dict. The switch's directory (VPA to app server) and each app server's users
by VPA were two dicts of a million entries: ~80 MB and ~0.8 s of a million users' build.
An app server's users (:class:`Members`) are their rows, not a list of them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar, overload

import numpy as np

from upisim.actors.records import User
from upisim.actors.types import Address, Vpa

_DIGITS = "0123456789"
_T = TypeVar("_T")
_V = TypeVar("_V")


def numbered_row(vpa: str) -> int:
    """The row a generated VPA names by the number ending its name (-1: none); only that
    row's own VPA is the same string."""
    name = vpa.rpartition("@")[0]
    digits = name[len(name.rstrip(_DIGITS)) :]
    return int(digits) if digits else -1


class Roster:
    """Each user's row and app server: ``vpas`` by row, the rows from ``numbered`` on
    numbered as above, and ``cohort_of[row]`` the index of the row's server in ``servers``."""

    def __init__(
        self, vpas: Sequence[Vpa], numbered: int, cohort_of: array[int], servers: Sequence[Address]
    ) -> None:
        if len(cohort_of) != len(vpas):
            raise ValueError(f"{len(cohort_of)} servers given for {len(vpas)} users")
        self.vpas = vpas
        self.numbered = numbered
        self.cohort_of = cohort_of
        self.servers = servers
        self._others: dict[str, int] = {vpa: row for row, vpa in enumerate(vpas[:numbered])}
        if len(self._others) != numbered:
            raise ValueError("a VPA is listed twice")

    def row(self, vpa: str) -> int:
        """The row of the user with ``vpa``, or -1 if there is none."""
        row = self._others.get(vpa)
        if row is not None:
            return row
        row = numbered_row(vpa)
        vpas = self.vpas
        return row if self.numbered <= row < len(vpas) and vpas[row] == vpa else -1

    def directory(self) -> Directory:
        """The switch's directory: each VPA's app server."""
        return Directory(self)

    def hosted(self, cohort: int, users: Sequence[User]) -> Hosted:
        """The users of server ``cohort`` by VPA; ``users`` are the world's, by row."""
        return Hosted(self, cohort, users)


class _ByVpa(Mapping[Vpa, _V]):
    """A mapping by VPA whose ``get`` is the one lookup (subclasses make it fast)."""

    __slots__ = ()

    def __getitem__(self, vpa: Vpa) -> _V:
        found = self.get(vpa)
        if found is None:
            raise KeyError(vpa)
        return found

    def __contains__(self, vpa: object) -> bool:
        return isinstance(vpa, str) and self.get(Vpa(vpa)) is not None


class Directory(_ByVpa[Address]):
    """VPA to the app server hosting it (the switch's directory), read off a :class:`Roster`."""

    __slots__ = ("_roster",)

    def __init__(self, roster: Roster) -> None:
        self._roster = roster

    @overload
    def get(self, vpa: Vpa, /) -> Address | None: ...
    @overload
    def get(self, vpa: Vpa, default: Address | _T, /) -> Address | _T: ...
    def get(self, vpa: Vpa, default: object = None, /) -> object:
        roster = self._roster
        row = roster.row(vpa)
        return roster.servers[roster.cohort_of[row]] if row >= 0 else default

    def __iter__(self) -> Iterator[Vpa]:
        return iter(self._roster.vpas)

    def __len__(self) -> int:
        return len(self._roster.vpas)


class Hosted(_ByVpa[User]):
    """One app server's users by VPA, read off a :class:`Roster` (a user of another server
    is not here)."""

    __slots__ = ("_cohort", "_roster", "_users")

    def __init__(self, roster: Roster, cohort: int, users: Sequence[User]) -> None:
        self._roster, self._cohort, self._users = roster, cohort, users

    @overload
    def get(self, vpa: Vpa, /) -> User | None: ...
    @overload
    def get(self, vpa: Vpa, default: User | _T, /) -> User | _T: ...
    def get(self, vpa: Vpa, default: object = None, /) -> object:
        roster = self._roster
        row = roster.row(vpa)
        if row < 0 or roster.cohort_of[row] != self._cohort:
            return default
        return self._users[row]

    def __iter__(self) -> Iterator[Vpa]:
        mine, vpas = self._cohort, self._roster.vpas
        return (vpas[row] for row, c in enumerate(self._roster.cohort_of) if c == mine)

    def __len__(self) -> int:
        return self._roster.cohort_of.count(self._cohort)


class Picked(Sequence[_T]):
    """``base[rows[k]]`` for each k: a view of some rows of a column, no list of its own."""

    __slots__ = ("_base", "_rows")

    def __init__(self, base: Sequence[_T], rows: Sequence[int]) -> None:
        self._base, self._rows = base, rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, k: int) -> _T: ...
    @overload
    def __getitem__(self, k: slice) -> list[_T]: ...
    def __getitem__(self, k: int | slice) -> _T | list[_T]:
        if isinstance(k, slice):
            return [self._base[row] for row in self._rows[k]]
        return self._base[self._rows[k]]

    def __iter__(self) -> Iterator[_T]:
        return map(self._base.__getitem__, self._rows)


class Members(Picked[User]):
    """The users one app server hosts, in order: ``users[rows[k]]`` for each k (``users``,
    their ``vpas`` and ``merchant`` flags by row), without a list of their own."""

    __slots__ = ("_merchant", "_vpas", "vpas")

    def __init__(
        self, users: Sequence[User], rows: Sequence[int], vpas: Sequence[Vpa], merchant: np.ndarray
    ) -> None:
        super().__init__(users, rows)
        self._vpas, self._merchant = vpas, merchant
        self.vpas = Picked(vpas, rows)  # these users' VPAs, no user made for them

    @classmethod
    def of(cls, users: Sequence[User]) -> Members:
        """All of ``users`` (actor tests, small worlds)."""
        merchant = np.array([u.merchant for u in users], np.bool_)
        return cls(users, range(len(users)), [u.vpa for u in users], merchant)

    def _where(self, merchants: bool) -> Members:
        r = self._rows
        rows = (
            np.arange(r.start, r.stop, r.step) if isinstance(r, range) else np.asarray(r, np.int64)
        )
        picked = rows[self._merchant[rows] == merchants] if len(rows) else rows
        return Members(self._base, array("q", picked.tobytes()), self._vpas, self._merchant)

    def merchants(self) -> Members:
        return self._where(True)

    def persons(self) -> Members:
        return self._where(False)
