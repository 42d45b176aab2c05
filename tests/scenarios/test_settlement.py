"""Settlement in whole runs: every cycle's positions recomputed from the transactions
table, money conserved across the closes, and U03 exactly when a cap binds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tests.scenarios.test_reliability import audited, people
from upisim.reports.report import build_report
from upisim.reports.run import load_run

CYCLE_S = 4  # a 20 s load: five cycles on the clock, and the day's last when it is over


def cycles(cap: dict[str, str] | None = None) -> dict[str, Any]:
    scenario = people()
    scenario["settlement"] = {"cycle_s": CYCLE_S}
    scenario["banks"] = [
        {
            "code": code,
            "handle": handle,
            **({"net_debit_cap": cap[code]} if cap and code in cap else {}),
        }
        for code, handle in (("HDFC", "okhdfcbank"), ("SBI", "oksbi"), ("ICICI", "okicici"))
    ]
    return scenario


def implied(tx: pd.DataFrame, closes: list[int]) -> dict[tuple[int, str], int]:
    """Each bank's net position per cycle, from the payments alone: a payment that moved
    money belongs to the first cycle closing after it ended."""
    nets: dict[tuple[int, str], int] = {}
    for p in tx[tx.state.isin(["SUCCESS", "DEEMED"])].itertuples():
        cycle = next(i for i, t in enumerate(closes) if t > p.t_completed_ms)
        for bank, amount in ((p.payer_bank, -p.amount_paise), (p.payee_bank, p.amount_paise)):
            nets[cycle, bank] = nets.get((cycle, bank), 0) + amount
    return nets


def test_each_cycles_positions_are_what_its_payments_imply_and_sum_to_zero(
    tmp_path: Path,
) -> None:
    s, tx = audited(tmp_path, cycles())
    run = load_run(tmp_path)
    table = run.settlement
    closes = table.groupby("cycle").t_close_ms.first().sort_index().tolist()
    assert len(closes) >= 5 and s["settlement_cycles"] == len(closes)
    assert closes[:5] == [4_000, 8_000, 12_000, 16_000, 20_000]
    assert (table.groupby("cycle").net_paise.sum() == 0).all()
    booked = {(r.cycle, r.bank): r.net_paise for r in table.itertuples()}
    assert booked == {k: v for k, v in implied(tx, closes).items() if v or k in booked}
    assert s["largest_net_debit_paise"] == -table.net_paise.min() > 0


def test_money_is_conserved_across_the_closes_and_every_bank_ends_square(
    tmp_path: Path,
) -> None:
    audited(tmp_path, cycles())
    run = load_run(tmp_path)
    money = run.money
    total = money.customers_paise + money.settlement_paise - money.card_outstanding_paise
    assert total.groupby(money.t_ms).sum().nunique() == 1  # every sample, before and after
    posted = money.groupby("t_ms").settled_paise.apply(lambda s: s.abs().sum())
    assert posted.nunique() > 3  # the positions arrive cycle after cycle
    end = money[money.t_ms == money.t_ms.max()].set_index("bank")
    assert (end.settlement_paise + end.settled_paise == 0).all()
    assert (end.settled_paise == run.settlement.groupby("bank").net_paise.sum()).all()


def test_u03_only_when_a_cap_is_set_below_the_natural_net_debit(tmp_path: Path) -> None:
    free, tx = audited(tmp_path / "free", cycles())
    assert "U03" not in free["payments_by_code"]
    table = load_run(tmp_path / "free").settlement
    worst = table.loc[table.net_paise.idxmin()]
    bank, owed = worst.bank, -int(worst.net_paise)
    # a cap above all the bank's debits of the whole run never binds: the same run
    gross = int(tx[(tx.payer_bank == bank) & (tx.payer_bank != tx.payee_bank)].amount_paise.sum())
    loose, _ = audited(tmp_path / "loose", cycles({bank: f"{gross / 100:.2f}"}))
    assert loose["payments_by_code"] == free["payments_by_code"]
    # a cap at a quarter of its natural net debit does
    cap = owed // 4
    capped, tx = audited(tmp_path / "capped", cycles({bank: f"{cap / 100:.2f}"}))
    declined = tx[tx.reason_code == "U03"]
    assert len(declined) > 5 and set(declined.payer_bank) == {bank}
    assert capped["payments_by_code"]["U03"] == len(declined)
    assert (declined.state == "FAILED").all() and (declined.decline_type == "TD").all()
    assert declined.t_debited_ms.isna().all()  # declined before any money moved
    table = load_run(tmp_path / "capped").settlement
    assert table[table.bank == bank].net_paise.min() >= -cap
    # the report's settlement section says what the cap did, from the tables
    page = build_report(tmp_path / "capped").read_text(encoding="utf-8")
    assert f"{len(declined)} payment(s) were declined U03" in page
    report = pd.read_csv(tmp_path / "capped" / "report" / "settlement.csv").set_index("bank")
    assert report.loc[bank, "U03"] == len(declined)
    assert report.loc[bank, "net_debit_cap_paise"] == cap
    owed_at_close = max(0, -int(table[table.bank == bank].net_paise.min()))
    assert report.loc[bank, "largest_net_debit_paise"] == owed_at_close
    assert (tmp_path / "capped" / "report" / "settlement.png").stat().st_size > 10_000
