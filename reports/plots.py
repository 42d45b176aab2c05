"""Matplotlib figures drawn from the tables in `reports.tables`.

Figures are made with `matplotlib.figure.Figure`, not pyplot: they never enter
pyplot's global registry (nothing to close, nothing leaks across a long
notebook session) and importing this module never switches a notebook's
backend. `png_bytes` renders with Agg.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, ParamSpec
from weakref import WeakSet

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

from upisim.reports import fmt, tables
from upisim.reports.tables import PERCENTILES
from upisim.runfolder import State

WIDTH = 11.0
DPI = 110
STATE_COLOURS = {
    State.SUCCESS: "#2e7d32",
    State.FAILED: "#c62828",
    State.EXPIRED: "#ef6c00",
    State.DEEMED: "#6a1b9a",
}
DECLINE_COLOURS = {"": "#2e7d32", "BD": "#ef6c00", "TD": "#c62828"}
PERCENTILE_COLOURS = {50: "#1565c0", 95: "#ef6c00", 99: "#c62828"}
CYCLE = ("#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#6d4c41", "#ad1457")
STYLE: dict[Any, Any] = {
    # Names and VPAs come from the run: never let a "$" start mathtext.
    "text.parse_math": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}
MAX_LABEL = 40

P = ParamSpec("P")


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings; text is also laid out inside it at render time."""
    with rc_context(STYLE):
        yield


def _styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    @wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with style():
            return draw(*args, **kwargs)

    return wrapper


def png_bytes(fig: Figure) -> bytes:
    """Render a figure to PNG with Agg."""
    buffer = io.BytesIO()
    with style():
        FigureCanvasAgg(fig)
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _figure(height: float, ncols: int = 1, nrows: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def short(label: Any) -> str:
    """A run-supplied label fit for an axis; legends hide labels starting with '_'."""
    text = str(label) if str(label) != "" else "(none)"
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 1] + "…"
    return " " + text if text.startswith("_") else text


@contextmanager
def shading(windows: pd.DataFrame) -> Iterator[None]:
    """Every time-series plot drawn inside shades the fault windows in `windows` (a
    `reports.banks.fault_windows` table), so a reader sees what the faults did."""
    token = _SHADED.set(windows)
    try:
        yield
    finally:
        _SHADED.reset(token)


_SHADED: ContextVar[pd.DataFrame | None] = ContextVar("shaded", default=None)
_SHADED_AXES: WeakSet[Axes] = WeakSet()


def _shade(ax: Axes, scale: int) -> None:
    """Shade the fault windows on a time axis in units of ``scale`` seconds."""
    windows = _SHADED.get()
    if windows is None or windows.empty or ax in _SHADED_AXES:
        return
    _SHADED_AXES.add(ax)
    spans = zip(windows["from_s"].to_numpy(float), windows["to_s"].to_numpy(float), strict=True)
    for i, (start, end) in enumerate(spans):
        label = "fault window" if i == 0 else "_fault"
        ax.axvspan(start / scale, end / scale, color="#c62828", alpha=0.08, lw=0, label=label)


#: (longest time on the axis above which, seconds per unit, the unit's name)
_TIME_UNITS = ((6 * 3600, 3600, "h"), (1200, 60, "min"), (-1.0, 1, "s"))


def _time_axis(ax: Axes, t_s: pd.Series, *others: pd.Series) -> np.ndarray:
    """x values for `t_s` in seconds, in minutes when any series (`t_s` or `others`,
    the other run's times on a shared axis) passes 20 minutes, or in hours past 6 hours;
    labels the axis to match, and shades the fault windows (`shading`)."""
    longest = max((float(t.max()) for t in (t_s, *others) if len(t)), default=0.0)
    scale, unit = next((s, u) for above, s, u in _TIME_UNITS if longest > above)
    ax.set_xlabel(f"simulated time ({unit})")
    _shade(ax, scale)
    x: np.ndarray = t_s.to_numpy(dtype=float) / scale
    return x


