"""india_2026 against NPCI's figures on its bundled seed and two others, each figure
computed here again from the run's own tables; and what [apps], [population.banks] and
[calibration] refuse."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from upisim.actors import addresses
from upisim.actors.errors import ScenarioError
from upisim.runfolder import Kind, State
from upisim.scenarios.calibration import REMITTER_SIDE
from upisim.scenarios.cluster import dask_client
from upisim.scenarios.config import bundled_scenarios, load_scenario, parse_scenario
from upisim.scenarios.network import latencies
from upisim.scenarios.run import run_scenario
from upisim.scenarios.sections import RateLimitConfig
from upisim.scenarios.world import build_world

# the bundled seed and one it was not tuned on: one round on two workers (.ci/run checks a
# third day, seed 2, from the command line)
SEEDS = (2026, 1)
TOLERANCE = 0.05
NPCI_APPROVED = {"SBI": 0.932, "HDFC": 0.952, "ICICI": 0.961}


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """india_2026 at each seed, on a LocalCluster of two workers (a minute or two each)."""
    root = tmp_path_factory.mktemp("india")
    outs = [root / f"seed{seed}" for seed in SEEDS]
    with dask_client(2, None) as client:
        futures = client.map(
            run_scenario, ["india_2026"] * len(SEEDS), outs, SEEDS, direct=True, pure=False
        )
        for result in client.gather(futures):
            assert result.ok, result.summary["problems"]
    return outs


@pytest.mark.parametrize("i", range(len(SEEDS)))
def test_india_2026_matches_npcis_figures_read_from_its_own_tables(
    days: list[Path], i: int
) -> None:
    out = days[i]
    tx = pd.read_parquet(out / "transactions.parquet")
    tx = tx[tx.kind != Kind.REFUND]
    accounts = pd.read_parquet(out / "accounts.parquet")
    approved = tx[tx.state.isin([State.SUCCESS, State.DEEMED])]
    ticket = approved.amount_paise.mean() / 100
    assert ticket == pytest.approx(1300, rel=TOLERANCE)
    p2m = approved.payee_vpa.isin(accounts.vpa[accounts.merchant]).mean()
    assert p2m == pytest.approx(0.63, rel=TOLERANCE)
    assert len(tx) / len(accounts) == pytest.approx(1.4, rel=TOLERANCE)  # payments a day
    for bank, mine in tx.groupby("payer_bank"):
        ok = mine.state.isin([State.SUCCESS, State.DEEMED]).mean()
        bd = (mine.decline_type == "BD").mean()
        td = ((mine.decline_type == "TD") & mine.response_code.isin(REMITTER_SIDE)).mean()
        if bank in NPCI_APPROVED:
            assert ok == pytest.approx(NPCI_APPROVED[bank], rel=TOLERANCE), bank
        assert 0.858 <= ok <= 0.961, (bank, ok)  # NPCI's range over remitter banks
        assert 0.039 <= bd <= 0.142, (bank, bd)
        assert 0.0002 <= td <= 0.01, (bank, td)
    # Each app's share of payments, by the handle in the payer's VPA
    handle = tx.payer_vpa.str.split("@").str[1]
    phonepe = handle.isin(["ybl", "ibl", "axl"]).mean()
    gpay = handle.isin(["okhdfcbank", "okicici", "oksbi", "okaxis"]).mean()
    assert phonepe == pytest.approx(0.46, rel=TOLERANCE)
    assert gpay == pytest.approx(0.34, rel=TOLERANCE)
    # ... and the run's own comparison agrees with all of it
    summary = pd.read_json(out / "summary.json", typ="series")
    cal = summary["calibration"]
    assert cal["ok"] and cal["within"] == cal["targets"] == 23
    figures = cal["figures"]
    assert figures["average_ticket_inr"]["run"] == pytest.approx(ticket, rel=1e-6)
    assert figures["p2m_share"]["run"] == pytest.approx(p2m, rel=1e-5)
    assert figures["app.PhonePe"]["run"] == pytest.approx(phonepe, rel=1e-5)
    # the daily curve: the evening peak hour carries several times the 3 a.m. hour
    hour = tx.t_initiated_ms // 3_600_000
    assert (hour == 19).sum() > 10 * (hour == 3).sum()


def test_apps_own_their_users_handles_servers_latency_and_limits() -> None:
    scenario = load_scenario(bundled_scenarios()["india_2026"])
    assert scenario.population is not None
    apps = list(scenario.apps)
    apps[0] = apps[0].model_copy(update={"rate_limits": RateLimitConfig(per_minute=2)})
    population = scenario.population.model_copy(update={"size": 2_000})
    small = scenario.model_copy(update={"population": population, "apps": apps})
    world = build_world(small, 1)
    assert len(world.cohorts) == len(small.apps) == 5
    for app_index, app in enumerate(small.apps):
        cohort = world.cohorts[app_index]
        assert cohort.users and all(u.vpa.split("@")[1] in app.handles for u in cohort.users)
    links = latencies(world, small)
    assert links[addresses.users(0), addresses.SWITCH] == 35  # PhonePe
    assert links[addresses.SWITCH, addresses.users(4)] == 60  # the others
    assert [c.limits.per_minute for c in world.cohorts] == [2, 5, 5, 5, 5]  # PhonePe's own


BASE = """
name = "apps"
duration_s = 10
[[banks]]
code = "SBI"
handle = "sbi"
[[banks]]
code = "HDFC"
handle = "hdfcbank"
[population]
size = 10
[[apps]]
name = "PhonePe"
handles = ["ybl"]
share = 1
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("cohorts = 2\n", "cohorts: with [[apps]]"),
        ('[[apps]]\nname = "PhonePe"\nhandles = ["ibl"]\nshare = 1\n', "appears twice"),
        ('[[apps]]\nname = "Paytm"\nhandles = ["ybl"]\nshare = 1\n', "already PhonePe's"),
        ('[[apps]]\nname = "Bank"\nhandles = ["sbi"]\nshare = 1\n', "bank SBI's handle"),
        ('[[apps]]\nname = "X"\nhandles = ["Bad!"]\nshare = 1\n', "apps.1.handles.0"),
        (
            '[[users]]\nname = "A"\nvpa = "a@oksbi"\nbank = "SBI"\nbalance = "1.00"\n',
            "users[0].vpa: 'a@oksbi'",
        ),
        ("[population.banks.AXIS]\nwrong_pin_rate = 0.1\n", "population.banks: 'AXIS'"),
        ("[calibration.banks.AXIS]\napproved = 0.9\n", "calibration.banks: 'AXIS'"),
        ("[calibration]\napps = { GPay = 0.3 }\n", "calibration.apps: 'GPay'"),
        ("[calibration]\nbusiness_declines = [0.2, 0.1]\n", "upside down"),
    ],
)
def test_apps_customers_and_calibration_refuse_what_cannot_be(extra: str, expected: str) -> None:
    text = BASE + extra if not extra.startswith("cohorts") else extra + BASE
    with pytest.raises(ScenarioError) as error:
        parse_scenario(tomllib.loads(text), "apps.toml")
    assert expected in str(error.value)
