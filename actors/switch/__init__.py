"""The NPCI switch, in four parts that each read in one sitting.

- :mod:`.machine`: a payment's stages, the one table of allowed moves, its row;
- :mod:`.policy`: response timeouts, retries, who may collect;
- :mod:`.refunds`: which payments to merchants may still be refunded;
- :mod:`.npci`: the :class:`Switch` itself, one handler per message it answers.
"""

from upisim.actors.switch.machine import TERMINAL, TRANSITIONS, Payment, Stage
from upisim.actors.switch.npci import Switch, SwitchLoad
from upisim.actors.switch.policy import CollectRules, RetryPolicy, SwitchTimeouts
from upisim.actors.switch.refunds import RefundBook

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "CollectRules",
    "Payment",
    "RefundBook",
    "RetryPolicy",
    "Stage",
    "Switch",
    "SwitchLoad",
    "SwitchTimeouts",
]
