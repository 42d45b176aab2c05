"""The ``[calibration]`` section: published figures a run should match, and the run's own
figures read back from its tables (transactions and accounts), compared with them.

Each target is a figure NPCI (or anyone) published: the average ticket, the P2M
share, payments per user per day, each payer app's share, and each remitter
bank's approved, business-declined and technically-declined shares. A figure
given as a number is matched within ``tolerance`` (relative); a figure given as
``[low, high]`` (a published range) is matched when the run lands inside it.

A remitter bank's technical declines are those its own side caused: the debit
failed or timed out, it was unavailable, or its net debit cap was reached. A
credit that failed at the beneficiary counts against the beneficiary bank,
and a payment the payer's app or the switch throttled against neither, as in
NPCI's remitter and beneficiary tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field, model_validator

from upisim.actors import codes
from upisim.runfolder import Kind, State
from upisim.scenarios.sections import Amount, _Strict

if TYPE_CHECKING:
    from upisim.scenarios.config import Scenario

Share = Annotated[float, Field(ge=0, le=1)]
Target = Share | tuple[Share, Share]
"""A share: one figure, or a published range ``[low, high]``."""

#: Response codes of technical declines the remitter bank's side caused.
REMITTER_SIDE = frozenset({"U30", "U67", "U28", "UT", "U03", "RR", "96"})
#: ... and the beneficiary bank's (a RET is a credit that never happened).
BENEFICIARY_SIDE = frozenset({"U31", "U68", "BT", "RB"})
_APPROVED = sorted({State.SUCCESS, State.DEEMED})  # a deemed payment counts as approved


class BankTargets(_Strict):
    approved: Target | None = None
    business_declines: Target | None = None
    technical_declines: Target | None = None


class CalibrationConfig(_Strict):
    source: str = Field(default="", description="where the figures come from (release, month)")
    tolerance: float = Field(default=0.05, gt=0, le=1, description="relative, for one figure")
    average_ticket: Amount | None = Field(default=None, description="value / volume, approved")
    p2m_share: Target | None = Field(default=None, description="of approved payments")
    payments_per_user_day: float | None = Field(default=None, gt=0)
    apps: dict[str, Target] = Field(default_factory=dict, description="app -> share of payments")
    banks: dict[str, BankTargets] = Field(
        default_factory=dict, description="remitter bank -> its shares of its payments"
    )
    approved: tuple[Share, Share] | None = Field(
        default=None, description="published range, every remitter bank"
    )
    business_declines: tuple[Share, Share] | None = Field(
        default=None, description="published range, every remitter bank"
    )
    technical_declines: tuple[Share, Share] | None = Field(
        default=None, description="published range, every remitter bank"
    )

    @model_validator(mode="after")
    def _ranges(self) -> CalibrationConfig:
        for key in ("approved", "business_declines", "technical_declines"):
            span = getattr(self, key)
            if span is not None and span[0] > span[1]:
                raise ValueError(f"{key}: the range [{span[0]}, {span[1]}] is upside down")
        return self


def check_calibration(scenario: Scenario) -> None:
    """Targets name the scenario's own banks and apps."""
    cal = scenario.calibration
    if cal is None:
        return
    banks = [b.code for b in scenario.banks]
    for code in cal.banks:
        if code not in banks:
            raise ValueError(f"calibration.banks: {code!r} is not one of the banks {banks}")
    apps = [a.name for a in scenario.apps]
    for name in cal.apps:
        if name not in apps:
            raise ValueError(f"calibration.apps: {name!r} is not one of the apps {apps}")


