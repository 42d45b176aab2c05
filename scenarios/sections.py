"""The sections of a scenario file, one pydantic model each: banks, users, population, load,
collect, refunds, faults, limits, methods, network, timeouts, fraud.

Unknown keys are errors; amounts are written as rupee strings (``"499.99"``)
and held as integer paise. :mod:`.config` puts the sections together into a
:class:`~upisim.scenarios.config.Scenario` and checks them against each other.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    field_validator,
    model_validator,
)

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

Weight = Annotated[float, Field(ge=0)]
"""A share by weight: finite (as every float in a scenario) and not negative."""

MAX_RATE_PER_S = 100_000
"""The most arrivals per simulated second a rate may ask for: a generous ceiling, well
above any real UPI second, that keeps a run's arrival counts finite and sane."""

MAX_SPAN_S = 30 * 24 * 3600
"""The longest span of simulated time a scenario may ask for (a run's load, its drain, the
mapper's memory): thirty days."""

PIN = r"^([0-9]{4}|[0-9]{6})$"
"""4 or 6 ASCII digits (not Devanagari or other digits)."""

Action = Literal["flag", "decline", "remitter", "beneficiary"]
"""Flag, or decline: NPCI itself (U16), or the remitter (K1) or beneficiary (ZI) bank."""
MethodName = Literal["UPI_PUSH", "UPI_COLLECT", "DEBIT_CARD", "CREDIT_CARD", "NET_BANKING"]
PushMethod = Literal["UPI_PUSH", "DEBIT_CARD", "CREDIT_CARD", "NET_BANKING"]


def _upi_push_only() -> dict[PushMethod, float]:
    return {"UPI_PUSH": 1.0}


class _Strict(BaseModel):
    # No float in a scenario may be inf or nan: each would pass ``ge``/``le`` or poison sums.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class ServiceConfig(_Strict):
    median_ms: float = Field(gt=0, le=600_000, description="median service time of one operation")
    spread: float = Field(default=0.3, ge=0, le=3, description="sigma of its log (log-normal)")


class CoreConfig(_Strict):
    """A bank's core banking system: workers in parallel, each operation's service time,
    and a bound on its queue (None: unbounded)."""

    workers: int = Field(default=1_000, ge=1, le=1_000_000)
    queue_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    debit: ServiceConfig = ServiceConfig(median_ms=20)
    credit: ServiceConfig = ServiceConfig(median_ms=20)
    reversal: ServiceConfig = ServiceConfig(median_ms=20)
    status: ServiceConfig = ServiceConfig(median_ms=10)


class SwitchCoreConfig(_Strict):
    """The NPCI switch's servers: off (no queue, answers in its links' latency) unless
    ``workers`` is set."""

    workers: int | None = Field(default=None, ge=1, le=1_000_000)
    queue_limit: int | None = Field(default=None, ge=0, le=10_000_000)
    request: ServiceConfig = ServiceConfig(median_ms=2)  # taking a new ReqPay in


class PspCoreConfig(SwitchCoreConfig):
    """Each user cohort's PSP app server, sized alike: off unless ``workers`` is set."""

    request: ServiceConfig = ServiceConfig(median_ms=5)  # a user's payment or collect request
    lookup: ServiceConfig = ServiceConfig(median_ms=3)  # an address lookup (ReqAuthDetails)


class CapacityConfig(_Strict):
    switch: SwitchCoreConfig = Field(default_factory=SwitchCoreConfig)
    psp: PspCoreConfig = Field(default_factory=PspCoreConfig)


class BankConfig(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,7}$", description="short code, e.g. HDFC")
    name: str = ""
    handle: str = Field(pattern=r"^[a-z][a-z0-9.]{1,31}$", description="VPA handle: okhdfcbank")
    per_txn_limit: Amount = 100_000_00
    daily_limit: Amount = 100_000_00
    daily_count_limit: int = Field(default=20, ge=1)
    pin_tries: int = Field(default=3, ge=1)
    lockout_s: int = Field(default=24 * 3600, ge=0)
    latency_ms: int | None = Field(default=None, ge=1, description="switch <-> this bank, one way")
    new_user_first_limit: Amount = 5_000_00
    new_user_cap: Amount = 5_000_00
    new_user_hours: int = Field(default=24, ge=0)
    core: CoreConfig = Field(default_factory=CoreConfig, description="core banking capacity")
    net_debit_cap: Amount | None = Field(
        default=None, description="most it may owe in the open settlement cycle (U03 past it)"
    )


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
    pin: str = Field(default="1234", pattern=PIN, description="4 or 6 digits")
    pin_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="what the bank stores, instead of pin (a run folder's scenario.toml)",
    )
    merchant: StrictBool = Field(default=False, description="may send collect requests")
    new_user: StrictBool = Field(
        default=False, description="a new UPI user: cooled for the first day"
    )
    card_limit: Balance = Field(
        default=0, description="credit line of their credit card; 0: no card"
    )

    @model_validator(mode="after")
    def _one_pin(self) -> UserConfig:
        if self.pin_hash is not None and "pin" in self.model_fields_set:
            raise ValueError("give pin or pin_hash, not both")
        return self


