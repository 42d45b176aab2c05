"""Figures survive whatever text a run puts in their labels, and empty tables."""

from __future__ import annotations

import pandas as pd
import pytest

from upisim.reports import compare_plots, plots, tables

PNG = b"\x89PNG\r\n\x1a\n"
# Unbalanced or unknown mathtext makes matplotlib raise if "$" is parsed as math.
HOSTILE = ["$\\nosuchsymbol$@x", "_hidden@x", "a" * 300 + "@x", "₹ & <b>"]


def legend_texts(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_rate_limit_figure_takes_any_user_name():
    events = pd.DataFrame({
        "t_ms": range(len(HOSTILE)), "kind": "RATE_LIMIT", "subject": HOSTILE,
        "detail": ["1m", "$x$", "_w", "1h"],
    })  # fmt: skip
    over_time = tables.rate_limit_over_time(events, 1000, 5000)

    fig = plots.rate_limit_figure(over_time, tables.rate_limit_top_users(events))

    assert plots.png_bytes(fig).startswith(PNG)
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert "$\\nosuchsymbol$@x" in labels
    assert max(len(label) for label in labels) <= plots.MAX_LABEL


def test_legend_shows_names_starting_with_an_underscore():
    money = pd.DataFrame({
        "t_ms": [0, 0, 1000, 1000], "bank": ["_HIDDEN", "SBI"] * 2,
        "customers_paise": [100, 100, 90, 110], "settlement_paise": [0, 0, 10, -10],
    })  # fmt: skip

    fig = plots.money_figure(tables.money_over_time(money, 200), 200)

    assert plots.png_bytes(fig).startswith(PNG)
    assert " _HIDDEN" in legend_texts(fig)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.latency_over_time_figure(tables.latency_over_time(EMPTY_TX, 1000)),
        lambda: plots.latency_distribution_figure(
            tables.latency_histogram(EMPTY_TX), tables.stage_latencies(EMPTY_TX)
        ),
        lambda: plots.outcomes_figure(tables.outcomes(EMPTY_TX), tables.declines(EMPTY_TX)),
        lambda: plots.throughput_figure(tables.throughput(EMPTY_TX, 1000, 1000), 1000),
    ],
)
def test_figures_of_an_empty_run_still_render(draw):
    assert plots.png_bytes(draw()).startswith(PNG)


EMPTY_TX = pd.DataFrame({
    "kind": pd.Series(dtype="str"), "state": pd.Series(dtype="str"),
    "reason_code": pd.Series(dtype="str"), "decline_type": pd.Series(dtype="str"),
    **{c: pd.Series(dtype="int64") for c in ("t_initiated_ms", "t_received_ms", "t_completed_ms",
                                              "latency_ms")},
    **{c: pd.Series(dtype="Int64") for c in ("t_resolved_ms", "t_risk_ms", "t_debited_ms",
                                              "t_credited_ms")},
})  # fmt: skip


def test_two_runs_share_one_time_unit():
    short_run = pd.DataFrame({"t_ms": [0, 60_000], "in_flight_paise": 0, "deviation_paise": 0})
    long_run = pd.DataFrame({"t_ms": [0, 3_600_000], "in_flight_paise": 0, "deviation_paise": 0})

    fig = compare_plots.compare_money_figure([short_run], [long_run], ("A", "B"))

    lines = fig.axes[1].get_lines()
    assert [line.get_xdata()[-1] for line in lines] == [1.0, 60.0]  # minutes, both
    assert fig.axes[1].get_xlabel() == "simulated time (min)"


def test_methods_figure_takes_any_method_name_and_one_with_no_success():
    tx = pd.DataFrame({
        "method": ["UPI_PUSH", "UPI_PUSH", *HOSTILE], "state": ["SUCCESS"] + ["FAILED"] * 5,
        "amount_paise": 100, "latency_ms": [200, 50, 10, 20, 30, 40],
    })  # fmt: skip

    fig = plots.methods_figure(tables.method_states(tx), tables.method_latency(tx))

    assert plots.png_bytes(fig).startswith(PNG)
    ticks = fig.axes[0].get_yticklabels()
    labels = [t.get_text() for t in ticks]
    top = max(ticks, key=lambda t: t.get_position()[1])
    assert top.get_text() == "UPI_PUSH"  # the first method is the top bar
    assert "$\\nosuchsymbol$@x" in labels
    assert max(len(label) for label in labels) <= plots.MAX_LABEL


