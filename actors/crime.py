"""Fraud as users commit it: the acts of a fraud case and the mules that launder it.

Fraudsters, mules and victims are ordinary users of the population: the same names,
VPAs, banks and balances, and they go on making their ordinary payments. What makes
them what they are is only what they do, which their cohort (the app side of those
users) plays from a :class:`Crime` plan drawn when the world is built:

- an :class:`Act` is one planned payment of a case, due at a time: a victim pushing to a
  mule (authorised push payment), an attacker draining a victim's account from a taken
  device (account takeover, perhaps after wrong PINs), a payer paying a fake merchant's
  QR code, a compromised card tested with tiny payments, a fake merchant's collect
  request to a stranger;
- a victim of a collect scam approves the fraudster's request more often than a wary
  stranger would (:attr:`Crime.scams`);
- a mule (:class:`Forwarding`) holds what it receives and, minutes after the first of
  it came, passes most of it on in one go, split over its next hops: fan-out, chains,
  cycles and scatter-gather end in cash-out accounts, which keep what reaches them.

Every fraudulent request is labelled when it is sent, by the cohort that sends it, in a
:class:`~upisim.runfolder.FraudTruthRow` of its own table: the label never rides on the
payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from upisim.actors.types import Vpa

# typologies (UPI.md §8, FRAUD.md)
COLLECT_SCAM = "collect_scam"
AUTHORISED_PUSH = "authorised_push"
ACCOUNT_TAKEOVER = "account_takeover"
QR_MERCHANT = "qr_merchant"
CARD_TESTING = "card_testing"
MULE_NETWORK = "mule_network"
TYPOLOGIES = (COLLECT_SCAM, AUTHORISED_PUSH, ACCOUNT_TAKEOVER, QR_MERCHANT, CARD_TESTING)

# roles and stages
VICTIM, FRAUDSTER, MULE, CASH_OUT = "victim", "fraudster", "mule", "cash_out"
THEFT, LAYERING = "theft", "layering"

MIN_FORWARD = 100_00  # paise: a mule does not bother passing on less (a cycle dies out)


class Act(NamedTuple):
    """Timer: one planned payment of a fraud case, by a user hosted in this cohort.

    ``actor`` makes it: the payer of a push, the asker (payee) of a collect request;
    ``other`` is the other party. ``right_pin`` False types a wrong PIN (an attacker
    guessing before the phished PIN works)."""

    case: int
    typology: str
    actor: Vpa
    other: Vpa
    other_role: str  # the actor's role is the typology's: victim, or a collect's fraudster
    amount: int
    method: str
    right_pin: bool = True


class Forward(NamedTuple):
    """Timer: a mule passes on what it holds, split over its next hops."""

    mule: Vpa


@dataclass(frozen=True, slots=True)
class Forwarding:
    """A mule: about ``delay_ms`` after a credit it passes ``share`` of what it received
    since on to ``hops`` (split evenly; a hop that is a cash-out account keeps it)."""

    case: int
    pattern: str
    hops: tuple[Vpa, ...]
    cash_out: tuple[bool, ...]  # per hop: it is a cash-out account
    share: float = 0.9
    delay_ms: int = 5 * 60_000


@dataclass(frozen=True, slots=True)
class Crime:
    """One cohort's part of the run's fraud: the acts its users make and when, the mules
    it hosts, and its users' scam collects they will likely approve."""

    acts: tuple[tuple[int, Act], ...] = ()  # (at ms, act)
    mules: Mapping[Vpa, Forwarding] = field(default_factory=dict)
    # (victim, fraudster) -> (case, how likely the victim approves the fraudster's collect)
    scams: Mapping[tuple[Vpa, Vpa], tuple[int, float]] = field(default_factory=dict)
    until: int = 0  # mules stop passing money on after this (ms): the day is over
