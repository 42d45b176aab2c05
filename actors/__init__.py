"""upisim's actors: users, banks, the NPCI switch and the fraud monitor, and what they exchange.

Each actor is a plain logic class (state plus one handler per message, no
threads: test it directly) wrapped by a thin Pykka actor (start it alone and
talk to it with :class:`~actors.base.Deliver`).
"""

from upisim.actors.bank import AccountSpec, Bank, BankActor, BankLimits, pin_block
from upisim.actors.base import Deliver, Envelope, Logic, LogicActor, Outbox, derive_seed, envelope
from upisim.actors.errors import AmountError, InvariantError, ScenarioError, UpisimError
from upisim.actors.fraud import FraudMonitor, FraudMonitorActor, FraudRules
from upisim.actors.money import format_inr, parse_amount
from upisim.actors.records import TRANSACTION_COLUMNS
from upisim.actors.switch import (
    TRANSITIONS,
    NpciSwitch,
    Stage,
    Switch,
    SwitchTimeouts,
)
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.actors.user import Behaviour, User, UserActor, UserCohort

__all__ = [
    "TRANSACTION_COLUMNS",
    "TRANSITIONS",
    "AccountSpec",
    "Address",
    "AmountError",
    "Bank",
    "BankActor",
    "BankCode",
    "BankLimits",
    "Behaviour",
    "Deliver",
    "Envelope",
    "FraudMonitor",
    "FraudMonitorActor",
    "FraudRules",
    "InvariantError",
    "Logic",
    "LogicActor",
    "NpciSwitch",
    "Outbox",
    "Paise",
    "ScenarioError",
    "SimTime",
    "Stage",
    "Switch",
    "SwitchTimeouts",
    "TxnId",
    "UpisimError",
    "User",
    "UserActor",
    "UserCohort",
    "Vpa",
    "derive_seed",
    "envelope",
    "format_inr",
    "parse_amount",
    "pin_block",
]
