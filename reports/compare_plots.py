"""The comparison's figures: side A in blue and side B in orange on every plot. A side of
several runs draws each run thin and light, and the side's mean over its runs thick; a
side of one run draws that run alone. Each figure takes a side as its runs' tables (the
same `reports.tables` table of each run), so it computes the means it draws itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from upisim.reports import fmt
from upisim.reports.plots import (
    _figure,
    _legend_outside,
    _maybe_log,
    _rupee_axis,
    _styled,
    _time_axis,
    short,
)
from upisim.reports.tables import PERCENTILES

SIDE_COLOURS = ("#1565c0", "#ef6c00")  # A blue, B orange: the same on every plot
RUN_ALPHA = 0.35  # a side's single runs, behind its mean
PERCENTILE_STYLES = {50: ":", 95: "--", 99: "-"}

Frames = Sequence[pd.DataFrame]


def mean_series(frames: Frames, x: str, y: str) -> pd.DataFrame:
    """The mean of column `y` at each value of `x` over the runs that have it."""
    if not frames:
        return pd.DataFrame({x: [], y: []})
    if len(frames) == 1:  # a run's own numbers, integers kept
        return frames[0][[x, y]].reset_index(drop=True)
    both = pd.concat([f[[x, y]].astype({y: float}) for f in frames], ignore_index=True)
    return both.groupby(x, sort=True)[y].mean().reset_index()


def _side(
    ax: Axes,
    frames: Frames,
    x: str,
    y: str,
    colour: str,
    label: str,
    *,
    scale_x: float = 1.0,
    scale_y: float = 1.0,
    others: Sequence[pd.Series] = (),
    each: bool = True,
    **style: Any,
) -> None:
    """One side on `ax`: each run thin (when there are several; in the legend once, if
    `each`), then its mean, labelled."""
    series = [*(f[x] / scale_x for f in frames), *others]
    if len(frames) > 1:
        for i, frame in enumerate(frames):
            xs = _time_axis(ax, frame[x] / scale_x, *series)
            ys = frame[y].to_numpy(dtype=float, na_value=np.nan) * scale_y
            run_label = f"{label}, each run" if i == 0 and each else "_run"
            ax.plot(xs, ys, color=colour, alpha=RUN_ALPHA, linewidth=0.8, label=run_label, **style)
        label = f"{label}, mean"
    mean = mean_series(frames, x, y)
    xs = _time_axis(ax, mean[x] / scale_x, *series)
    width = 2.0 if len(frames) > 1 else 1.5
    ys = mean[y].to_numpy(dtype=float, na_value=np.nan) * scale_y
    ax.plot(xs, ys, color=colour, linewidth=width, label=label, **style)


def _sides(names: tuple[str, str]) -> list[tuple[str, str]]:
    return [(short(name), colour) for name, colour in zip(names, SIDE_COLOURS, strict=True)]


@_styled
def compare_throughput_figure(a: Frames, b: Frames, bin_ms: int, names: tuple[str, str]) -> Figure:
    """Completed payments per second of both sides (offered, the side's mean, dotted)."""
    fig, axes = _figure(4.0)
    ax = axes[0, 0]
    per_second = 1000 / bin_ms
    times = [f["t_s"] for f in (*a, *b)]
    for frames, (name, colour) in zip((a, b), _sides(names), strict=True):
        _side(
            ax,
            frames,
            "t_s",
            "completed",
            colour,
            f"{name} completed",
            scale_y=per_second,
            others=times,
        )
        offered = mean_series(frames, "t_s", "offered")
        x = _time_axis(ax, offered["t_s"], *times)
        ax.plot(
            x,
            offered["offered"] * per_second,
            color=colour,
            linestyle=":",
            linewidth=1.0,
            label=f"{name} offered",
        )
    ax.set_ylabel(f"payments per second ({fmt.seconds_label(bin_ms)} bins)")
    ax.set_ylim(bottom=0)
    ax.set_title("Throughput")
    _legend_outside(ax)
    return fig


@_styled
def compare_latency_figure(a: Frames, b: Frames, names: tuple[str, str]) -> Figure:
    """p50 (dotted), p95 (dashed) and p99 (solid) latency over time of both sides."""
    fig, axes = _figure(4.2)
    ax = axes[0, 0]
    times = [f["t_s"] for f in (*a, *b)]
    for frames, (name, colour) in zip((a, b), _sides(names), strict=True):
        for p in PERCENTILES:
            _side(
                ax,
                frames,
                "t_s",
                f"p{p}_ms",
                colour,
                f"{name} p{p}",
                linestyle=PERCENTILE_STYLES[p],
                others=times,
                each=p == 99,
            )
    values = [f[f"p{p}_ms"].to_numpy(dtype=float) for f in (*a, *b) for p in PERCENTILES]
    _maybe_log(ax, np.concatenate(values) if values else np.array([]))
    if ax.get_yscale() == "linear":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.milliseconds(v)))
    ax.set_ylabel("latency")
    ax.set_title("Latency percentiles over time")
    _legend_outside(ax, fontsize=8)
    return fig


