"""``[fraud_typologies]``: which frauds a run's users commit, how often, and the plan of
every case, drawn from the run's seed (the acts themselves: :mod:`upisim.actors.crime`).

Rates are cases per 100,000 payments of the load. The defaults add up to about one
reported fraud per 100,000 payments, as NPCI's FY24 figures (FRAUD.md §1);
``preset = "research"`` multiplies every rate by 1,000. Fraudsters, mules and victims are
drawn uniformly from the generated population, so nothing but what they do tells them
apart. The proceeds of every theft go to a mule network (a fake merchant's, to its
owner's), which passes them on by one of AMLworld's patterns (fan-out, chain, cycle,
scatter-gather) to cash-out accounts; several thefts share a network (fan-in).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, field_validator

from upisim.actors import addresses
from upisim.actors.base import derive_seed
from upisim.actors.crime import (
    ACCOUNT_TAKEOVER,
    AUTHORISED_PUSH,
    CARD_TESTING,
    COLLECT_SCAM,
    FRAUDSTER,
    MULE,
    QR_MERCHANT,
    Act,
    Crime,
    Forwarding,
)
from upisim.actors.errors import ScenarioError
from upisim.actors.methods import CREDIT_CARD, UPI_COLLECT, UPI_PUSH
from upisim.actors.types import MINUTE, SECOND, Address, Vpa
from upisim.actors.user import User
from upisim.scenarios.sections import Amount, _Strict

if TYPE_CHECKING:
    from upisim.scenarios.config import Scenario
    from upisim.scenarios.people import Openings

RESEARCH = 1_000  # the research preset's rates: a thousand times reality's
PATTERNS = ("fan_out", "chain", "cycle", "scatter_gather")


class TypologyConfig(_Strict):
    """A typology's rate and its cases' size; each typology below has its own defaults."""

    per_100k: float = Field(default=0.1, ge=0, le=100_000, description="cases per 100,000 payments")
    cases: int | None = Field(default=None, ge=0, le=1_000_000, description="exactly so many")
    amount_median: Amount = 5_000_00
    amount_sigma: float = Field(default=0.8, ge=0, le=3)
    payments: tuple[int, int] = Field(default=(1, 3), description="payments per case: min, max")


class CollectScamConfig(TypologyConfig):
    per_100k: float = Field(default=0.2, ge=0, le=100_000)
    amount_median: Amount = 3_000_00
    payments: tuple[int, int] = (10, 30)  # strangers asked
    approve: float = Field(default=0.1, ge=0, le=1, description="share of victims who approve")


class AuthorisedPushConfig(TypologyConfig):
    per_100k: float = Field(default=0.4, ge=0, le=100_000)
    amount_median: Amount = 8_000_00


class TakeoverConfig(TypologyConfig):
    per_100k: float = Field(default=0.2, ge=0, le=100_000)
    amount_median: Amount = 10_000_00
    payments: tuple[int, int] = (3, 8)
    wrong_pins: int = Field(default=2, ge=0, le=10, description="most wrong PINs tried first")


class QrMerchantConfig(TypologyConfig):
    amount_median: Amount = 300_00
    payments: tuple[int, int] = (10, 40)  # payers who scan the fake code


class CardTestingConfig(TypologyConfig):
    payments: tuple[int, int] = (5, 15)  # tiny tests before two real charges


class MuleNetworkConfig(_Strict):
    mules: tuple[int, int] = Field(default=(3, 6), description="mules per network: min, max")

    @field_validator("mules")
    @classmethod
    def _three_at_least(cls, mules: tuple[int, int]) -> tuple[int, int]:
        if not 3 <= mules[0] <= mules[1]:
            raise ValueError("a network needs at least 3 mules, and min <= max")
        return mules

    thefts_per_network: int = Field(default=3, ge=1, description="fan-in: thefts into one")
    share: float = Field(default=0.9, gt=0, le=1, description="of each credit a mule passes on")
    delay_s: float = Field(default=300, gt=0, le=86_400, description="median time it takes")


class FraudTypologiesConfig(_Strict):
    preset: Literal["real", "research"] = "real"
    notice: float = Field(
        default=0.3, ge=0, le=1, description="victims who notice a stolen payment and stop"
    )
    report: float = Field(
        default=0.5, ge=0, le=1, description="of those who notice, those who report it"
    )
    report_minutes: float = Field(
        default=30, gt=0, le=24 * 60, description="about how long after they report it"
    )
    collect_scam: CollectScamConfig = Field(default_factory=CollectScamConfig)
    authorised_push: AuthorisedPushConfig = Field(default_factory=AuthorisedPushConfig)
    account_takeover: TakeoverConfig = Field(default_factory=TakeoverConfig)
    qr_merchant: QrMerchantConfig = Field(default_factory=QrMerchantConfig)
    card_testing: CardTestingConfig = Field(default_factory=CardTestingConfig)
    mule_network: MuleNetworkConfig = Field(default_factory=MuleNetworkConfig)


def expected_payments(scenario: Scenario) -> float:
    """Payments the load offers over the run: its rate integrated over its profile."""
    load, end = scenario.load, scenario.duration_s
    edges = sorted({0.0, end, *(float(p.at_s) for p in load.profile if p.at_s < end)})
    return sum(load.rate_at(int(a * 1000)) * (b - a) for a, b in pairwise(edges))


def plan_crimes(
    scenario: Scenario,
    seed: int,
    people: Openings,
    server_of: Mapping[Vpa, Address],
    cohorts: int,
) -> list[Crime]:
    """Each cohort's part of the run's fraud (``server_of``: each user's app server; only the
    generated population is cast, never a listed user); no section: nobody commits any."""
    config = scenario.fraud_typologies
    if config is None:
        return [Crime() for _ in range(cohorts)]
    return _Planner(scenario, config, seed, people, server_of, cohorts).plan()


class _Planner:
    def __init__(
        self,
        scenario: Scenario,
        config: FraudTypologiesConfig,
        seed: int,
        people: Openings,
        server_of: Mapping[Vpa, Address],
        cohorts: int,
    ) -> None:
        self.scenario, self.config, self.cohorts = scenario, config, cohorts
        self.server_of = server_of
        self.cohort_at = {addresses.users(i): i for i in range(cohorts)}
        self.r = random.Random(derive_seed(seed, "fraud_typologies"))
        self.counts = np.random.Generator(np.random.PCG64(derive_seed(seed, "fraud_cases")))
        self.people = people
        self.balance: dict[Vpa, int] = {}  # each user cast, their opening balance
        self.used: set[Vpa] = set()  # a user plays one part, at most
        self.acts: list[list[tuple[int, Act]]] = [[] for _ in range(cohorts)]
        self.mules: list[dict[Vpa, Forwarding]] = [{} for _ in range(cohorts)]
        self.scams: list[dict[tuple[Vpa, Vpa], tuple[int, float]]] = [{} for _ in range(cohorts)]
        self.case = 0
        self.network: list[Vpa] = []  # the open network's entry mules
        self.into_network = 0

    def plan(self) -> list[Crime]:
        c, expected = self.config, expected_payments(self.scenario)
        scale = RESEARCH if c.preset == "research" else 1
        end = self.scenario.duration_ms
        for name, typology in (
            (COLLECT_SCAM, c.collect_scam),
            (AUTHORISED_PUSH, c.authorised_push),
            (ACCOUNT_TAKEOVER, c.account_takeover),
            (QR_MERCHANT, c.qr_merchant),
            (CARD_TESTING, c.card_testing),
        ):
            n = typology.cases
            if n is None:
                n = int(self.counts.poisson(typology.per_100k * scale * expected / 100_000))
            for _ in range(n):
                getattr(self, f"_{name}")(typology, self.r.uniform(0, end))
        report_ms = round(c.report_minutes * 60_000)
        return [
            Crime(
                tuple(sorted(self.acts[i])),
                self.mules[i],
                self.scams[i],
                end,
                c.notice,
                c.report,
                report_ms,
            )
            for i in range(self.cohorts)
        ]

    # -- the parts ------------------------------------------------------------------------

    def _pick(self, what: str, merchant: bool | None = None, card: bool = False) -> User:
        """A user nobody has cast yet (a merchant, or one with a credit card, if asked)."""
        first = len(self.scenario.users)  # the listed users play themselves only
        for _ in range(200):
            if first >= len(self.people):
                break
            at = self.r.randrange(first, len(self.people))
            user, limit = self.people.users[at], int(self.people.card_limit[at])
            if user.vpa in self.used or (merchant is not None and user.merchant != merchant):
                continue
            if card and not limit:
                continue
            self.used.add(user.vpa)
            self.balance[user.vpa] = int(self.people.balance[at])
            return user
        need = "merchants (population.merchant_share)" if merchant else "users"
        if card:
            need = "credit-card holders (population.card_share)"
        raise ScenarioError(
            f"fraud_typologies: not enough {need} to cast a {what}; grow the population or "
            f"lower fraud_typologies rates"
        )

    def _cohort(self, vpa: Vpa) -> int:
        return self.cohort_at[self.server_of[vpa]]

    def _act(self, at: float, act: Act) -> None:
        if at < self.scenario.duration_ms:  # the day's load is over: so is its crime
            self.acts[self._cohort(act.actor)].append((int(at), act))

    def _amounts(self, t: TypologyConfig, n: int) -> list[int]:
        mu = math.log(t.amount_median / 100)
        return [max(1, round(self.r.lognormvariate(mu, t.amount_sigma))) * 100 for _ in range(n)]

    def _count(self, t: TypologyConfig) -> int:
        low, high = t.payments
        return self.r.randint(low, max(low, high))

    def _entry(self) -> Vpa:
        """The mule a theft pays: the open network's, a new network every few thefts."""
        m = self.config.mule_network
        if not self.network or self.into_network >= m.thefts_per_network:
            self.network = self._network()
            self.into_network = 0
        self.into_network += 1
        return self.network[0]

    def _network(self, head: User | None = None) -> list[Vpa]:
        """A new mule network laundering into cash-out accounts; ``head`` (a fake merchant)
        is its first hop, else a new mule. Returns its mules, entry first."""
        m, r = self.config.mule_network, self.r
        self.case += 1
        case, pattern = self.case, r.choice(PATTERNS)
        size = r.randint(*m.mules)
        chain = [head or self._pick("mule", merchant=False)]
        chain += [self._pick("mule", merchant=False) for _ in range(size - 1)]
        cash = [self._pick("cash-out account", merchant=False) for _ in range(2)]
        delay = round(m.delay_s * SECOND)
        hops: dict[Vpa, tuple[list[Vpa], list[bool]]] = {}
        vpas = [u.vpa for u in chain]
        outs = [u.vpa for u in cash]
        if pattern == "fan_out":  # the entry scatters to every other mule, each cashes out
            hops[vpas[0]] = (vpas[1:], [False] * (size - 1))
            for v in vpas[1:]:
                hops[v] = ([outs[0]], [True])
        elif pattern == "scatter_gather":  # scatter over the middle, gather at the last
            middle, last = vpas[1:-1], vpas[-1]
            hops[vpas[0]] = (middle, [False] * len(middle))
            for v in middle:
                hops[v] = ([last], [False])
            hops[last] = (outs, [True] * len(outs))
        else:  # chain: hop by hop to a cash-out; cycle: round the ring, a share out each time
            for a, b in pairwise(vpas):
                hops[a] = ([b], [False])
            last_hop = ([vpas[0], outs[0]], [False, True]) if pattern == "cycle" else None
            hops[vpas[-1]] = last_hop or ([outs[0]], [True])
        for vpa, (to, cash_out) in hops.items():
            self.mules[self._cohort(vpa)][vpa] = Forwarding(
                case, pattern, tuple(to), tuple(cash_out), m.share, delay
            )
        return vpas

    # -- the typologies -------------------------------------------------------------------

    def _collect_scam(self, t: CollectScamConfig, at: float) -> None:
        """A fraudster posing as a merchant asks strangers for money; it called them first."""
        self.case += 1
        case = self.case
        fraudster = self._pick("collect-scam fraudster", merchant=True)
        self._network(fraudster)
        for i, amount in enumerate(self._amounts(t, self._count(t))):
            victim = self._pick("collect-scam victim", merchant=False)
            self.scams[self._cohort(victim.vpa)][victim.vpa, fraudster.vpa] = (case, t.approve)
            act = Act(case, COLLECT_SCAM, fraudster.vpa, victim.vpa, FRAUDSTER, amount, UPI_COLLECT)
            self._act(at + i * self.r.uniform(20, 120) * SECOND, act)

    def _authorised_push(self, t: TypologyConfig, at: float) -> None:
        """Talked into it (a fake KYC call, a "mistaken credit"): the victim pushes to a mule."""
        self.case += 1
        case = self.case
        victim, mule = self._pick("victim", merchant=False), self._entry()
        for i, amount in enumerate(self._amounts(t, self._count(t))):
            pay = Act(case, AUTHORISED_PUSH, victim.vpa, mule, MULE, amount, UPI_PUSH)
            self._act(at + i * self.r.uniform(2, 15) * MINUTE, pay)

    def _account_takeover(self, t: TakeoverConfig, at: float) -> None:
        """A SIM swap: wrong PINs maybe, then a burst draining the victim's account."""
        self.case += 1
        case = self.case
        victim, mule = self._pick("victim", merchant=False), self._entry()
        n = self._count(t)
        drain = max(100, self.balance[victim.vpa] // max(n, 1) // 100 * 100)
        wrong = self.r.randint(0, t.wrong_pins)
        for i in range(wrong + n):
            amount = min(drain, self._amounts(t, 1)[0])
            act = Act(case, ACCOUNT_TAKEOVER, victim.vpa, mule, MULE, amount, UPI_PUSH, i >= wrong)
            self._act(at + i * self.r.uniform(20, 90) * SECOND, act)

    def _qr_merchant(self, t: TypologyConfig, at: float) -> None:
        """A fake merchant's QR code: many payers each pay it once, a small amount."""
        self.case += 1
        case = self.case
        merchant = self._pick("fake merchant", merchant=True)
        self._network(merchant)
        for i, amount in enumerate(self._amounts(t, self._count(t))):
            payer = self._pick("victim", merchant=False)
            act = Act(case, QR_MERCHANT, payer.vpa, merchant.vpa, FRAUDSTER, amount, UPI_PUSH)
            self._act(at + i * self.r.uniform(10, 60) * SECOND, act)

    def _card_testing(self, t: TypologyConfig, at: float) -> None:
        """A stolen card tried with tiny payments at a fake merchant, then used for real."""
        self.case += 1
        case = self.case
        victim = self._pick("card holder", merchant=False, card=True)
        merchant = self._pick("fake merchant", merchant=True)
        self._network(merchant)
        tests = self._count(t)
        amounts = [self.r.randint(1, 20) * 100 for _ in range(tests)] + self._amounts(t, 2)
        for i, amount in enumerate(amounts):
            act = Act(case, CARD_TESTING, victim.vpa, merchant.vpa, FRAUDSTER, amount, CREDIT_CARD)
            self._act(at + i * self.r.uniform(5, 30) * SECOND, act)