def _rupee_axis(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.rupees_short(v)))


def _legend_outside(ax: Axes, **kwargs: Any) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), **kwargs)


def _headroom(ax: Axes, factor: float = 1.5) -> None:
    """Room above rising lines for a legend in the upper left."""
    _, top = ax.get_ylim()
    ax.set_ylim(0, max(top, 1) * factor)


def _no_data(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


# -- single run -------------------------------------------------------------------------


@_styled
def throughput_figure(table: pd.DataFrame, bin_ms: int) -> Figure:
    """Offered vs completed payments per second, completed stacked by terminal state."""
    fig, axes = _figure(4.2)
    ax = axes[0, 0]
    per_second = 1000 / bin_ms
    x = _time_axis(ax, table["t_s"])
    edges = np.r_[x, x[-1] + (x[1] - x[0] if x.size > 1 else 1)] if x.size else x
    state_columns = [c for c in table.columns if c.startswith("completed_")]
    if state_columns:
        ys = [table[c].to_numpy() * per_second for c in state_columns]
        labels = [f"completed {short(c.removeprefix('completed_'))}" for c in state_columns]
        colours = [
            STATE_COLOURS.get(c.removeprefix("completed_"), CYCLE[i % len(CYCLE)])
            for i, c in enumerate(state_columns)
        ]
        baseline = np.zeros(len(table))
        for y, label, colour in zip(ys, labels, colours, strict=True):
            ax.stairs(
                baseline + y,
                edges,
                baseline=baseline,
                fill=True,
                color=colour,
                alpha=0.75,
                label=label,
            )
            baseline = baseline + y
    if len(table):
        ax.stairs(
            table["offered"].to_numpy() * per_second,
            edges,
            color="black",
            linewidth=1.2,
            label="offered",
        )
    ax.set_ylabel(f"payments per second ({fmt.seconds_label(bin_ms)} bins)")
    ax.set_title("Throughput: offered vs completed")
    ax.set_ylim(bottom=0)
    _legend_outside(ax)
    return fig


@_styled
def latency_over_time_figure(table: pd.DataFrame) -> Figure:
    """p50/p95/p99 latency of the payments completing in each bin."""
    fig, axes = _figure(3.8)
    ax = axes[0, 0]
    x = _time_axis(ax, table["t_s"])
    for p in PERCENTILES:
        ax.plot(x, table[f"p{p}_ms"], color=PERCENTILE_COLOURS[p], label=f"p{p}", linewidth=1.3)
    _maybe_log(ax, table[[f"p{p}_ms" for p in PERCENTILES]].to_numpy(dtype=float))
    ax.set_ylabel("latency")
    ax.set_title("Latency percentiles over time (by completion time)")
    _legend_outside(ax)
    return fig


def _maybe_log(ax: Axes, values: np.ndarray, axis: str = "y", dense: float = 300) -> None:
    """A latency axis: log scale when values span more than 50×, linear otherwise; either
    way its ticks carry their unit ('200 ms', '1.5 s', no mathtext)."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size and positive.max() / positive.min() > 50:
        _log_ms(ax, axis, positive.max() / positive.min(), dense)
    else:
        target = ax.yaxis if axis == "y" else ax.xaxis
        target.set_major_formatter(FuncFormatter(lambda v, _: fmt.milliseconds(v)))


def _log_ms(ax: Axes, axis: str, span: float, dense: float = 300) -> None:
    """Log scale labelled '200 ms', '1 s'; 1-2-5 ticks unless `span` (max / min) is wider
    than `dense` (a narrow axis takes fewer)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    subs = (1.0, 2.0, 5.0) if span <= dense else (1.0,)
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(lambda v, _: fmt.milliseconds(v)))
    target.set_minor_formatter(NullFormatter())


