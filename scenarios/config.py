"""Scenario files: TOML, validated whole before anything starts (sections: :mod:`.sections`).

Every mistake names the file, the field and what was expected; unknown keys
are errors. Amounts are written as rupee strings (``"499.99"``) and held as
integer paise; the resolved scenario writes them back the same way.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from upisim.actors.errors import AmountError, ScenarioError
from upisim.actors.methods import DEFAULT_METHODS, UPI_COLLECT
from upisim.actors.money import MAX_MONEY_PAISE, format_inr
from upisim.actors.records import pin_block
from upisim.actors.status import StatusChecks
from upisim.scenarios.apps import AppConfig, check_apps, slowest_app_ms
from upisim.scenarios.calibration import CalibrationConfig, check_calibration
from upisim.scenarios.crime import FraudTypologiesConfig
from upisim.scenarios.explain import did_you_mean, format_errors
from upisim.scenarios.faults import FaultsConfig, check_crashes
from upisim.scenarios.sections import (
    DEFAULT_BANKS,
    MAX_SPAN_S,
    Amount,
    BankConfig,
    CapacityConfig,
    CollectConfig,
    FraudConfig,
    LoadConfig,
    MethodConfig,
    MethodName,
    NetworkConfig,
    NotificationsConfig,
    PopulationConfig,
    PushMethod,
    RateLimitConfig,
    RefundConfig,
    ScriptedPayment,
    SettlementConfig,
    TimeoutsConfig,
    UserConfig,
    _Strict,
)
from upisim.scenarios.trace import TraceConfig

MAX_SEED = 2**63 - 1  # the largest seed (seed or --seed): seeds are 0..2**63-1
STAND_INS = ("0000", "1111")  # a wrong PIN written in place of the one a payment types
_SPREADS = 6  # opening balances are log-normal: six spreads up is one in a billion

__all__ = [
    "MAX_SEED",
    "Amount",
    "BankConfig",
    "MethodName",
    "PushMethod",
    "Scenario",
    "ScriptedPayment",
    "bundled_scenarios",
    "load_scenario",
    "parse_scenario",
    "resolve_path",
    "resolved_dict",
]


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=1, ge=0, le=MAX_SEED)
    duration_s: float = Field(gt=0, le=MAX_SPAN_S, description="simulated seconds of load")
    drain_limit_s: int = Field(
        default=600,
        ge=1,
        le=MAX_SPAN_S,
        description="how long in-flight payments may take after",
    )
    cohorts: int | None = Field(
        default=None, ge=1, le=256, description="user actors (default: auto)"
    )
    banks: list[BankConfig] = Field(default_factory=lambda: list(DEFAULT_BANKS), min_length=1)
    users: list[UserConfig] = Field(default_factory=list)
    population: PopulationConfig | None = None
    load: LoadConfig = Field(default_factory=LoadConfig)
    payments: list[ScriptedPayment] = Field(default_factory=list)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    fraud: FraudConfig = Field(default_factory=FraudConfig)
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)
    collect: CollectConfig = Field(default_factory=CollectConfig)
    faults: FaultsConfig = Field(default_factory=FaultsConfig)
    refunds: RefundConfig = Field(default_factory=RefundConfig)
    settlement: SettlementConfig = Field(default_factory=SettlementConfig)
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)  # the switch's and PSPs'
    fraud_typologies: FraudTypologiesConfig | None = None  # the frauds users commit: off
    apps: list[AppConfig] = Field(default_factory=list, description="payer PSP apps")
    calibration: CalibrationConfig | None = None  # figures to compare the run with
    methods: dict[MethodName, MethodConfig] = Field(
        default_factory=dict, description="method -> changes to its defaults"
    )
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    trace: TraceConfig = Field(default_factory=TraceConfig)  # payments whose messages to keep

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        codes = [b.code for b in self.banks]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"banks: code {dup[0]} appears twice; bank codes must be unique")
        handles = [b.handle for b in self.banks]
        if len(set(handles)) != len(handles):
            raise ValueError("banks: two banks share a handle; handles must be unique")
        vpas: set[str] = set()
        for i, user in enumerate(self.users):
            if user.bank not in codes:
                raise ValueError(f"users[{i}].bank: {user.bank!r} is not one of the banks {codes}")
            if user.vpa in vpas:
                raise ValueError(f"users[{i}].vpa: {user.vpa!r} is used twice")
            vpas.add(user.vpa)
        if self.population is not None:
            for key in ("bank_weights", "banks"):
                for code in getattr(self.population, key):
                    if code not in codes:
                        raise ValueError(
                            f"population.{key}: {code!r} is not one of the banks {codes}"
                        )
        has_merchants = any(u.merchant for u in self.users) or (
            self.population is not None and self.population.merchant_share > 0
        )
        if self.collect.rate_per_s > 0 and self.collect.p2p_share < 1 and not has_merchants:
            raise ValueError(
                "collect.rate_per_s: collect requests need merchants: set "
                "merchant = true on a user or population.merchant_share "
                "(or collect.p2p_share = 1 for people's requests only)"
            )
        if self.load.p2m_share and not has_merchants:
            raise ValueError(
                "load.p2m_share: payments to merchants need merchants: set merchant = true "
                "on a user or population.merchant_share"
            )
        pay_ms = self.timeouts.pay_ms
        scripted = {pay.method for pay in self.payments}
        for name in sorted({*self.load.method_mix, *self.methods, *scripted}):
            cfg = self.methods.get(name) or MethodConfig()
            default = DEFAULT_METHODS[name]
            extra = default.extra_ms if cfg.extra_latency_ms is None else cfg.extra_latency_ms
            spread = default.spread_ms if cfg.latency_spread_ms is None else cfg.latency_spread_ms
            if extra + spread >= pay_ms:
                changed = cfg.extra_latency_ms is not None or cfg.latency_spread_ms is not None
                raise ValueError(
                    f"methods.{name}.extra_latency_ms: {extra} ms + latency_spread_ms "
                    f"{spread} ms{'' if changed else ' (the defaults)'} is not less than "
                    f"timeouts.pay_ms ({pay_ms} ms): such payments would time out"
                )
        self._check_money()
        self._check_drain()
        check_crashes(self.faults, self.duration_s, self.drain_limit_s, codes)
        check_apps(self)
        check_calibration(self)
        for key in ("outages", "delays", "core_slow", "core_offline", "core_cuts"):
            for i, fault in enumerate(getattr(self.faults, key)):
                if fault.bank not in codes:
                    raise ValueError(
                        f"faults.{key}[{i}].bank: {fault.bank!r} is not one of the banks {codes}"
                    )
        n_users = len(self.users) + (self.population.size if self.population else 0)
        if n_users < 2:
            raise ValueError("a scenario needs at least two users: add [[users]] or [population]")
        for i, pay in enumerate(self.payments):
            if pay.method == UPI_COLLECT and pay.pin is not None:
                raise ValueError(
                    f"payments[{i}].pin: a collect request is approved by the payer's own "
                    f"app with their PIN; leave pin out"
                )
            starter, key = (pay.payee, "to") if pay.method == UPI_COLLECT else (pay.payer, "from")
            if starter not in vpas:
                raise ValueError(
                    f"payments[{i}].{key}: {starter!r} is not one of the listed "
                    f"[[users]] (scripted payments start from listed users; a collect "
                    f"request starts from its payee)"
                )
            last = pay.at_ms + (pay.repeat - 1) * pay.every_ms
            if last >= self.duration_s * 1000:
                raise ValueError(
                    f"payments[{i}]: the last one would start at {last} ms, after "
                    f"the end of the load (duration_s = {self.duration_s})"
                )
        return self

    def _check_money(self) -> None:
        """Every balance fits int64 paise on its own (parse_amount); here, so do their sums."""
        listed = sum(u.balance + u.card_limit for u in self.users)
        total = float(listed)
        pop = self.population
        if pop is not None:  # the bank whose customers may hold the most
            median, sigma = max(
                (pop.customers(b.code) for b in self.banks), key=lambda c: c[0] * math.exp(6 * c[1])
            )
            where = (
                f"population.balance_median: {pop.size:,} users (population.size) with "
                f"balances around {format_inr(median)} (balance_sigma "
                f"{sigma:g})"
            )
            if median * math.exp(_SPREADS * sigma) > MAX_MONEY_PAISE:
                raise ValueError(
                    f"{where}: one balance could come out above {format_inr(MAX_MONEY_PAISE)}, "
                    f"the most a run may hold; lower balance_median or balance_sigma"
                )
            mean = median * math.exp(sigma**2 / 2)
            total += pop.size * (mean + pop.card_share * pop.card_limit)
            if total > MAX_MONEY_PAISE:
                raise ValueError(
                    f"{where} and their card limits{' and the listed users' if listed else ''} "
                    f"would hold about {format_inr(int(total))}, more than a run may hold "
                    f"({format_inr(MAX_MONEY_PAISE)}); lower population.balance_median or "
                    f"population.size"
                )
        if listed > MAX_MONEY_PAISE:
            raise ValueError(
                f"users[*].balance: the listed users' balances and card limits add up to "
                f"{format_inr(listed)}, "
                f"more than a run may hold ({format_inr(MAX_MONEY_PAISE)})"
            )

    def _check_status(self, drain_ms: int, limit: str) -> None:
        """An app's status checks must outlast its link, and, where app links lose messages,
        fit in the drain (they are how a lost request or answer is found out)."""
        t, net, f = self.timeouts, self.network, self.faults
        trip = 2 * (slowest_app_ms(self) + net.jitter_ms) + (
            f.replay_max_ms if f.duplicate_rate else 0
        )
        if t.status_first_ms <= trip:
            raise ValueError(
                f"timeouts.status_first_ms: {t.status_first_ms} ms is not more than a round trip "
                f"between an app and the switch ({trip} ms with network.jitter_ms and "
                f"faults.replay_max_ms): an app would check on requests still on their way"
            )
        if not f.app_loss_rate:
            return
        horizon = StatusChecks(t.status_first_ms, t.status_checks).horizon
        if self.collect.rate_per_s > 0 or any(p.method == UPI_COLLECT for p in self.payments):
            horizon += round(self.collect.expiry_s * 1000)
        if horizon >= drain_ms:
            raise ValueError(
                f"faults.app_loss_rate: apps find out about lost requests by status checks, the "
                f"last {horizon / 1000:g} s after a request (timeouts.status_first_ms, "
                f"status_checks, collect.expiry_s), not within {limit}; raise drain_limit_s "
                f"above {horizon // 1000 + 1} or check sooner"
            )

    def _check_drain(self) -> None:
        """Refuse settings that leave payments open when the drain limit stops the run."""
        drain_ms = self.drain_limit_s * 1000
        limit = f"drain_limit_s ({self.drain_limit_s} s)"
        fix = f"lower it or raise {limit.split()[0]}"
        for key in ("auth_ms", "risk_ms", "pay_ms", "reversal_ms"):
            wait = getattr(self.timeouts, key)
            if wait >= drain_ms:
                raise ValueError(
                    f"timeouts.{key}: {wait} ms is not less than {limit}: a payment waiting it "
                    f"out as the load ends would still be open when the run stops; {fix}"
                )
        if self.refunds.share and self.refunds.after_s * 1000 >= drain_ms:
            raise ValueError(
                f"refunds.after_s: {self.refunds.after_s:g} s is not less than {limit}: a "
                f"refund due for a payment made as the load ends would never be made; {fix}"
            )
        expiry_ms = round(self.collect.expiry_s * 1000)
        if self.collect.rate_per_s > 0 and expiry_ms >= drain_ms:
            raise ValueError(
                f"collect.expiry_s: {self.collect.expiry_s:g} s is not less than {limit}: a "
                f"request sent as the load ends and never answered would still be open when "
                f"the run stops; {fix}"
            )
        self._check_status(drain_ms, limit)
        for i, pay in enumerate(self.payments):
            last = pay.at_ms + (pay.repeat - 1) * pay.every_ms
            if pay.method == UPI_COLLECT and last + expiry_ms >= self.duration_ms + drain_ms:
                raise ValueError(
                    f"payments[{i}]: a collect request sent at {last} ms, if never answered, "
                    f"expires after collect.expiry_s ({self.collect.expiry_s:g} s), after the "
                    f"load (duration_s = {self.duration_s:g}) and {limit} are over; lower "
                    f"collect.expiry_s or raise drain_limit_s"
                )
        end_s = self.duration_s + self.drain_limit_s
        for key in ("outages", "core_offline"):
            for i, outage in enumerate(getattr(self.faults, key)):
                if self.faults.heal_after_load or outage.to_s < end_s:
                    continue
                raise ValueError(
                    f"faults.{key}[{i}].to_s: {outage.bank} is still dark at {outage.to_s:g} s, "
                    f"when the load (duration_s = {self.duration_s:g}) and {limit} are over: "
                    f"what it was asked before then can never be answered; end the outage "
                    f"sooner, raise drain_limit_s, or set faults.heal_after_load = true"
                )

    @property
    def duration_ms(self) -> int:
        return int(self.duration_s * 1000)


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (already parsed TOML)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(format_errors(source, error, Scenario)) from None
    except AmountError as error:  # pragma: no cover - pydantic wraps these
        raise ScenarioError(f"{source}: {error}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file; a :class:`ScenarioError` names what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: a folder, not a scenario file") from None
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise ScenarioError(
            f"{path}: not UTF-8 (byte {error.object[error.start]:#04x} on line {line}); "
            f"save the file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of 5,000 digits
        raise ScenarioError(f"{path}: not a TOML file upisim can read: {error}") from None
    return parse_scenario(data, str(path))


def bundled_scenarios() -> dict[str, Path]:
    """The scenario files shipped with upisim, by name."""
    here = Path(__file__).parent
    return {p.stem: p for p in sorted(here.glob("*.toml"))}


def resolve_path(name_or_path: str) -> Path:
    """A path as given, or the bundled scenario of that name (``quickstart``)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml" or "/" in name_or_path:
        return path
    bundled = bundled_scenarios()
    if name_or_path in bundled:
        return bundled[name_or_path]
    raise ScenarioError(
        f"{name_or_path}: no such file, and no bundled scenario of that name"
        f"{did_you_mean(name_or_path, bundled)} (bundled: {', '.join(bundled)})"
    )


def resolved_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in and no PIN in clear: what a run folder
    keeps, and runs again. A listed user's PIN becomes what the bank stores (``pin_hash``);
    a scripted payment's typed PIN is left out when it is the right one, and is a stand-in
    wrong PIN when it is wrong (every wrong PIN is refused alike)."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    right = {u.vpa: u.pin_hash or pin_block(u.vpa, u.pin) for u in scenario.users}
    data["users"] = [
        {k: v for k, v in user.items() if k not in ("pin", "pin_hash")}
        | {"pin_hash": right[user["vpa"]]}
        for user in data["users"]
    ]
    for pay in data["payments"]:
        typed = pay.pop("pin", None)
        if typed is not None and pin_block(pay["from"], typed) != right[pay["from"]]:
            pay["pin"] = next(
                p for p in STAND_INS if pin_block(pay["from"], p) != right[pay["from"]]
            )
    return data
