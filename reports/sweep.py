"""The report of a sweep (``sweep.parquet``): each headline figure against each swept
parameter, the mean over seeds as a line, every seed as a dot and the range over
seeds as a band, one line per value of the other parameters; then every run's row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from upisim.reports import plots
from upisim.reports.html import Safe, banner, esc, image, join, markup, page, section, table

# (column, what it is); a share is computed from counts as the report shows it
HEADLINES = (
    ("success_share", "payments that succeeded (share)"),
    ("business_decline_share", "business declines (share)"),
    ("technical_decline_share", "technical declines (share)"),
    ("latency_ms.p50", "latency p50 (ms)"),
    ("latency_ms.p99", "latency p99 (ms)"),
    ("payments_total", "payments"),
    ("rate_limit_hits", "rate-limit hits"),
    ("fraud_declined", "fraud declines (U16)"),
    ("reversals", "reversals"),
    ("deemed", "deemed approvals"),
    ("fraud_scores_by_rule.any.recall", "fraud recall (any rule)"),
)


def with_shares(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the shares of success and of each decline type, from the counts."""
    total = runs.get("payments_total", pd.Series(np.nan, index=runs.index)).replace(0, np.nan)
    out = runs.copy()
    if "payments_by_state.SUCCESS" in runs:
        out["success_share"] = runs["payments_by_state.SUCCESS"].fillna(0) / total
    for column, kind in (("business_decline_share", "BD"), ("technical_decline_share", "TD")):
        source = f"payments_by_decline_type.{kind}"
        if source in runs:
            out[column] = runs[source].fillna(0) / total
    return out


def _figure(runs: pd.DataFrame, param: str, others: list[str], column: str, label: str) -> Figure:
    fig, axes = plots._figure(3.0)
    ax = axes[0, 0]
    numeric = pd.api.types.is_numeric_dtype(runs[param])
    values = sorted(runs[param].unique(), key=lambda v: (str(type(v)), v))
    position = {v: (v if numeric else i) for i, v in enumerate(values)}
    groups = runs.groupby(others, dropna=False) if others else [((), runs)]
    for i, (key, group) in enumerate(groups):
        colour = plots.CYCLE[i % len(plots.CYCLE)]
        keys = key if isinstance(key, tuple) else (key,)
        line = ", ".join(
            f"{o.removeprefix('param.')} = {k}" for o, k in zip(others, keys, strict=True)
        )
        stats = group.groupby(param)[column].agg(["mean", "min", "max"]).reindex(values)
        x = np.array([position[v] for v in stats.index], dtype=float)
        ax.plot(x, stats["mean"], "-o", color=colour, label=line or "mean over seeds")
        ax.fill_between(x, stats["min"], stats["max"], color=colour, alpha=0.15, lw=0)
        dots = [position[v] for v in group[param]]
        ax.plot(dots, group[column], ".", color=colour, alpha=0.5, label="_seeds")
    if not numeric:
        ax.set_xticks(range(len(values)), [plots.short(v) for v in values])
    name = param.removeprefix("param.")
    ax.set_xlabel(name)
    ax.set_ylabel(label)
    ax.set_title(f"{label} against {name}")
    ax.legend(fontsize=8)
    return fig


def build_sweep_report(
    out_dir: str | Path, title: str = "sweep", figures: Mapping[str, str] | None = None
) -> Path:
    """Write ``out_dir/sweep.html`` from ``out_dir/sweep.parquet``; return its path.
    ``figures`` (column -> label) are the figures to plot; default: :data:`HEADLINES`."""
    out = Path(out_dir)
    runs = with_shares(pd.read_parquet(out / "sweep.parquet"))
    wanted_figures = list(figures.items()) if figures else list(HEADLINES)
    unknown = [column for column, _ in wanted_figures if column not in runs]
    params = [c for c in runs.columns if c.startswith("param.")]
    finished = runs[runs.ok.fillna(False).astype(bool)]
    sections: dict[str, Safe] = {}
    for param in params:
        others = [p for p in params if p != param]
        images = []
        for column, label in wanted_figures:
            if column not in finished or finished[column].isna().all():
                continue
            fig = _figure(finished, param, others, column, label)
            images.append(image(plots.png_bytes(fig), f"{label} against {param}"))
        name = param.removeprefix("param.")
        key = markup(
            "{} values of {}, {} seed(s) each: the mean over seeds (line), each seed (dots), "
            "the range over seeds (band).",
            runs[param].nunique(), name, int(runs.groupby(params).size().max()),
        )  # fmt: skip
        if figures and unknown:
            key = markup(
                '{} <span class="bad">Not in sweep.parquet, so not plotted: {}.</span>',
                key,
                ", ".join(unknown),
            )
        sections[f"Against {name}"] = section(f"Against {name}", key, images or [esc("")])
    wanted = ("run_id", "seed", *params, "ok", "error", "payments_total", "success_share",
              "latency_ms.p50", "latency_ms.p99")  # fmt: skip
    shown = [c for c in wanted if c in runs]
    formats: dict[str, Callable[[Any], str]] = {"seed": str, "success_share": "{:.1%}".format}
    headers = {p: p.removeprefix("param.") for p in params}
    sections["Runs"] = section(
        "Runs", markup("{} runs; each run's folder is runs/RUN_ID.", len(runs)),
        [table(runs[shown], formats, headers=headers)],
    )  # fmt: skip
    failed = int((~runs.ok.fillna(False).astype(bool)).sum())
    top = banner(
        failed == 0,
        markup("{} runs, every one finished with its invariants held", len(runs))
        if failed == 0
        else markup("{} of {} runs failed or broke an invariant: see Runs", failed, len(runs)),
    )
    html = page(f"upisim sweep: {title}", join([esc(str(out))]), top, sections)
    path = out / "sweep.html"
    path.write_text(html, encoding="utf-8")
    return path