class CustomersConfig(_Strict):
    """One bank's customers, where they differ from the whole population: what drives
    that bank's business declines (balances: Z9; PIN habits: ZM)."""

    balance_median: Amount | None = None
    balance_sigma: float | None = Field(default=None, ge=0, le=4)
    wrong_pin_rate: float | None = Field(
        default=None, ge=0, le=1, description="instead of load.wrong_pin_rate"
    )


class PopulationConfig(_Strict):
    size: int = Field(ge=2, le=5_000_000)
    balance_median: Amount = 10_000_00
    balance_sigma: float = Field(default=1.0, ge=0, le=4)
    merchant_share: float = Field(default=0.0, ge=0, le=1, description="share who are merchants")
    new_user_share: float = Field(
        default=0.0, ge=0, le=1, description="share who are new UPI users"
    )
    card_share: float = Field(default=0.0, ge=0, le=1, description="share who hold a credit card")
    card_limit: Amount = Field(default=1_00_000_00, description="credit line of each credit card")
    bank_weights: dict[str, Weight] = Field(
        default_factory=dict, description="bank code -> share of users"
    )
    banks: dict[str, CustomersConfig] = Field(
        default_factory=dict, description="bank code -> how its customers differ"
    )

    def customers(self, bank: str) -> tuple[int, float]:
        """The balance median (paise) and sigma of ``bank``'s customers."""
        own = self.banks.get(bank) or CustomersConfig()
        median = self.balance_median if own.balance_median is None else own.balance_median
        return median, self.balance_sigma if own.balance_sigma is None else own.balance_sigma

    @field_validator("bank_weights")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if weights and not sum(weights.values()):
            raise ValueError("the weights must add up to more than 0 (all are 0)")
        return weights


class RatePoint(_Strict):
    at_s: int = Field(ge=0)
    rate_per_s: float = Field(ge=0, le=MAX_RATE_PER_S)


class LoadConfig(_Strict):
    rate_per_s: float = Field(
        default=0, ge=0, le=MAX_RATE_PER_S, description="Poisson arrival rate of generated payments"
    )
    profile: list[RatePoint] = Field(
        default_factory=list, description="piecewise rate over the run (overrides rate)"
    )
    amount_median: Amount = 500_00
    amount_sigma: float = Field(default=1.0, ge=0, le=4)
    amount_min: Amount = 1_00
    amount_max: Amount = 20_000_00
    wrong_pin_rate: float = Field(default=0.0, ge=0, le=1)
    tick_ms: int | None = Field(
        default=None, ge=1, description="arrival batch interval (default: window)"
    )
    p2m_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of payments to merchants (default: payees uniformly)",
    )
    method_mix: dict[PushMethod, Weight] = Field(
        default_factory=_upi_push_only,
        description="push method -> weight; each payment picks among those payer and payee can use",
    )

    @model_validator(mode="after")
    def _check(self) -> LoadConfig:
        if self.amount_min > self.amount_max:
            raise ValueError("amount_min is larger than amount_max")
        if not sum(self.method_mix.values()):
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
    rate_per_s: float = Field(
        default=0, ge=0, le=MAX_RATE_PER_S, description="collect requests per second from merchants"
    )
    expiry_s: float = Field(default=300, gt=0, le=45 * 24 * 3600, description="expireAfter")
    approve_share: float = Field(default=0.7, ge=0, le=1)
    decline_share: float = Field(default=0.15, ge=0, le=1)
    think_s: float = Field(default=20, gt=0, description="mean time a payer takes to answer")
    p2p: StrictBool = Field(
        default=False, description="allow person-to-person collect (stopped 1 Oct 2025)"
    )
    p2p_cap: Amount = Field(
        default=2_000_00, description="most a person may ask for, when p2p is on"
    )
    p2p_share: float = Field(
        default=0.0, ge=0, le=1, description="share of requests sent by people"
    )

    @model_validator(mode="after")
    def _check(self) -> CollectConfig:
        if self.approve_share + self.decline_share > 1:
            raise ValueError("approve_share + decline_share is more than 1 (the rest ignore)")
        return self


