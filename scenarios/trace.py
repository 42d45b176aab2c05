"""``[trace]``: every message of a sample of payments, as the network carried it.

The tracer watches the delivery loop from outside the actors: it notes each
traced message as its sender's outbox is routed (when it left, after any
queueing at the sender) and again as its window delivers it (when its recipient
handled it). A message that was sent and never delivered (lost to a fault or a
crash, or still in flight at the end) gets a row without a delivery time.
Nothing an actor does depends on it, so a traced run's other tables are the
untraced run's, byte for byte; with ``[trace]`` off the loop never calls it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import Field

from upisim.actors.base import Envelope
from upisim.actors.methods import UPI_PUSH
from upisim.runfolder import TraceRow
from upisim.scenarios.sections import _Strict

# the fields a trace row's ``detail`` shows, when a message has them and they say something
_DETAIL = (
    "leg",
    "result",
    "decision",
    "rules",
    "reason",
    "vpa",
    "collect_from",
    "kind",
    "method",
    "posted",
    "undone",
    "risk",
    "for_payee",
    "refund_of",
)


class TraceConfig(_Strict):
    """Which payments to trace: a share of all of them (picked by their id, so the same
    ones at every run of a seed) and any named ones."""

    share: float = Field(default=0.0, ge=0, le=1, description="of payments, picked by id")
    txn_ids: list[str] = Field(default_factory=list, description="payments to trace by id")

    @property
    def on(self) -> bool:
        return self.share > 0 or bool(self.txn_ids)


def picker(config: TraceConfig) -> Callable[[str], bool]:
    """Is this payment traced? A share is judged on a CRC of the id (never ``hash()``)."""
    named = frozenset(config.txn_ids)
    cut = round(config.share * 2**32)
    return lambda txn_id: txn_id in named or zlib.crc32(txn_id.encode()) < cut


def describe(message: Any) -> tuple[str, str, int | None]:
    """A message's NPCI code, the rest of what it says, and its amount (paise)."""
    fields = getattr(message, "_fields", ())
    code = getattr(message, "code", "")
    said = []
    for name in _DETAIL:
        if name not in fields:
            continue
        value = getattr(message, name)
        if not value or (name == "method" and value == UPI_PUSH):
            continue
        if isinstance(value, tuple):
            value = ",".join(map(str, value))
        said.append(f"{name}={value}")
    amount = getattr(message, "amount", None) or None  # (0: a field it does not use)
    return (code if isinstance(code, str) else ""), " ".join(said), amount


class Tracer:
    """Trace rows of the payments ``traced`` picks, handed to ``write`` as they complete."""

    def __init__(self, traced: Callable[[str], bool], write: Callable[[TraceRow], None]) -> None:
        self._traced = traced
        self._write = write
        self._picked: dict[str, bool] = {}
        # (sender, seq, recipient) -> (txn_id, sent at, message): every traced message sent
        self._sent: dict[tuple[str, int, str], tuple[str, int, Any]] = {}
        self._delivered: set[tuple[str, int, str]] = set()

    def _txn(self, message: Any) -> str | None:
        txn_id = getattr(message, "txn_id", None)
        if not isinstance(txn_id, str) or not txn_id:
            return None
        picked = self._picked.get(txn_id)
        if picked is None:
            picked = self._picked[txn_id] = self._traced(txn_id)
        return txn_id if picked else None

    def sent(self, sender: str, sends: Iterable[Envelope], latency: Mapping[str, int]) -> None:
        """What ``sender`` sent in a window (each envelope stamped with its link latency)."""
        for at, _sender, seq, to, message in sends:
            txn_id = self._txn(message)
            if txn_id is not None:
                self._sent[sender, seq, to] = (txn_id, at - latency.get(to, 0), message)

    def delivered(self, by_to: Mapping[str, list[Envelope]]) -> None:
        """What a window delivers, by recipient, in the order each recipient handles it."""
        for to, envs in by_to.items():
            for at, sender, seq, _to, _message in envs:
                key = (sender, seq, to)
                sent = self._sent.get(key)
                if sent is None:
                    continue
                self._delivered.add(key)  # a duplicate copy is delivered again: a row again
                self._write(self._row(key, sent, at))

    def _row(
        self, key: tuple[str, int, str], sent: tuple[str, int, Any], at: int | None
    ) -> TraceRow:
        sender, seq, to = key
        txn_id, t_sent, message = sent
        code, detail, amount = describe(message)
        kind = type(message).__name__
        return TraceRow(txn_id, t_sent, at, sender, to, seq, kind, code, detail, amount)

    def close(self) -> None:
        """A row for each traced message that was sent and never delivered."""
        for key, sent in self._sent.items():
            if key not in self._delivered:
                self._write(self._row(key, sent, None))
        self._sent.clear()
