"""Generated load: what a cohort's users decide to pay, drawn with numpy a batch at a time.

:class:`Draws` owns the cohort's numpy generator and makes every random
choice of a generated payment or collect request — who pays whom, how much,
by which method, whether the PIN is mistyped — for a whole batch in a few
calls. The app server (:mod:`upisim.actors.user`) only acts on the draws.
The draws are made in the same order every run: same seed, same payments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from upisim.actors.methods import CARD, UPI_PUSH, Method
from upisim.actors.types import Paise, Vpa


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How generated payments look: amounts are log-normal around a median, in whole rupees."""

    median_amount: Paise = Paise(500_00)
    amount_sigma: float = 1.0
    min_amount: Paise = Paise(1_00)
    max_amount: Paise = Paise(20_000_00)
    wrong_pin_rate: float = 0.0
    method_mix: tuple[tuple[str, float], ...] = ((UPI_PUSH, 1.0),)  # push methods by weight
    p2m_share: float | None = None  # share of payments to merchants; None: anyone, uniformly
    wrong_pin_by_bank: tuple[tuple[str, float], ...] = ()  # the payer's bank's rate, if listed


class Payer(Protocol):
    """What the draws need to know of a payer."""

    @property
    def vpa(self) -> Vpa: ...

    @property
    def card(self) -> bool: ...  # holds a credit card

    @property
    def bank(self) -> str: ...  # their bank's code


class Batch(NamedTuple):
    """A batch of generated payments, one entry per payment in each list."""

    payers: list[int]  # index into the cohort's users
    payees: list[Vpa]
    amounts: list[int]
    wrong_pin: list[bool]
    picks: list[float] | None  # uniform draws for the method; None: all UPI push


class Draws:
    """The random choices of one cohort's generated load."""

    def __init__(
        self,
        generator: np.random.Generator,
        behaviour: Behaviour,
        payees: Sequence[Vpa],
        merchants: frozenset[Vpa],
        methods: Mapping[str, Method],
    ) -> None:
        self._np = generator
        self.behaviour = behaviour
        self.payees = payees
        self.merchants = merchants  # every payee that takes merchant-only methods
        self._mu = math.log(behaviour.median_amount / 100)
        self._pin_by_bank = dict(behaviour.wrong_pin_by_bank)
        # payees split for a P2M share: (people, merchants), the whole list when one is empty;
        # only built when a share is set (two lists of every payee in each cohort otherwise)
        self._payees_by_kind: tuple[Sequence[Vpa], Sequence[Vpa]] = (payees, payees)
        if behaviour.p2m_share is not None:
            people = tuple(v for v in payees if v not in merchants)
            shops = tuple(v for v in payees if v in merchants)
            self._payees_by_kind = (people or payees, shops or payees)
        # (method, weight, merchants only?, needs a credit card?)
        self._mix = [
            (name, weight, methods[name].p2m_only, methods[name].source == CARD)
            for name, weight in behaviour.method_mix
            if weight > 0
        ]
        self._upi_only = [name for name, *_ in self._mix] == [UPI_PUSH]

    def amounts(self, n: int) -> list[int]:
        """``n`` amounts in paise: log-normal whole rupees, clamped to the behaviour's range."""
        b = self.behaviour
        rupees = np.rint(self._np.lognormal(self._mu, b.amount_sigma, n))
        amounts: list[int] = (
            np.clip(rupees * 100, b.min_amount, b.max_amount).astype(np.int64).tolist()
        )
        return amounts

    def payments(self, n: int, payers: Sequence[Payer], vpas: Sequence[Vpa] | None = None) -> Batch:
        """``n`` payments by ``payers``: each to someone else, never to oneself (``vpas``:
        the payers' VPAs, where they are at hand without making each payer)."""
        payees, n_payees = self.payees, len(self.payees)
        draw = self._np
        who = draw.integers(0, len(payers), n).tolist()
        p2m_share = self.behaviour.p2m_share
        pools: list[Sequence[Vpa]] | None = None  # where each payment's payee came from
        if p2m_share is None:
            chosen = [payees[t] for t in draw.integers(0, n_payees, n).tolist()]
        else:  # a share goes to merchants: pick each payment's kind of payee, then the payee
            to_shop = (draw.random(n) < p2m_share).tolist()
            where = draw.random(n).tolist()
            by_kind = self._payees_by_kind
            chosen = []
            for i in range(n):
                kind = by_kind[to_shop[i]]
                chosen.append(kind[int(where[i] * len(kind))])
            pools = [by_kind[shop] for shop in to_shop]
        amounts = self.amounts(n)
        wrong_pin_rate = self.behaviour.wrong_pin_rate
        by_bank = self._pin_by_bank
        if by_bank:  # each payer's bank's habit
            mistyped = draw.random(n).tolist()
            wrong = [
                mistyped[i] < by_bank.get(payers[w].bank, wrong_pin_rate) for i, w in enumerate(who)
            ]
        elif wrong_pin_rate:
            wrong = (draw.random(n) < wrong_pin_rate).tolist()
        else:
            wrong = [False] * n
        picks = None if self._upi_only else draw.random(n).tolist()
        for i in range(n):  # never oneself: draw again, from the same kind of payee
            me = payers[who[i]].vpa if vpas is None else vpas[who[i]]
            if chosen[i] == me:
                pool = payees if pools is None or len(pools[i]) < 2 else pools[i]
                payee = chosen[i]
                while payee == me and len(pool) > 1:
                    payee = pool[int(draw.integers(0, len(pool)))]
                chosen[i] = payee
        return Batch(who, chosen, amounts, wrong, picks)

    def method(self, payer: Payer, payee: Vpa, u: float) -> str:
        """The mix's method for this payment, among those the payer has (a credit card) and
        the payee takes (merchant-only methods), drawn with ``u`` in [0, 1)."""
        merchant = payee in self.merchants
        allowed = [
            (name, weight)
            for name, weight, p2m_only, card in self._mix
            if (merchant or not p2m_only) and (payer.card or not card)
        ]
        if not allowed:
            return UPI_PUSH
        x = u * sum(weight for _, weight in allowed)
        for name, weight in allowed:
            x -= weight
            if x < 0:
                return name
        return allowed[-1][0]

    def collects(self, n: int, n_askers: int) -> tuple[list[int], list[int], list[int]]:
        """``n`` collect requests: which asker, from which payee (index), for how much."""
        draw = self._np
        picks = draw.integers(0, n_askers, n).tolist()
        targets = draw.integers(0, len(self.payees), n).tolist()
        return picks, targets, self.amounts(n)

    def uniform(self) -> float:
        """One uniform draw in [0, 1): a person's choice (approve a collect, refund)."""
        return float(self._np.random())

    def think_ms(self, mean_ms: int) -> int:
        """How long a person takes to answer (exponential), at least 1 ms."""
        return 1 + int(self._np.exponential(mean_ms))
