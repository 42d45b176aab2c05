"""The ``[faults]`` section: what goes wrong, when, and where (see docs/scenarios.md).

Faults that drop (outages, loss), delay (slow links, replays), stop (crashes) and, at
a bank's core banking, slow rather than drop (slow windows, offline windows, capacity
cuts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, StrictBool, model_validator

from upisim.actors import addresses as a
from upisim.actors.capacity import (
    LOOKUP_OP,
    OPS,
    REQUEST_OP,
    Capacity,
    CoreFaults,
    Service,
    Window,
)
from upisim.scenarios.sections import CoreConfig, PspCoreConfig, SwitchCoreConfig, _Strict


class WindowConfig(_Strict):
    from_s: float = Field(ge=0)
    to_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _check(self) -> WindowConfig:
        if self.to_s <= self.from_s:
            raise ValueError("to_s must be after from_s")
        return self


class OutageConfig(WindowConfig):
    bank: str
    lose: Literal["both", "requests", "replies"] = Field(
        default="both", description="replies: requests arrive, answers are lost"
    )


class DelayConfig(WindowConfig):
    bank: str
    extra_ms: int = Field(ge=1, le=600_000, description="added to every message to or from it")


class CrashConfig(_Strict):
    actor: str = Field(
        pattern=rf"^({a.SWITCH}|{a.FRAUD}|{a.BANK_KIND}:[A-Z][A-Z0-9]{{1,7}}|{a.USERS_KIND}:[0-9]+)$",
        description=f"{a.SWITCH}, {a.FRAUD}, {a.bank('SBI')} or {a.users(0)} (an app server)",
    )
    at_s: float = Field(ge=0, description="when it crashes")
    down_s: float = Field(gt=0, le=86_400, description="when it comes back (restart policy)")
    point: Literal["before_commit", "after_commit"] = Field(
        default="before_commit",
        description="before_commit: what it was handling is lost; after_commit: kept, unanswered",
    )


class CoreSlowConfig(WindowConfig):
    bank: str
    factor: float = Field(ge=1, le=1_000, description="service times x this")


class CoreOfflineConfig(WindowConfig):
    bank: str


class CoreCutConfig(WindowConfig):
    bank: str
    workers: int = Field(ge=1, le=1_000_000, description="workers left in service")


class FaultsConfig(_Strict):
    loss_rate: float = Field(
        default=0.0, ge=0, le=0.3, description="messages lost behind the switch"
    )
    app_loss_rate: float = Field(
        default=0.0,
        ge=0,
        le=0.3,
        description="messages lost between the apps and the switch (apps check status)",
    )
    duplicate_rate: float = Field(
        default=0.0, ge=0, le=0.5, description="messages delivered twice, on every link"
    )
    replay_max_ms: int = Field(
        default=5_000, ge=1, le=60_000, description="a copy comes up to this much later"
    )
    outages: list[OutageConfig] = Field(default_factory=list)
    fraud_down: list[WindowConfig] = Field(
        default_factory=list, description="the fraud monitor unreachable: the switch fails open"
    )
    delays: list[DelayConfig] = Field(default_factory=list, description="slow links to a bank")
    core_slow: list[CoreSlowConfig] = Field(
        default_factory=list, description="a bank's core banking slower by a factor"
    )
    core_offline: list[CoreOfflineConfig] = Field(
        default_factory=list, description="reachable, refusing payments (XY/Y1)"
    )
    core_cuts: list[CoreCutConfig] = Field(
        default_factory=list, description="a bank's core banking with fewer workers"
    )
    crashes: list[CrashConfig] = Field(
        default_factory=list, description="an actor crashes, then restarts from its journal"
    )
    heal_after_load: StrictBool = Field(
        default=True, description="no faults once the load stops (drain)"
    )


def capacity_of(bank: str, core: CoreConfig, faults: FaultsConfig, heal_at: int | None) -> Capacity:
    """``bank``'s core banking: its configured pool, and the core faults aimed at it (each
    ending by ``heal_at`` ms, when faults heal after the load)."""

    def windows(items: list[Any], value: Callable[[Any], float]) -> tuple[Window, ...]:
        out = []
        for w in items:
            start, end = round(w.from_s * 1000), round(w.to_s * 1000)
            if heal_at is not None:
                end = min(end, heal_at)
            if w.bank == bank and start < end:
                out.append(Window(start, end, value(w)))
        return tuple(out)

    service = {op: getattr(core, op) for op in OPS}
    return Capacity(
        core.workers,
        {op: Service(s.median_ms, s.spread) for op, s in service.items()},
        core.queue_limit,
        CoreFaults(
            slow=windows(faults.core_slow, lambda w: w.factor),
            offline=windows(faults.core_offline, lambda w: 0.0),
            cuts=windows(faults.core_cuts, lambda w: w.workers),
        ),
    )


def server_capacity(server: SwitchCoreConfig) -> Capacity | None:
    """The switch's or an app server's pool (None: unlimited): it takes requests in, and at
    a PSP looks addresses up too."""
    if server.workers is None:
        return None
    ops = (REQUEST_OP, LOOKUP_OP) if isinstance(server, PspCoreConfig) else (REQUEST_OP,)
    service = {op: getattr(server, op) for op in ops}
    return Capacity(
        server.workers,
        {op: Service(s.median_ms, s.spread) for op, s in service.items()},
        server.queue_limit,
    )


def check_crashes(
    faults: FaultsConfig, duration_s: float, drain_limit_s: int, banks: list[str]
) -> None:
    """Each crash strikes an actor there is, during the load, once at a time, and the
    actor is back before the run must end."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for i, c in enumerate(faults.crashes):
        where = f"faults.crashes[{i}]"
        if a.kind_of(c.actor) == a.BANK_KIND and a.bank_code(c.actor) not in banks:
            raise ValueError(
                f"{where}.actor: {c.actor!r}: no bank {a.bank_code(c.actor)} in {banks}"
            )
        if c.at_s >= duration_s:
            raise ValueError(
                f"{where}.at_s: {c.at_s:g} s is not within the load (duration_s = "
                f"{duration_s:g}): crashes strike while payments run"
            )
        back = c.at_s + c.down_s
        if back >= duration_s + drain_limit_s and not faults.heal_after_load:
            raise ValueError(
                f"{where}.down_s: {c.actor} would come back at {back:g} s, after the load "
                f"and drain_limit_s ({drain_limit_s} s); lower it"
            )
        for start, end in spans.get(c.actor, []):
            if c.at_s < end and start < back:
                raise ValueError(f"{where}: {c.actor} is already down then (crash twice)")
        spans.setdefault(c.actor, []).append((c.at_s, back))
