"""The people of a run: the users a scenario lists, then the population it generates.

Both are pure functions of (scenario, seed). The population is drawn a trait at a time for
everyone at once (numpy columns from one seeded generator), so a million users take about a
second, most of it making their VPAs' strings; a user is made a :class:`User` only when
something asks for them (:class:`Users`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast, overload

import numpy as np

from upisim.actors.accounts import account_number
from upisim.actors.base import derive_seed
from upisim.actors.directory import numbered_row
from upisim.actors.errors import ScenarioError
from upisim.actors.records import User
from upisim.actors.types import BankCode, Vpa
from upisim.scenarios.config import Scenario
from upisim.scenarios.names import FIRST_NAMES, LAST_NAMES

_FLAGS = ((False, False), (True, False), (False, True), (True, True))  # (merchant, card)


class Users(Sequence[User]):
    """Every user of a run by row: the listed ones as the scenario gave them, then the
    population's, each made a :class:`User` only when asked for, from columns (a User tuple
    and an account number's string a user were ~180 B: 180 MB at a million users, and over
    a second of the build). Every row's ``vpas``, ``bank_of`` (an index into ``codes``),
    ``name_of`` (into ``names``) and ``merchant`` are columns for whoever needs them all."""

    def __init__(
        self,
        listed: list[User],
        vpas: list[Vpa],
        codes: list[BankCode],
        bank_of: np.ndarray,
        names: list[str],
        name_of: np.ndarray,
        pins: list[str],
        pin_of: np.ndarray,
        merchant: np.ndarray,
        card: np.ndarray,
    ) -> None:
        n = len(vpas)
        if not all(len(c) == n for c in (bank_of, name_of, pin_of, merchant, card)):
            raise ValueError(f"the users' columns are not all {n} long")
        self._listed = listed
        self.vpas = vpas
        self.codes, self.names, self._pins = codes, names, pins
        # compact copies for one row at a time (indexing numpy from Python is slow)
        self._bank = array("H", bank_of.astype(np.uint16).tobytes())
        self._name = array("I", name_of.astype(np.uint32).tobytes())
        self._pin = array("H", pin_of.astype(np.uint16).tobytes())
        self._flags = (merchant.astype(np.uint8) | card.astype(np.uint8) << 1).tobytes()

    @property
    def bank_of(self) -> np.ndarray:
        return np.frombuffer(self._bank, np.uint16)

    @property
    def name_of(self) -> np.ndarray:
        return np.frombuffer(self._name, np.uint32)

    @property
    def merchant(self) -> np.ndarray:
        """Whether each row is a merchant's (bool)."""
        return (np.frombuffer(self._flags, np.uint8) & 1).astype(np.bool_)

    def __len__(self) -> int:
        return len(self.vpas)

    @overload
    def __getitem__(self, row: int) -> User: ...
    @overload
    def __getitem__(self, row: slice) -> list[User]: ...
    def __getitem__(self, row: int | slice) -> User | list[User]:
        if isinstance(row, slice):
            return [self[i] for i in range(len(self))[row]]
        if row < len(self._listed):
            if row < 0:
                return self[range(len(self))[row]]
            return self._listed[row]
        code = self.codes[self._bank[row]]  # (an IndexError past the last row)
        merchant, card = _FLAGS[self._flags[row]]
        fields = (
            self.names[self._name[row]],
            self.vpas[row],
            code,
            account_number(code, row),
            self._pins[self._pin[row]],
            merchant,
            card,
            "",  # no PIN block kept: the app makes it when the PIN is typed
        )
        return tuple.__new__(User, fields)

    def __iter__(self) -> Iterator[User]:
        return map(self.__getitem__, range(len(self)))


@dataclass(frozen=True, slots=True)
class Openings:
    """Every user of a run as it opens, a column per trait in the order of ``users``: kept as
    columns for the run's whole life (the accounts table is written from them), not as a
    tuple per user."""

    users: Users
    balance: np.ndarray  # int64: opening balance in paise
    new_user: np.ndarray  # bool: new to UPI (a cooling period, a first-day cap)
    card_limit: np.ndarray  # int64: the credit card's limit in paise (0: no card)

    def __len__(self) -> int:
        return len(self.users)


def everyone(scenario: Scenario, seed: int) -> Openings:
    """Every user of a run as it opens: the listed ones, then the generated population."""
    listed = scenario.users
    users = [
        User(
            u.name,
            Vpa(u.vpa),
            BankCode(u.bank),
            account_number(u.bank, i),
            "" if u.pin_hash else u.pin,
            u.merchant,
            u.card_limit > 0,
            u.pin_hash or "",
        )
        for i, u in enumerate(listed)
    ]
    codes = [BankCode(b.code) for b in scenario.banks]
    bank = {code: k for k, code in enumerate(codes)}
    made = generate_population(scenario, seed)
    _refuse_shadows(scenario, made.vpas, seed)
    names = made.names + [u.name for u in users]  # the listed users' names after the table's
    return Openings(
        Users(
            users,
            [u.vpa for u in users] + made.vpas,
            codes,
            np.concatenate((np.array([bank[u.bank] for u in users], np.int64), made.bank_of)),
            names,
            np.concatenate((np.arange(len(made.names), len(names)), made.name_of)),
            made.pins,
            np.concatenate((np.zeros(len(users), np.int64), made.pin_of)),
            np.concatenate((np.array([u.merchant for u in users], np.bool_), made.merchant)),
            np.concatenate((np.array([u.card for u in users], np.bool_), made.card)),
        ),
        np.concatenate((np.array([u.balance for u in listed], np.int64), made.balance)),
        np.concatenate((np.array([u.new_user for u in listed], np.bool_), made.new_user)),
        np.concatenate((np.array([u.card_limit for u in listed], np.int64), made.card_limit)),
    )


