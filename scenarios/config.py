"""Scenario files: TOML, validated whole before anything starts.

Every mistake names the file, the field and what was expected; unknown keys
are errors. Amounts are written as rupee strings (``"499.99"``) and held as
integer paise; the resolved scenario writes them back the same way.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from upisim.actors.errors import AmountError, ScenarioError
from upisim.actors.methods import DEFAULT_METHODS, UPI_COLLECT, UPI_PUSH
from upisim.actors.money import parse_amount


def _amount(value: Any) -> int:
    return int(parse_amount(value))


def _balance(value: Any) -> int:
    if value in ("0", 0, "0.00"):
        return 0
    return _amount(value)


def _rupees(paise: int) -> str:
    return f"{paise // 100}.{paise % 100:02d}"


Amount = Annotated[int, BeforeValidator(_amount), PlainSerializer(_rupees, return_type=str)]
"""A positive amount: written ``"499.99"``, held as paise."""

Balance = Annotated[int, BeforeValidator(_balance), PlainSerializer(_rupees, return_type=str)]
"""An opening balance: like :data:`Amount` but zero is allowed."""

Action = Literal["flag", "decline"]
MethodName = Literal["UPI_PUSH", "UPI_COLLECT", "DEBIT_CARD", "CREDIT_CARD", "NET_BANKING"]
PushMethod = Literal["UPI_PUSH", "DEBIT_CARD", "CREDIT_CARD", "NET_BANKING"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class BankConfig(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,7}$", description="short code, e.g. HDFC")
    name: str = ""
    handle: str = Field(pattern=r"^[a-z][a-z0-9.]{1,31}$", description="VPA handle: okhdfcbank")
    per_txn_limit: Amount = 100_000_00
    daily_limit: Amount = 100_000_00
    daily_count_limit: int = Field(20, ge=1)
    pin_tries: int = Field(3, ge=1)
    lockout_s: int = Field(24 * 3600, ge=0)
    latency_ms: int | None = Field(None, ge=1, description="switch <-> this bank, one way")
    new_user_first_limit: Amount = 5_000_00
    new_user_cap: Amount = 5_000_00
    new_user_hours: int = Field(24, ge=0)


DEFAULT_BANKS = (
    BankConfig(code="HDFC", name="HDFC Bank", handle="okhdfcbank"),
    BankConfig(code="SBI", name="State Bank of India", handle="oksbi"),
    BankConfig(code="ICICI", name="ICICI Bank", handle="okicici"),
)


class UserConfig(_Strict):
    name: str = Field(min_length=1, max_length=100)
    vpa: str = Field(pattern=r"^[a-zA-Z0-9.\-_]{1,200}@[a-z][a-z0-9.]{1,31}$", max_length=255)
    bank: str
    balance: Balance
    pin: str = Field("1234", pattern=r"^(\d{4}|\d{6})$", description="4 or 6 digits")
    merchant: bool = Field(False, description="may send collect requests")
    new_user: bool = Field(False, description="a new UPI user: cooled for the first day")
    card_limit: Balance = Field(0, description="credit line of their credit card; 0: no card")


class PopulationConfig(_Strict):
    size: int = Field(ge=2, le=5_000_000)
    balance_median: Amount = 10_000_00
    balance_sigma: float = Field(1.0, ge=0, le=4)
    merchant_share: float = Field(0.0, ge=0, le=1, description="share who are merchants")
    new_user_share: float = Field(0.0, ge=0, le=1, description="share who are new UPI users")
    card_share: float = Field(0.0, ge=0, le=1, description="share who hold a credit card")
    card_limit: Amount = Field(1_00_000_00, description="credit line of each credit card")
    bank_weights: dict[str, float] = Field(
        default_factory=dict, description="bank code -> share of users"
    )


class RatePoint(_Strict):
    at_s: int = Field(ge=0)
    rate_per_s: float = Field(ge=0)


class LoadConfig(_Strict):
    rate_per_s: float = Field(0, ge=0, description="Poisson arrival rate of generated payments")
    profile: list[RatePoint] = Field(
        default_factory=list, description="piecewise rate over the run (overrides rate)"
    )
    amount_median: Amount = 500_00
    amount_sigma: float = Field(1.0, ge=0, le=4)
    amount_min: Amount = 1_00
    amount_max: Amount = 20_000_00
    wrong_pin_rate: float = Field(0.0, ge=0, le=1)
    tick_ms: int | None = Field(None, ge=1, description="arrival batch interval (default: window)")
    p2m_share: float | None = Field(
        None, ge=0, le=1, description="share of payments to merchants (default: payees uniformly)"
    )
    method_mix: dict[PushMethod, float] = Field(
        default_factory=lambda: {UPI_PUSH: 1.0},
        description="push method -> weight; each payment picks among those payer and payee can use",
    )

    @model_validator(mode="after")
    def _check(self) -> LoadConfig:
        if self.amount_min > self.amount_max:
            raise ValueError("amount_min is larger than amount_max")
        if any(w < 0 for w in self.method_mix.values()) or not sum(self.method_mix.values()):
            raise ValueError("method_mix: weights must be >= 0 and add up to more than 0")
        at = [p.at_s for p in self.profile]
        if at != sorted(at) or len(set(at)) != len(at):
            raise ValueError("profile points must have increasing at_s")
        return self

    def rate_at(self, t_ms: int) -> float:
        """Arrivals per second at simulated time ``t_ms``."""
        rate = self.rate_per_s
        for point in self.profile:
            if point.at_s * 1000 <= t_ms:
                rate = point.rate_per_s
        return rate


class CollectConfig(_Strict):
    rate_per_s: float = Field(0, ge=0, description="collect requests per second from merchants")
    expiry_s: float = Field(300, gt=0, le=45 * 24 * 3600, description="expireAfter")
    approve_share: float = Field(0.7, ge=0, le=1)
    decline_share: float = Field(0.15, ge=0, le=1)
    think_s: float = Field(20, gt=0, description="mean time a payer takes to answer")
    p2p: bool = Field(False, description="allow person-to-person collect (stopped 1 Oct 2025)")
    p2p_cap: Amount = Field(2_000_00, description="most a person may ask for, when p2p is on")
    p2p_share: float = Field(0.0, ge=0, le=1, description="share of requests sent by people")

    @model_validator(mode="after")
    def _check(self) -> CollectConfig:
        if self.approve_share + self.decline_share > 1:
            raise ValueError("approve_share + decline_share is more than 1 (the rest ignore)")
        return self


class RefundConfig(_Strict):
    share: float = Field(0.0, ge=0, le=1, description="of payments to merchants, share refunded")
    after_s: float = Field(60, gt=0, description="how long after the payment the refund goes")


class OutageConfig(_Strict):
    bank: str
    from_s: float = Field(ge=0)
    to_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _check(self) -> OutageConfig:
        if self.to_s <= self.from_s:
            raise ValueError("to_s must be after from_s")
        return self


class FaultsConfig(_Strict):
    loss_rate: float = Field(0.0, ge=0, le=0.3, description="messages lost behind the switch")
    outages: list[OutageConfig] = Field(default_factory=list)
    heal_after_load: bool = Field(True, description="no faults once the load stops (drain)")


class RateLimitConfig(_Strict):
    per_minute: int = Field(5, ge=0, description="payments per user per minute (0: off)")
    per_hour: int = Field(50, ge=0, description="payments per user per hour (0: off)")


class ScriptedPayment(_Strict):
    at_ms: int = Field(0, ge=0)
    repeat: int = Field(1, ge=1, le=100_000, description="send it this many times")
    every_ms: int = Field(1000, ge=1, description="apart by this much")
    payer: str = Field(alias="from")
    payee: str = Field(alias="to")
    amount: Amount
    pin: str | None = Field(None, description="what the payer types; omit for the right PIN")
    note: str = ""
    method: MethodName = Field(UPI_PUSH, description="UPI_COLLECT: the payee asks the payer")


class MethodConfig(_Strict):
    per_txn_limit: Amount | None = Field(None, description="most one payment may be")
    extra_latency_ms: int | None = Field(None, ge=0, description="added to the remitter leg")
    latency_spread_ms: int | None = Field(None, ge=0, description="and uniform 0..this more")
    p2m_only: bool | None = Field(None, description="only to merchants")


class NotificationsConfig(_Strict):
    record: bool = Field(
        False, description="write notifications.parquet: every notice every user was given"
    )


class NetworkConfig(_Strict):
    psp_switch_ms: int = Field(40, ge=1, description="user app server <-> switch, one way")
    switch_bank_ms: int = Field(60, ge=1, description="switch <-> bank, one way, with core banking")
    switch_fraud_ms: int = Field(20, ge=1, description="switch <-> fraud monitor, one way")
    jitter_ms: int = Field(0, ge=0, description="extra uniform delay 0..jitter per message")


class TimeoutsConfig(_Strict):
    auth_ms: int = Field(10_000, ge=1)
    risk_ms: int = Field(10_000, ge=1)
    pay_ms: int = Field(15_000, ge=1)
    reversal_ms: int = Field(10_000, ge=1)
    reversal_tries: int = Field(3, ge=1)


class FraudConfig(_Strict):
    high_value: Amount = 50_000_00
    high_value_action: Action = "flag"
    daily_cap: Amount = 100_000_00
    daily_cap_action: Action = "decline"
    velocity_per_hour: int = Field(10, ge=1)
    velocity_action: Action = "decline"


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(1, ge=0)
    duration_s: float = Field(gt=0, le=30 * 24 * 3600, description="simulated seconds of load")
    drain_limit_s: int = Field(300, ge=1, description="how long in-flight payments may take after")
    cohorts: int | None = Field(None, ge=1, le=256, description="user actors (default: auto)")
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
    methods: dict[MethodName, MethodConfig] = Field(
        default_factory=dict, description="method -> changes to its defaults"
    )
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)

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
            for code in self.population.bank_weights:
                if code not in codes:
                    raise ValueError(
                        f"population.bank_weights: {code!r} is not one of the banks {codes}"
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
        for i, outage in enumerate(self.faults.outages):
            if outage.bank not in codes:
                raise ValueError(
                    f"faults.outages[{i}].bank: {outage.bank!r} is not one of the banks {codes}"
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

    @property
    def duration_ms(self) -> int:
        return int(self.duration_s * 1000)


def _format_errors(source: str, error: ValidationError) -> str:
    lines = [f"{source}: the scenario has {error.error_count()} problem(s):"]
    for err in error.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/scenarios.md for the keys)"
        got = err.get("input")
        shown = "" if err["type"] in ("missing",) or isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  - {loc}: {msg}{shown}")
    return "\n".join(lines)


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (already parsed TOML)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_format_errors(source, error)) from None
    except AmountError as error:  # pragma: no cover - pydantic wraps these
        raise ScenarioError(f"{source}: {error}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file; a :class:`ScenarioError` names what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
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
        f"{name_or_path}: no such file, and no bundled scenario of that name "
        f"(bundled: {', '.join(bundled)})"
    )


def resolved_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, PINs masked: what a run folder keeps."""
    data = scenario.model_dump(mode="json", by_alias=True)
    for user in data["users"]:
        user["pin"] = "****"
    for pay in data["payments"]:
        if pay.get("pin") is not None:
            pay["pin"] = "****"
    return data