@_styled
def latency_distribution_figure(histogram: pd.DataFrame, stages: pd.DataFrame) -> Figure:
    """Histogram of end-to-end latency (log x) beside per-stage percentiles."""
    fig, axes = _figure(3.8, ncols=2, width_ratios=[3, 2])
    ax, stage_ax = axes[0]
    if histogram.empty:
        _no_data(ax, "no payments")
    else:
        edges = np.r_[histogram["lo_ms"].to_numpy(), histogram["hi_ms"].iloc[-1]]
        ax.stairs(histogram["payments"].to_numpy(), edges, fill=True, color="#90a4ae")
        if edges[-1] / edges[0] > 20:
            _log_ms(ax, "x", edges[-1] / edges[0])
            ax.set_xlabel("end-to-end latency (log scale)")
        else:
            ax.set_xlabel("end-to-end latency")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.milliseconds(v)))
        whole = tables.stage(stages)
        for p in PERCENTILES:
            ax.axvline(
                whole[f"p{p}_ms"],
                color=PERCENTILE_COLOURS[p],
                linestyle="--",
                label=f"p{p} = {fmt.milliseconds(whole[f'p{p}_ms'])}",
            )
        ax.set_ylabel("payments")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)
    ax.set_title("Latency distribution")
    known = stages[stages["payments"] > 0].iloc[::-1]
    if known.empty:
        _no_data(stage_ax, "no stage timestamps")
    else:
        y = np.arange(len(known))
        height = 0.8 / len(PERCENTILES)
        for i, p in enumerate(PERCENTILES):
            stage_ax.barh(
                y + (1 - i) * height,
                known[f"p{p}_ms"],
                height=height,
                color=PERCENTILE_COLOURS[p],
                label=f"p{p}",
            )
        stage_ax.set_yticks(y, known["stage"])
        stage_ax.set_xlabel("latency")
        values = known[[f"p{p}_ms" for p in PERCENTILES]].to_numpy(dtype=float)
        _maybe_log(stage_ax, values, "x", dense=30)
        _legend_outside(stage_ax)
        stage_ax.grid(axis="y", visible=False)
    stage_ax.set_title("Latency by stage")
    return fig


