"""upisim's actors: users, banks, the NPCI switch and the fraud monitor, and what they exchange.

Each actor is a plain logic class (state plus one handler per message, no
threads: test it directly) run inside the one thin Pykka shell,
:class:`~upisim.actors.base.LogicActor` (start it alone and talk to it with
:class:`~upisim.actors.base.Deliver`).
"""

from upisim.actors import addresses
from upisim.actors.bank import Bank, BankLimits, Books
from upisim.actors.base import Deliver, Envelope, Logic, LogicActor, Outbox, derive_seed, envelope
from upisim.actors.errors import AmountError, InvariantError, ScenarioError, UpisimError
from upisim.actors.fraud import FraudMonitor, FraudRules
from upisim.actors.load import Behaviour, Draws
from upisim.actors.money import format_inr, parse_amount
from upisim.actors.records import AccountSpec, pin_block
from upisim.actors.switch import TRANSITIONS, Stage, Switch, SwitchLoad, SwitchTimeouts
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.actors.user import User, UserCohort

__all__ = [
    "TRANSITIONS",
    "AccountSpec",
    "Address",
    "AmountError",
    "Bank",
    "BankCode",
    "BankLimits",
    "Behaviour",
    "Books",
    "Deliver",
    "Draws",
    "Envelope",
    "FraudMonitor",
    "FraudRules",
    "InvariantError",
    "Logic",
    "LogicActor",
    "Outbox",
    "Paise",
    "ScenarioError",
    "SimTime",
    "Stage",
    "Switch",
    "SwitchLoad",
    "SwitchTimeouts",
    "TxnId",
    "UpisimError",
    "User",
    "UserCohort",
    "Vpa",
    "addresses",
    "derive_seed",
    "envelope",
    "format_inr",
    "parse_amount",
    "pin_block",
]