def _refuse_shadows(scenario: Scenario, generated: Sequence[str], seed: int) -> None:
    """A listed user may not take a generated user's VPA: the address would name two people
    (a generated VPA ends its name with its row, so only that row can hold it)."""
    first = len(scenario.users)
    for i, user in enumerate(scenario.users):
        row = numbered_row(user.vpa)
        if first <= row < first + len(generated) and generated[row - first] == user.vpa:
            raise ScenarioError(
                f"users[{i}].vpa: {user.vpa!r} is also the VPA the population gives its user "
                f"at row {row} (seed {seed}): give the listed user another"
            )


def in_shares(draw: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Which of ``len(weights)`` groups each of ``n`` users is in, in exactly those shares.

    The counts are the shares of ``n`` rounded by largest remainder (ties to the earlier
    group), dealt out in a seeded random order: a scenario's 8% of users on an app is 8%
    of its users, not 8% give or take sampling noise.
    """
    exact = weights / weights.sum() * n
    counts = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(counts - exact, kind="stable")[:short]] += 1
    return draw.permutation(np.repeat(np.arange(len(weights)), counts))


class Population(NamedTuple):
    """The generated users' columns (their rows follow the listed users')."""

    vpas: list[Vpa]
    bank_of: np.ndarray  # index into the scenario's banks
    names: list[str]  # the table ``name_of`` indexes
    name_of: np.ndarray
    pins: list[str]  # the table ``pin_of`` indexes
    pin_of: np.ndarray
    merchant: np.ndarray  # bool
    card: np.ndarray  # bool: holds a credit card
    balance: np.ndarray  # int64 paise
    new_user: np.ndarray  # bool
    card_limit: np.ndarray  # int64 paise


def generate_population(scenario: Scenario, seed: int) -> Population:
    """Users with Indian names, VPAs at their bank's handle, PINs and opening balances.

    Every trait is drawn for the whole population at once, a column per trait from one
    seeded numpy generator; only the VPAs are strings made one by one. A generated VPA ends
    its name with the user's row (:class:`upisim.actors.directory.Roster` reads it back).
    """
    pop = scenario.population
    if pop is None:
        no, off = np.zeros(0, np.int64), np.zeros(0, np.bool_)
        return Population([], no, [], no, [], no, off, off, no, off, no)
    n = pop.size
    draw = np.random.Generator(np.random.PCG64(derive_seed(seed, "population")))
    banks = scenario.banks
    weights = np.array(
        [pop.bank_weights.get(b.code, 0.0 if pop.bank_weights else 1.0) for b in banks]
    )
    bank_of = in_shares(draw, weights, n)
    first = draw.integers(len(FIRST_NAMES), size=n)
    last = draw.integers(len(LAST_NAMES), size=n)
    pins = draw.integers(10_000, size=n)
    spread = [pop.customers(b.code) for b in banks]
    mu = np.array([math.log(median / 100) for median, _ in spread])
    sigma = np.array([s for _, s in spread])
    rupees = np.rint(draw.lognormal(mu[bank_of], sigma[bank_of])).astype(np.int64)
    merchant = draw.random(n) < pop.merchant_share
    new = draw.random(n) < pop.new_user_share
    card = draw.random(n) < pop.card_share
    apps = scenario.apps
    if apps:  # on an app, at one of its handles
        shares = np.array([app.share for app in apps])
        app_of = in_shares(draw, shares, n)
        n_handles = np.array([len(app.handles) for app in apps])
        at_app = (draw.random(n) * n_handles[app_of]).astype(np.int64)
        starts = np.cumsum(n_handles) - n_handles
        all_handles = [h for app in apps for h in app.handles]
        handle_of = starts[app_of] + at_app
    else:
        all_handles = [b.handle for b in banks]
        handle_of = bank_of
    # names and PINs come from small tables: each string is made once and shared
    handle_name = [f"{f}.{la}".lower().replace("'", "") for f in FIRST_NAMES for la in LAST_NAMES]
    full_name = [f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES]
    name_of = first * len(LAST_NAMES) + last
    ids = range(len(scenario.users), len(scenario.users) + n)
    vpas = cast(
        "list[Vpa]",
        [
            f"{handle_name[k]}{i}@{all_handles[h]}"
            for k, i, h in zip(name_of.tolist(), ids, handle_of.tolist(), strict=True)
        ],
    )
    limit = np.where(card, pop.card_limit, 0).astype(np.int64)
    pin_text = [f"{pin:04d}" for pin in range(10_000)]
    return Population(
        vpas, bank_of, full_name, name_of, pin_text, pins, merchant, card, rupees * 100, new, limit
    )