def _label_bars(ax: Axes, ys: Any, ends: Any, labels: list[str]) -> None:
    """Write each horizontal bar's label just past its end."""
    for yi, end, label in zip(ys, ends, labels, strict=True):
        ax.annotate(
            label, (end, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8
        )


@_styled
def outcomes_figure(outcomes: pd.DataFrame, declines: pd.DataFrame, top: int = 15) -> Figure:
    """Payments per reason code (top codes) beside approved / BD / TD totals."""
    fig, axes = _figure(
        max(3.2, 0.28 * min(len(outcomes), top) + 1.2), ncols=2, width_ratios=[3, 2]
    )
    ax, decline_ax = axes[0]
    shown = outcomes.head(top)
    if len(outcomes) > top:
        rest = outcomes.iloc[top:]["payments"].sum()
        shown = pd.concat(
            [
                shown,
                pd.DataFrame(
                    [
                        {
                            "reason_code": f"{len(outcomes) - top} other codes",
                            "meaning": "",
                            "decline_type": "",
                            "payments": rest,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    if shown.empty:
        _no_data(ax, "no payments")
    else:
        shown = shown.iloc[::-1]
        y = np.arange(len(shown))
        colours = [DECLINE_COLOURS.get(t, "#78909c") for t in shown["decline_type"]]
        ax.barh(y, shown["payments"], color=colours)
        labels = [
            short(f"{c}  {m}".strip())
            for c, m in zip(shown["reason_code"], shown["meaning"], strict=True)
        ]
        ax.set_yticks(y, labels)
        _label_bars(ax, y, shown["payments"], [fmt.count(int(n)) for n in shown["payments"]])
        ax.set_xlabel("payments")
        ax.grid(axis="y", visible=False)
        ax.margins(x=0.12)
    ax.set_title("Payments by reason code")
    y = np.arange(len(declines))[::-1]
    decline_ax.barh(
        y,
        declines["payments"],
        color=[DECLINE_COLOURS.get(t, "#78909c") for t in declines["decline_type"]],
    )
    decline_ax.set_yticks(y, [short(label) for label in declines["label"]])
    _label_bars(
        decline_ax,
        y,
        declines["payments"],
        [
            f"{fmt.count(int(n))} ({fmt.share(s)})"
            for n, s in zip(declines["payments"], declines["share"], strict=True)
        ],
    )
    decline_ax.set_xlabel("payments")
    decline_ax.margins(x=0.3)
    decline_ax.grid(axis="y", visible=False)
    decline_ax.set_title("Approved vs declined")
    return fig


def _cumulative(ax: Axes, x: Any, counts: np.ndarray, **style: Any) -> None:
    """A running total of per-bin counts, as steps."""
    ax.step(x, np.cumsum(counts), where="post", **style)


def _cumulative_axis(ax: Axes, ylabel: str, title: str, headroom: float = 1.5) -> None:
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    _headroom(ax, headroom)


@_styled
def rate_limit_figure(over_time: pd.DataFrame, top_users: pd.DataFrame) -> Figure:
    """Cumulative rate-limit hits per window beside the users hit most."""
    fig, axes = _figure(3.8, ncols=2)
    ax, users_ax = axes[0]
    x = _time_axis(ax, over_time["t_s"])
    for i, window in enumerate(c for c in over_time.columns if c != "t_s"):
        hits = over_time[window].to_numpy()
        label = f"window {short(window)} ({fmt.count(int(hits.sum()))})"
        _cumulative(ax, x, hits, color=CYCLE[i % len(CYCLE)], label=label)
    _cumulative_axis(ax, "hits so far", "Rate-limit hits over time")
    ax.legend(loc="upper left")
    y = np.arange(len(top_users))[::-1]
    users_ax.barh(y, top_users["hits"], color="#6d4c41")
    users_ax.set_yticks(y, [short(u) for u in top_users["user"]])
    users_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    users_ax.set_xlabel("hits")
    users_ax.grid(axis="y", visible=False)
    users_ax.set_title(f"Top {len(top_users)} users hit")
    return fig


@_styled
def money_figure(table: pd.DataFrame, start_paise: int | None) -> Figure:
    """Total money (flat when conserved), money in flight, what credit-card customers owe
    (when any card was used), and each bank's net position."""
    cards = "card_outstanding_paise" in table and bool(table["card_outstanding_paise"].any())
    fig, axes = _figure(9.5 if cards else 7.5, nrows=4 if cards else 3, sharex=True)
    total_ax, flight_ax, *card_ax, bank_ax = axes[:, 0]
    x = _time_axis(bank_ax, table["t_ms"] / 1000)
    total = table["total_paise"].to_numpy(dtype=float) / 100
    total_ax.plot(x, total, color="#1565c0", label="total money")
    if start_paise is not None:
        total_ax.axhline(start_paise / 100, color="grey", linestyle=":", label="money at start")
    off = table["deviation_paise"].to_numpy() != 0
    if off.any():
        total_ax.plot(x[off], total[off], "o", color="#c62828", label="deviation")
    # the axis is in rupees (a plot needs floats); the figures behind it stay integer paise
    top_paise = int(table["total_paise"].abs().max()) if len(table) else 0
    top = max(top_paise, start_paise or 0) / 100
    total_ax.set_ylim(0, top * 1.15 or 1)
    total_ax.set_title(
        "Total money (customers + settlement − card outstanding): conserved when flat"
        if cards
        else "Total money (customers + settlement): conserved when flat"
    )
    _legend_outside(total_ax)
    flight_ax.plot(x, table["in_flight_paise"].to_numpy(dtype=float) / 100, color="#ef6c00")
    flight_ax.set_title("Money in flight (sum of settlement accounts)")
    if cards:
        owed = table["card_outstanding_paise"].to_numpy(dtype=float) / 100
        card_ax[0].plot(x, owed, color="#6a1b9a")
        card_ax[0].set_ylim(bottom=0)
        card_ax[0].set_title(
            "Owed on credit cards (lent by the banks, so subtracted from the total)"
        )
    banks = [c for c in table.columns if c.startswith("position_")]
    for i, column in enumerate(banks):
        bank = column.removeprefix("position_").removesuffix("_paise")
        bank_ax.plot(
            x,
            table[column].to_numpy(dtype=float, na_value=np.nan) / 100,
            color=CYCLE[i % len(CYCLE)],
            label=short(bank),
        )
    bank_ax.axhline(0, color="grey", linewidth=0.8)
    _rupee_axis(bank_ax)
    bank_ax.set_title("Net position per bank in the open settlement cycle (+ to receive, − owed)")
    if banks:
        _legend_outside(bank_ax)
    for ax in axes[:, 0]:
        _rupee_axis(ax)
    return fig


@_styled
def methods_figure(states: pd.DataFrame, latency: pd.DataFrame) -> Figure:
    """Payments per method stacked by outcome, beside the latency of each method's
    payments that moved money (boxes p25–p75, whiskers p5–p95, line at p50)."""
    fig, axes = _figure(max(2.8, 0.45 * len(states) + 1.6), ncols=2)
    ax, latency_ax = axes[0]
    y = np.arange(len(states))[::-1]
    labels = [short(m) for m in states["method"]]
    left = np.zeros(len(states))
    for i, state in enumerate(c for c in states.columns if c != "method"):
        n = states[state].to_numpy(dtype=float)
        colour = STATE_COLOURS.get(state, CYCLE[i % len(CYCLE)])
        ax.barh(y, n, left=left, color=colour, label=short(state))
        left += n
    _label_bars(ax, y, left, [fmt.count(int(total)) for total in left])
    ax.set_yticks(y, labels)
    ax.margins(x=0.12)
    ax.set_xlabel("payments")
    ax.grid(axis="y", visible=False)
    ax.set_title("Payments by method and outcome")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=4)
    known = latency[latency["payments"] > 0]
    if known.empty:
        _no_data(latency_ax, "no payment moved money")
    else:
        where = dict(zip(states["method"], y, strict=True))
        boxes = [
            {
                "label": short(row.method),
                "whislo": row.p5_ms,
                "q1": row.p25_ms,
                "med": row.p50_ms,
                "q3": row.p75_ms,
                "whishi": row.p95_ms,
            }
            for row in known.itertuples(index=False)
        ]
        latency_ax.bxp(
            boxes,
            positions=[float(where[m]) for m in known["method"]],
            orientation="horizontal",
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#bbdefb", "edgecolor": "#1565c0"},
            medianprops={"color": "#c62828"},
        )
        latency_ax.set_ylim(ax.get_ylim())
        latency_ax.set_yticks(y, labels)
        values = known[["p5_ms", "p95_ms"]].to_numpy(dtype=float)
        _maybe_log(latency_ax, values, "x")
        latency_ax.set_xlabel(
            "latency of payments that moved money\nbox p25–p75 · whiskers p5–p95 · line p50"
        )
        latency_ax.grid(axis="y", visible=False)
    latency_ax.set_title("Latency by method")
    return fig


@_styled
def fraud_figure(over_time: pd.DataFrame, by_rule: pd.DataFrame) -> Figure:
    """Cumulative fraud flags and declines per rule beside the totals per rule."""
    fig, axes = _figure(3.8, ncols=2)
    ax, rule_ax = axes[0]
    x = _time_axis(ax, over_time["t_s"])
    rules = list(by_rule["rule"])
    for column in (c for c in over_time.columns if c != "t_s"):
        kind, rule = column.split(":", 1)
        colour = CYCLE[rules.index(rule) % len(CYCLE)] if rule in rules else "grey"
        style = {"flagged": "-", "declined": "--"}.get(kind, ":")
        _cumulative(
            ax,
            x,
            over_time[column].to_numpy(),
            color=colour,
            linestyle=style,
            label=f"{kind} {short(rule)}",
        )
    _cumulative_axis(ax, "events so far", "Fraud flags (solid), declines and referrals (dashed)",
                     1.6)  # fmt: skip
    ax.legend(loc="upper left", fontsize=8)
    y = np.arange(len(by_rule))
    kinds = [k for k in ("flagged", "declined", "referred") if k in by_rule.columns]
    width = 0.8 / len(kinds)
    colours = {"flagged": "#ef6c00", "declined": "#c62828", "referred": "#6a1b9a"}
    for i, kind in enumerate(kinds):
        offset = (i - (len(kinds) - 1) / 2) * width
        label = "referred to a bank" if kind == "referred" else kind
        rule_ax.bar(y + offset, by_rule[kind], width=width, color=colours[kind], label=label)
    rule_ax.set_xticks(y, [short(r) for r in by_rule["rule"]], rotation=20, ha="right")
    rule_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    rule_ax.set_ylabel("events")
    rule_ax.grid(axis="x", visible=False)
    rule_ax.set_title("Fraud events by rule")
    rule_ax.legend()
    return fig


@_styled
def fraud_truth_figure(over_time: pd.DataFrame) -> Figure:
    """Against the ground truth, over time: each typology's fraudulent payments (solid)
    and those an alert caught (dashed); fraud money that went through, was stopped on
    the risk score, or was refused by a frozen account."""
    fig, axes = _figure(3.8, ncols=2)
    ax, money_ax = axes[0]
    x = _time_axis(ax, over_time["t_s"])
    typologies = [c.split(":", 1)[1] for c in over_time.columns if c.startswith("payments:")]
    for i, typology in enumerate(typologies):
        colour = CYCLE[i % len(CYCLE)]
        _cumulative(ax, x, over_time[f"payments:{typology}"].to_numpy(), color=colour,
                    label=short(typology))  # fmt: skip
        _cumulative(ax, x, over_time[f"alerted:{typology}"].to_numpy(), color=colour,
                    linestyle="--", label="_alerted")  # fmt: skip
    _cumulative_axis(ax, "fraudulent payments so far", "Fraud by typology (dashed: alerted)", 1.4)
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(money_ax, over_time["t_s"])
    for column, label, colour in (
        ("moved_paise", "went through (lost or laundered)", "#c62828"),
        ("stopped_paise", "stopped on the risk score", "#2e7d32"),
        ("frozen_paise", "refused by a frozen account", "#1565c0"),
    ):
        money_ax.step(x, np.cumsum(over_time[column].to_numpy()) / 100, where="post",
                      color=colour, label=label)  # fmt: skip
    _rupee_axis(money_ax)
    money_ax.set_ylabel("fraud money so far (₹)")
    money_ax.set_title("Fraud money over time")
    _headroom(money_ax, 1.4)
    money_ax.legend(loc="upper left", fontsize=8)
    return fig


@_styled
def collects_figure(table: pd.DataFrame) -> Figure:
    """Collect requests created and what became of them."""
    fig, axes = _figure(2.8)
    ax = axes[0, 0]
    y = np.arange(len(table))[::-1]
    colours = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#78909c"]
    ax.barh(y, table["collects"], color=colours[: len(table)])
    ax.set_yticks(y, table["outcome"])
    _label_bars(ax, y, table["collects"], [fmt.count(int(n)) for n in table["collects"]])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.1)
    ax.set_xlabel("collect requests")
    ax.grid(axis="y", visible=False)
    ax.set_title("Collect requests")
    return fig


# -- banks ---------------------------------------------------------------------------


@_styled
def queues_figure(table: pd.DataFrame) -> Figure:
    """Utilisation, queue length and queue wait of each bank's core banking over time."""
    fig, axes = _figure(7.5, nrows=3, sharex=True)
    # (column, label, the least the axis shows: an idle core is a flat line at 0, not ±0)
    panels = (
        ("utilisation", "utilisation", 1.0),
        ("queue", "mean queue", 1.0),
        ("wait_ms", "mean wait", 10.0),
    )
    for (column, label, least), ax in zip(panels, axes[:, 0], strict=True):
        for bank, rows in table.groupby("bank"):
            x = _time_axis(ax, rows["t_s"], table["t_s"])
            ax.plot(x, rows[column], label=short(bank), linewidth=1.3)
        ax.set_ylim(0, max(ax.get_ylim()[1], least))
        ax.set_ylabel(label)
    axes[0, 0].yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[2, 0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.milliseconds(v)))
    places = set(table["bank"])
    servers = "" if all(p.isupper() for p in places) else " (and the switch's and apps' servers)"
    axes[0, 0].set_title(f"Core banking{servers}: utilisation, queue and wait")
    _legend_outside(axes[0, 0])
    for ax in axes[:2, 0]:
        ax.set_xlabel("")
    return fig


@_styled
def load_curve_figure(curve: pd.DataFrame) -> Figure:
    """Latency of successful payments and the success share against offered load, each
    point a bin of time (coloured by when, so a ramp up and down shows both ways)."""
    fig, axes = _figure(4.2, ncols=2)
    latency_ax, success_ax = axes[0, 0], axes[0, 1]
    when = curve["t_s"].to_numpy(dtype=float)
    for column, marker in (("p99_ms", "o"), ("p50_ms", ".")):
        latency_ax.scatter(
            curve["offered_per_s"], curve[column], c=when, cmap="viridis", marker=marker,
            s=18, label=column.removesuffix("_ms"),
        )  # fmt: skip
    _maybe_log(latency_ax, curve[["p50_ms", "p99_ms"]].to_numpy(dtype=float))
    latency_ax.set_xlabel("offered load (payments per second)")
    latency_ax.set_ylabel("latency of successful payments")
    latency_ax.set_title("Latency against offered load")
    latency_ax.legend(loc="upper left")
    points = success_ax.scatter(
        curve["offered_per_s"], curve["success"], c=when, cmap="viridis", s=18
    )
    success_ax.set_ylim(0, 1.05)
    success_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    success_ax.set_xlabel("offered load (payments per second)")
    success_ax.set_ylabel("success")
    success_ax.set_title("Success against offered load")
    fig.colorbar(points, ax=success_ax, label="simulated time (s)")
    return fig


@_styled
def settlement_figure(cycles: pd.DataFrame, caps: Mapping[str, int]) -> Figure:
    """Each bank's net position at each cycle's close (− owed), its cap a dashed line."""
    fig, axes = _figure(4.2)
    ax = axes[0, 0]
    for i, (bank, rows) in enumerate(cycles.groupby("bank", sort=True)):
        colour = CYCLE[i % len(CYCLE)]
        x = _time_axis(ax, rows["t_close_ms"] / 1000, cycles["t_close_ms"] / 1000)
        ax.plot(x, rows["net_paise"] / 100, marker="o", color=colour, label=short(bank))
        if bank in caps:
            ax.axhline(-caps[str(bank)] / 100, color=colour, linestyle="--", linewidth=1,
                       label=f"{short(bank)} cap")  # fmt: skip
    ax.axhline(0, color="grey", linewidth=0.8)
    _rupee_axis(ax)
    ax.set_ylabel("net position (₹)")
    ax.set_title("Net position per bank at each settlement cycle's close (+ received, − owed)")
    _legend_outside(ax)
    return fig
