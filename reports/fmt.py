"""How numbers read in the report: counts, rupees (Indian grouping), times, shares."""

from __future__ import annotations

import math
from typing import Any

LAKH = 100_000
CRORE = 10_000_000


def indian_grouping(n: int) -> str:
    """12345678 -> '1,23,45,678' (lakh and crore grouping)."""
    sign, digits = ("-" if n < 0 else ""), str(abs(n))
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join([*groups, tail])


def rupees(paise: int) -> str:
    """Exact amount: 12345678 paise -> '₹1,23,456.78'."""
    sign = "-" if paise < 0 else ""
    whole, part = divmod(abs(int(paise)), 100)
    return f"{sign}₹{indian_grouping(whole)}.{part:02d}"


def rupees_short(value_rupees: float) -> str:
    """Axis label: '₹1.25 cr', '₹3.4 L', '₹950'."""
    sign, size = ("-" if value_rupees < 0 else ""), abs(value_rupees)
    if size >= CRORE:
        return f"{sign}₹{size / CRORE:,.6g} cr"
    if size >= LAKH:
        return f"{sign}₹{size / LAKH:.6g} L"
    return f"{sign}₹{size:,.6g}"


def count(n: Any) -> str:
    """A count with thousands separators; anything else as text."""
    if isinstance(n, bool):
        return str(n).lower()
    if isinstance(n, int):
        return f"{n:,}"
    if isinstance(n, float):
        if math.isnan(n):
            return ""
        return f"{n:,.0f}" if n.is_integer() else f"{n:,.2f}"
    return str(n)


def share(fraction: float) -> str:
    """0.1234 -> '12.3%'."""
    return f"{100 * fraction:.1f}%"


def milliseconds(ms: float) -> str:
    """Latency: '850 ms', '1.23 s', '15 s', '300 s'."""
    if ms != ms:  # NaN
        return "n/a"
    if ms < 1000:
        return f"{ms:,.0f} ms"
    seconds = ms / 1000
    return f"{seconds:.3g} s" if seconds < 1000 else f"{seconds:,.0f} s"


def seconds_label(bin_ms: int) -> str:
    """A bin width: '1 s', '5 min'."""
    s = bin_ms // 1000
    if s % 3600 == 0:
        return f"{s // 3600} h"
    if s % 60 == 0 and s >= 60:
        return f"{s // 60} min"
    return f"{s} s"
