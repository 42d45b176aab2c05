"""NPCI response and reason codes, with their meaning and kind (business or technical decline)."""

from __future__ import annotations

from typing import Final

APPROVED: Final = "00"

# NPCI switch
DEBIT_FAILED: Final = "U30"  # wraps the remitter's own code
CREDIT_FAILED: Final = "U31"
RISK_DECLINED: Final = "U16"
COLLECT_EXPIRED: Final = "U69"
DEBIT_TIMEOUT: Final = "U67"
CREDIT_TIMEOUT: Final = "U68"
AUTH_TIMEOUT: Final = "U09"
ADDRESS_RESOLUTION_FAILED: Final = "U29"
TXN_NOT_FOUND: Final = "U48"
SWITCH_BUSY: Final = "U80"  # NPCI throttling: the switch's own queue is full
REVERSAL_OK: Final = "00"
REVERSAL_FAILED: Final = "96"
DEBIT_REVERSAL_TIMEOUT: Final = "RR"
CREDIT_REVERSAL_TIMEOUT: Final = "RB"
CREDIT_CONFIRMED: Final = "TCC"  # deemed approved, the beneficiary confirms the credit
RETURNED: Final = "RET"  # deemed approved, the beneficiary never credited: money goes back

# banks
INSUFFICIENT_FUNDS: Final = "Z9"
INVALID_PIN: Final = "ZM"
PIN_TRIES_EXCEEDED: Final = "Z6"
FREQUENCY_LIMIT: Final = "Z7"
AMOUNT_LIMIT: Final = "Z8"
VALIDATION_ERROR: Final = "ZD"
REMITTER_ACCOUNT_MISSING: Final = "XH"
FIRST_TXN_LIMIT: Final = "FL"
NEW_USER_FREEZE: Final = "FP"
BENEFICIARY_ACCOUNT_MISSING: Final = "XI"
NET_DEBIT_CAP: Final = "U03"  # the remitter bank's net debit cap in the open cycle
REMITTER_CBS: Final = "XY"  # remitter core banking offline, or its queue full
BENEFICIARY_CBS: Final = "Y1"  # beneficiary core banking offline, or its queue full
NOT_PERMITTED: Final = "B3"  # no such funding (no credit card), or a method the payee can't take
REMITTER_FROZEN: Final = "YE"  # the payer's account is frozen (a fraud report named it)
BENEFICIARY_FROZEN: Final = "YF"  # the payee's account is frozen
REMITTER_RISK: Final = "K1"  # the remitter bank declines on NPCI's risk score
BENEFICIARY_RISK: Final = "ZI"  # the beneficiary bank declines on NPCI's risk score

# payer PSP
INVALID_VPA: Final = "ZH"
PSP_THROTTLED: Final = "U86"  # the payer's PSP holds it back: a rate limit, or its server full
DECLINED_BY_CUSTOMER: Final = "ZA"

BD: Final = "BD"
TD: Final = "TD"

#: code -> (meaning, kind); kind is "BD" (business), "TD" (technical) or "" (not a decline).
CODES: Final[dict[str, tuple[str, str]]] = {
    "00": ("approved", ""),
    "U30": ("debit failed", BD),
    "U31": ("credit failed", BD),
    "U16": ("risk threshold exceeded", BD),
    "U69": ("collect request expired", BD),
    "U66": ("device fingerprint mismatch", BD),
    "U67": ("debit timeout", TD),
    "U68": ("credit timeout", TD),
    "U09": ("ReqAuth timeout", TD),
    "U03": ("net debit cap exceeded", TD),
    "U28": ("remitter bank not available", TD),
    "U29": ("address resolution failed", BD),
    "U48": ("transaction id not present", TD),
    "U80": ("throttled: the NPCI switch's queue is full", TD),
    "U86": ("throttled: payer PSP rate limit or app server full", TD),
    "BT": ("beneficiary unavailable", TD),
    "UT": ("remitter unavailable", TD),
    "RB": ("credit reversal timeout", TD),
    "RR": ("debit reversal timeout", TD),
    "96": ("reversal failed", TD),
    "TCC": ("deemed approved: credit confirmed by the beneficiary bank", ""),
    "RET": ("deemed approved, then returned: never credited", TD),
    "Z9": ("insufficient funds", BD),
    "ZM": ("invalid UPI PIN", BD),
    "Z6": ("number of PIN tries exceeded", BD),
    "Z7": ("transaction frequency limit exceeded", BD),
    "Z8": ("per-transaction or daily amount limit exceeded", BD),
    "ZD": ("validation error", BD),
    "XH": ("remitter account does not exist", BD),
    "XI": ("beneficiary account does not exist", BD),
    "XY": ("remitter core banking offline or full", TD),
    "Y1": ("beneficiary core banking offline or full", TD),
    "B3": ("transaction not permitted to the account", BD),
    "YE": ("remitter account blocked or frozen", BD),
    "YF": ("beneficiary account blocked or frozen", BD),
    "K1": ("suspected fraud: the remitter bank declined on the risk score", BD),
    "ZI": ("suspected fraud: the beneficiary bank declined on the risk score", BD),
    "ZH": ("invalid VPA", BD),
    "ZA": ("declined by customer", BD),
    "FL": ("first-transaction limit exceeded", BD),
    "FP": ("new-user freeze: over ₹5,000 within 24 h", BD),
}


def decline_type(code: str) -> str:
    """``"BD"``, ``"TD"`` or ``""`` for an approval; unknown codes count as technical."""
    return CODES.get(code, ("unknown", TD))[1]


def describe(code: str) -> str:
    """The meaning of a code, for tables and reports."""
    return CODES.get(code, ("unknown code", TD))[0]