def test_money_figure_adds_a_card_panel_only_when_cards_were_used():
    money = pd.DataFrame({
        "t_ms": [0, 1000], "bank": ["SBI", "SBI"], "customers_paise": [100, 150],
        "settlement_paise": [0, 0], "card_outstanding_paise": [0, 50],
    })  # fmt: skip
    with_cards = plots.money_figure(tables.money_over_time(money, 100), 100)
    without = plots.money_figure(tables.money_over_time(money.head(1), 100), 100)

    assert len(with_cards.axes) == 4 and len(without.axes) == 3
    assert "card outstanding" in with_cards.axes[0].get_title()
    assert [line.get_ydata()[-1] for line in with_cards.axes[2].get_lines()] == [0.5]  # ₹0.50


def test_a_day_long_run_is_plotted_in_hours_with_its_faults_shaded_there():
    day = pd.DataFrame({"t_ms": [0, 86_400_000], "in_flight_paise": 0, "deviation_paise": 0})
    windows = pd.DataFrame(
        {"fault": ["SBI core offline"], "from_s": [36_000.0], "to_s": [39_600.0]}
    )
    with plots.shading(windows):
        fig = compare_plots.compare_money_figure([day], [day], ("A", "B"))
    ax = fig.axes[1]
    assert ax.get_xlabel() == "simulated time (h)"
    assert [line.get_xdata()[-1] for line in ax.get_lines()] == [24.0, 24.0]
    (span,) = [p for p in ax.patches if p.get_label() == "fault window"]
    assert span.get_x() == 10.0 and span.get_width() == 1.0  # 10:00 to 11:00


def test_each_side_has_its_colour_and_each_run_of_a_side_a_thin_line():
    def run(offered: list[int]) -> pd.DataFrame:
        return pd.DataFrame({"t_s": [0, 1, 2], "offered": offered, "completed": offered})

    a = [run([1, 2, 3]), run([3, 4, 5])]
    b = [run([10, 10, 10])]

    fig = compare_plots.compare_throughput_figure(a, b, 1000, ("A: 2 runs", "B: one"))

    lines = fig.axes[0].get_lines()
    blue, orange = compare_plots.SIDE_COLOURS
    by_colour = {c: [ln for ln in lines if ln.get_color() == c] for c in (blue, orange)}
    assert len(by_colour[blue]) + len(by_colour[orange]) == len(lines)
    # A: two thin, light runs, their mean thick, and offered; B: its one run and offered
    thin = [ln for ln in by_colour[blue] if ln.get_alpha() == compare_plots.RUN_ALPHA]
    assert len(thin) == 2 and all(ln.get_linewidth() < 1 for ln in thin)
    (mean,) = [ln for ln in by_colour[blue] if ln.get_label() == "A: 2 runs completed, mean"]
    assert list(mean.get_ydata()) == [2, 3, 4] and mean.get_linewidth() == 2
    assert len(by_colour[orange]) == 2 and all(ln.get_alpha() is None for ln in by_colour[orange])


def test_bars_of_two_sides_are_means_with_a_dot_per_run():
    a = [pd.DataFrame({"code": ["Z7", "00"], "payments": [20, 240]}),
         pd.DataFrame({"code": ["Z7", "00"], "payments": [28, 240]})]  # fmt: skip
    b = [pd.DataFrame({"code": ["00", "U16"], "payments": [240, 0]})]  # U16: 0 everywhere

    fig = compare_plots.compare_bars_figure(a, b, "code", [("payments", "by code")], ("A", "B"))

    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["00", "Z7"]  # largest first
    widths = {(round(p.get_y(), 1), p.get_facecolor()[:3]): p.get_width() for p in ax.patches}
    assert sorted(widths.values()) == [0, 24, 240, 240]  # B never had a Z7: it counts 0
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(dots) == 2 and sorted(x for d in dots for x in d.get_xdata()) == [20, 28, 240, 240]