@_styled
def compare_money_figure(a: Frames, b: Frames, names: tuple[str, str]) -> Figure:
    """Money in flight and deviation from the starting total of both sides."""
    fig, axes = _figure(5.0, nrows=2, sharex=True)
    flight_ax, dev_ax = axes[:, 0]
    times = [f["t_ms"] / 1000 for f in (*a, *b)]
    for frames, (name, colour) in zip((a, b), _sides(names), strict=True):
        for ax, column, scale in (
            (flight_ax, "in_flight_paise", 0.01),
            (dev_ax, "deviation_paise", 1.0),
        ):
            _side(
                ax, frames, "t_ms", column, colour, name, scale_x=1000, scale_y=scale, others=times
            )
    flight_ax.set_title("Money in flight")
    flight_ax.set_xlabel("")
    _rupee_axis(flight_ax)
    dev_ax.set_title("Deviation of total money from the start (0 when conserved)")
    dev_ax.set_ylabel("paise")
    low, high = dev_ax.get_ylim()
    dev_ax.set_ylim(min(low, -1), max(high, 1))  # whole paise, even when all zero
    dev_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (flight_ax, dev_ax):
        _legend_outside(ax)
    return fig


@_styled
def compare_cumulative_figure(
    a: Frames, b: Frames, names: tuple[str, str], title: str, ylabel: str
) -> Figure:
    """The running total over time of every count column (all but `t_s`) of both sides."""
    fig, axes = _figure(3.8)
    ax = axes[0, 0]
    times = [f["t_s"] for f in (*a, *b)]

    def so_far(frame: pd.DataFrame) -> pd.DataFrame:
        counts = frame.drop(columns="t_s").sum(axis=1).cumsum()
        return pd.DataFrame({"t_s": frame["t_s"], "so_far": counts})

    for frames, (name, colour) in zip((a, b), _sides(names), strict=True):
        _side(
            ax,
            [so_far(f) for f in frames],
            "t_s",
            "so_far",
            colour,
            name,
            drawstyle="steps-post",
            others=times,
        )
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    _legend_outside(ax)
    return fig


@_styled
def compare_bars_figure(
    a: Frames,
    b: Frames,
    key: str,
    measures: Sequence[tuple[str, str]],
    names: tuple[str, str],
    *,
    xlabel: str = "payments",
    share: bool = False,
    rupees: bool = False,
    by_size: bool = True,
    top: int = 15,
) -> Figure:
    """One panel per (column, title) of `measures`: a bar per `key` and side, the side's
    mean (a key a run lacks counts 0 there, unless `share`: then the runs that have it),
    with each run's value as a dot when the side has several. Keys largest first
    (`by_size`, by the first measure) or in order of name; at most `top`; none that is 0
    everywhere. The x axis shows shares (`share`), rupees (`rupees`) or `xlabel`."""
    means = [_means(frames, key, [c for c, _ in measures], fill=not share) for frames in (a, b)]
    both = pd.concat(means, axis=1, keys=["A", "B"]).fillna(0.0)
    both = both[(both != 0).any(axis=1)]  # nothing on either side: no room taken
    first = measures[0][0]
    if by_size:
        size = both[[("A", first), ("B", first)]].max(axis=1).rename("size")
        order = size.reset_index().sort_values(["size", key], ascending=[False, True])[key]
    else:
        order = pd.Series(sorted(both.index, key=str))
    keys = list(order)[:top]
    fig, axes = _figure(max(3.0, 0.35 * len(keys) + 1.2), ncols=len(measures), sharey=True)
    y = np.arange(len(keys))[::-1]
    for (column, title), ax in zip(measures, axes[0], strict=True):
        for offset, side, frames, (name, colour) in zip(
            (0.2, -0.2), ("A", "B"), (a, b), _sides(names), strict=True
        ):
            values = both[(side, column)].reindex(keys).to_numpy(dtype=float)
            ax.barh(y + offset, values, height=0.4, color=colour, label=name)
            if len(frames) > 1:
                for i, frame in enumerate(frames):
                    own = frame.set_index(key)[column].astype(float)
                    own = own.reindex(keys, fill_value=np.nan if share else 0.0)
                    ax.plot(
                        own.to_numpy(dtype=float, na_value=np.nan),
                        y + offset,
                        "o",
                        markersize=3.5,
                        markerfacecolor="white",
                        markeredgecolor=colour,
                        label=f"{name}, each run" if i == 0 else "_run",
                    )
        ax.set_yticks(y, [short(k) for k in keys])
        ax.set_xlabel("share" if share else xlabel)
        if share:
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        if rupees:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.rupees_short(v)))
        ax.set_xlim(left=0)
        ax.grid(axis="y", visible=False)
        ax.set_title(title)
    _legend_outside(axes[0][-1])
    return fig


def _means(frames: Frames, key: str, columns: list[str], *, fill: bool) -> pd.DataFrame:
    """Each column's mean per key over `frames`; a key missing from a run counts 0 there
    when `fill`."""
    if not frames:
        return pd.DataFrame(columns=columns)
    wide = [f.set_index(key)[columns].astype(float) for f in frames]
    keys = list(dict.fromkeys(k for w in wide for k in w.index))
    stacked = np.stack(
        [w.reindex(keys, fill_value=0.0 if fill else np.nan).to_numpy() for w in wide]
    )
    present = (~np.isnan(stacked)).sum(axis=0)
    mean = np.where(present > 0, np.nansum(stacked, axis=0) / np.maximum(present, 1), np.nan)
    return pd.DataFrame(mean, index=pd.Index(keys, name=key), columns=columns)
