"""upisim's actors: users, banks, the NPCI switch and the fraud monitor, and what they exchange.

Each actor is a plain logic class (state plus one handler per message, no
threads: test it directly) wrapped by a thin Pykka actor (start it alone and
talk to it with :class:`~actors.base.Deliver`).
"""

from actors.bank import AccountSpec, Bank, BankActor, BankLimits, pin_block
from actors.base import Deliver, Envelope, Logic, LogicActor, Outbox, derive_seed, envelope
from actors.errors import AmountError, InvariantError, ScenarioError, UpisimError
from actors.fraud import FraudMonitor, FraudMonitorActor, FraudRules
from actors.money import format_inr, parse_amount
from actors.records import TRANSACTION_COLUMNS
from actors.switch import (
    TRANSITIONS,
    NpciSwitch,
    Stage,
    Switch,
    SwitchTimeouts,
)
from actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from actors.user import Behaviour, User, UserActor, UserCohort

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
