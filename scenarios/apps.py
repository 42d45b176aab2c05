"""The ``[[apps]]`` section: payer PSP apps (PhonePe, Google Pay, Paytm...), each an app
server (one or more user cohorts) with its own handles, latency and rate limits.

Without apps, users are dealt to ``cohorts`` anonymous app servers in turn and
take their bank's handle. With apps, each generated user picks an app by its
``share`` and one of its handles (``asha.rao12@ybl``); a listed user joins the
app that owns their VPA's handle. The transactions table shows the app in the
payer's VPA, so app shares are read back from the table itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from upisim.actors import addresses
from upisim.actors.app import RateLimits
from upisim.scenarios.sections import RateLimitConfig, _Strict

if TYPE_CHECKING:
    from upisim.scenarios.config import Scenario

HANDLE = r"^[a-z][a-z0-9.]{1,31}$"  # as a bank's handle


class AppConfig(_Strict):
    name: str = Field(min_length=1, max_length=40, description="PhonePe, Google Pay, ...")
    handles: list[Annotated[str, Field(pattern=HANDLE)]] = Field(
        min_length=1, description="its VPA handles (PhonePe: ybl, ibl, axl)"
    )
    share: float = Field(gt=0, description="weight: share of users on this app")
    servers: int = Field(default=1, ge=1, le=64, description="app server actors (cohorts)")
    latency_ms: int | None = Field(
        default=None, ge=1, description="its servers <-> the switch, one way (network default)"
    )
    rate_limits: RateLimitConfig | None = Field(
        default=None, description="its own per-user limits (default: [rate_limits])"
    )


def check_apps(scenario: Scenario) -> None:
    """Apps against the rest of the scenario: unique names and handles, not a bank's handle,
    no ``cohorts`` beside them, and every listed user on an app's handle."""
    apps = scenario.apps
    if not apps:
        return
    if scenario.cohorts is not None:
        raise ValueError(
            "cohorts: with [[apps]] each app has its own servers (apps[*].servers); "
            "leave cohorts out"
        )
    names = [a.name for a in apps]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"apps: the name {twice[0]!r} appears twice; app names must be unique")
    owner: dict[str, str] = {}
    banks = {b.handle: b.code for b in scenario.banks}
    for i, app in enumerate(apps):
        for handle in app.handles:
            if handle in owner:
                raise ValueError(
                    f"apps[{i}].handles: {handle!r} is already {owner[handle]}'s handle"
                )
            if handle in banks:
                raise ValueError(
                    f"apps[{i}].handles: {handle!r} is bank {banks[handle]}'s handle too; "
                    f"give the bank another (banks[*].handle)"
                )
            owner[handle] = app.name
    for i, user in enumerate(scenario.users):
        handle = user.vpa.rsplit("@", 1)[1]
        if handle not in owner:
            raise ValueError(
                f"users[{i}].vpa: {user.vpa!r}: with [[apps]], a listed user's handle must be "
                f"an app's (handles: {', '.join(sorted(owner))})"
            )


def app_of_handle(scenario: Scenario) -> dict[str, int]:
    """handle -> index of its app in ``scenario.apps``."""
    return {h: i for i, app in enumerate(scenario.apps) for h in app.handles}


def first_servers(scenario: Scenario) -> list[int]:
    """Each app's first cohort index: app ``i`` runs cohorts first[i] .. first[i] + servers."""
    first, n = [], 0
    for app in scenario.apps:
        first.append(n)
        n += app.servers
    return first


def server_apps(scenario: Scenario) -> list[AppConfig]:
    """The app each cohort serves, by cohort index (empty without apps)."""
    return [app for app in scenario.apps for _ in range(app.servers)]


def cohort_rate_limits(scenario: Scenario, n_cohorts: int) -> list[RateLimits]:
    """Each cohort's per-user rate limits: its app's own, or the scenario's."""
    default = scenario.rate_limits
    apps: Sequence[AppConfig | None] = server_apps(scenario) or [None] * n_cohorts
    out = []
    for app in apps:
        cfg = default if app is None or app.rate_limits is None else app.rate_limits
        out.append(RateLimits(cfg.per_minute, cfg.per_hour))
    return out


def app_latencies(scenario: Scenario) -> dict[str, int]:
    """Each app server's address -> its one-way latency to the switch (ms), where set."""
    return {
        addresses.users(i): app.latency_ms
        for i, app in enumerate(server_apps(scenario))
        if app.latency_ms is not None
    }


def slowest_app_ms(scenario: Scenario) -> int:
    """The slowest app server's one-way latency to the switch (ms)."""
    net = scenario.network.psp_switch_ms
    return max([net, *(a.latency_ms for a in scenario.apps if a.latency_ms is not None)])