class RefundConfig(_Strict):
    share: float = Field(
        default=0.0, ge=0, le=1, description="of payments to merchants, share refunded"
    )
    after_s: float = Field(
        default=60, gt=0, description="how long after the payment the refund goes"
    )


class SettlementConfig(_Strict):
    cycle_s: float = Field(
        default=8_640, gt=0, le=86_400, description="NPCI's settlement cycle (ten a day)"
    )


class RateLimitConfig(_Strict):
    per_minute: int = Field(default=5, ge=0, description="payments per user per minute (0: off)")
    per_hour: int = Field(default=50, ge=0, description="payments per user per hour (0: off)")


class ScriptedPayment(_Strict):
    at_ms: int = Field(default=0, ge=0)
    repeat: int = Field(default=1, ge=1, le=100_000, description="send it this many times")
    every_ms: int = Field(default=1000, ge=1, description="apart by this much")
    payer: str = Field(alias="from")
    payee: str = Field(alias="to")
    amount: Amount
    pin: str | None = Field(
        default=None, pattern=PIN, description="what the payer types; omit for the right PIN"
    )
    note: str = ""
    method: MethodName = Field(
        default="UPI_PUSH", description="UPI_COLLECT: the payee asks the payer"
    )


class MethodConfig(_Strict):
    per_txn_limit: Amount | None = Field(default=None, description="most one payment may be")
    extra_latency_ms: int | None = Field(
        default=None, ge=0, description="added to the remitter leg"
    )
    latency_spread_ms: int | None = Field(
        default=None, ge=0, description="and uniform 0..this more"
    )
    p2m_only: StrictBool | None = Field(default=None, description="only to merchants")


class NotificationsConfig(_Strict):
    record: StrictBool = Field(
        default=False, description="write notifications.parquet: every notice every user was given"
    )


class NetworkConfig(_Strict):
    psp_switch_ms: int = Field(default=40, ge=1, description="user app server <-> switch, one way")
    switch_bank_ms: int = Field(
        default=60, ge=1, description="switch <-> bank, one way, with core banking"
    )
    switch_fraud_ms: int = Field(default=20, ge=1, description="switch <-> fraud monitor, one way")
    jitter_ms: int = Field(default=0, ge=0, description="extra uniform delay 0..jitter per message")
    mapper_s: float = Field(
        default=0, ge=0, le=MAX_SPAN_S, description="switch remembers resolved payees (0: off)"
    )


class TimeoutsConfig(_Strict):
    auth_ms: int = Field(default=10_000, ge=1)
    risk_ms: int = Field(default=10_000, ge=1)
    pay_ms: int = Field(default=15_000, ge=1)
    reversal_ms: int = Field(default=10_000, ge=1)
    reversal_tries: int = Field(default=3, ge=1)
    status_first_ms: int = Field(
        default=90_000,
        ge=1_000,
        description="an app checks a request it heard nothing of this long after (NPCI: 45-90 s)",
    )
    status_checks: int = Field(
        default=3, ge=1, le=3, description="checks an app makes, each twice as late (NPCI: <= 3)"
    )


RuleAction = Literal["off", "flag", "decline", "remitter", "beneficiary"]
"""A behavioural rule's action: off, or like a threshold rule's."""


class FraudConfig(_Strict):
    high_value: Amount = 50_000_00
    high_value_action: Action = "flag"
    daily_cap: Amount = 100_000_00
    daily_cap_action: Action = "decline"
    velocity_per_hour: int = Field(default=10, ge=1)
    velocity_action: Action = "decline"
    # rules on behaviour a risk engine sees (off by default: they keep state per account)
    new_payee_amount: Amount = 10_000_00
    new_payee_action: RuleAction = "off"
    fan_in_payers: int = Field(default=10, ge=2, description="distinct payers in an hour")
    fan_in_action: RuleAction = "off"
    forward_share: float = Field(default=0.8, gt=0, le=1, description="of what came in lately")
    forward_minutes: float = Field(default=30, gt=0, le=24 * 60)
    forward_action: RuleAction = "off"
    collect_strangers: int = Field(default=5, ge=2, description="strangers asked in an hour")
    collect_strangers_action: RuleAction = "off"
    pin_streak: int = Field(default=2, ge=1, description="wrong PINs within pin_minutes")
    pin_minutes: float = Field(default=60, gt=0, le=24 * 60)
    pin_burst_action: RuleAction = "off"