def measure(folder: Path, scenario: Scenario) -> dict[str, float]:
    """The run's figures, from its transactions and accounts tables: ``average_ticket_inr``,
    ``p2m_share``, ``payments_per_user_day``, ``app.NAME``, and per remitter bank
    ``bank.CODE.approved``, ``.business_declines`` and ``.technical_declines``."""
    tx = pq.read_table(
        folder / "transactions.parquet",
        columns=[
            *("kind", "state", "payer_vpa", "payee_vpa", "payer_bank", "amount_paise"),
            *("response_code", "decline_type"),
        ],
    )
    tx = tx.filter(pc.not_equal(tx["kind"], Kind.REFUND))  # a refund gives a payment back
    accounts = pq.read_table(folder / "accounts.parquet", columns=["vpa", "merchant"])
    shops = accounts.filter(accounts["merchant"])["vpa"]
    figures: dict[str, float] = {}
    approved = tx.filter(pc.is_in(tx["state"], pa.array(_APPROVED)))
    n_ok = approved.num_rows
    figures["average_ticket_inr"] = (
        (pc.sum(approved["amount_paise"]).as_py() or 0) / n_ok / 100 if n_ok else 0.0
    )
    to_shops = pc.sum(pc.is_in(approved["payee_vpa"], shops)).as_py() or 0
    figures["p2m_share"] = to_shops / n_ok if n_ok else 0.0
    days = scenario.duration_s / 86_400
    figures["payments_per_user_day"] = tx.num_rows / max(accounts.num_rows, 1) / days
    if scenario.apps:
        handles = pc.list_element(pc.split_pattern(tx["payer_vpa"], "@"), 1)
        counts = {r["values"]: r["counts"] for r in pc.value_counts(handles).to_pylist()}
        for app in scenario.apps:
            on_app = sum(counts.get(h, 0) for h in app.handles)
            figures[f"app.{app.name}"] = on_app / tx.num_rows if tx.num_rows else 0.0
    for bank in scenario.banks:
        mine = tx.filter(pc.equal(tx["payer_bank"], bank.code))
        n = mine.num_rows
        if not n:
            continue
        ok = pc.sum(pc.is_in(mine["state"], pa.array(_APPROVED))).as_py() or 0
        bd = pc.sum(pc.equal(mine["decline_type"], codes.BD)).as_py() or 0
        td = mine.filter(pc.equal(mine["decline_type"], codes.TD))
        own = pc.sum(pc.is_in(td["response_code"], pa.array(sorted(REMITTER_SIDE)))).as_py()
        figures[f"bank.{bank.code}.approved"] = ok / n
        figures[f"bank.{bank.code}.business_declines"] = bd / n
        figures[f"bank.{bank.code}.technical_declines"] = (own or 0) / n
    return figures


def _targets(cal: CalibrationConfig, scenario: Scenario) -> list[tuple[str, Target]]:
    """(figure, target) for every figure the section names, in a fixed order."""
    out: list[tuple[str, Target]] = []
    if cal.average_ticket is not None:
        out.append(("average_ticket_inr", cal.average_ticket / 100))
    if cal.p2m_share is not None:
        out.append(("p2m_share", cal.p2m_share))
    if cal.payments_per_user_day is not None:
        out.append(("payments_per_user_day", cal.payments_per_user_day))
    out += [(f"app.{name}", share) for name, share in cal.apps.items()]
    for bank in scenario.banks:
        own = cal.banks.get(bank.code) or BankTargets()
        for key in ("approved", "business_declines", "technical_declines"):
            target = getattr(own, key)
            published = getattr(cal, key, None)
            if target is not None:
                out.append((f"bank.{bank.code}.{key}", target))
            elif published is not None:
                out.append((f"bank.{bank.code}.{key}", published))
    return out


def compare(figures: dict[str, float], scenario: Scenario) -> dict[str, Any] | None:
    """summary.json's ``calibration``: each target, the run's figure, the difference and
    whether it is within; None when the scenario declares no targets."""
    cal = scenario.calibration
    if cal is None:
        return None
    rows: dict[str, dict[str, Any]] = {}
    for name, target in _targets(cal, scenario):
        run = figures.get(name, 0.0)
        row: dict[str, Any] = {"run": round(run, 6)}
        # Per bank, the published point figure is shown, the published range judges it.
        judge: Target = target
        if name.startswith("bank.") and not name.endswith(".approved"):
            span = getattr(cal, name.rsplit(".", 1)[1])
            if span is not None and not isinstance(target, tuple):
                judge = span
        if isinstance(target, tuple):
            row["low"], row["high"] = target
        else:
            row["target"] = target
            row["difference"] = round((run - target) / target, 6) if target else 0.0
        if isinstance(judge, tuple):
            row["within"] = judge[0] <= run <= judge[1]
            row["range"] = list(judge)
        else:
            row["within"] = abs(run - judge) <= cal.tolerance * judge
        rows[name] = row
    return {
        "source": cal.source,
        "tolerance": cal.tolerance,
        "figures": rows,
        "within": sum(r["within"] for r in rows.values()),
        "targets": len(rows),
        "ok": all(r["within"] for r in rows.values()),
    }
