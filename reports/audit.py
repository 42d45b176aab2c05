"""The auditor: every invariant of a finished run re-derived from its run folder's tables.

It trusts nothing the simulator computed about itself (summary.json's checks
are not read): money at the start is the sum of the accounts' opening
balances, every money sample must add up to it, every account must close at
its opening plus what the transactions table says moved, settlement must be
empty, and the transactions table must be a valid record of payments. An
empty list means the run folder bears out every invariant of RELIABILITY.md
that its tables can show.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from upisim.reports.run import load_run
from upisim.runfolder import Kind, State

#: the methods whose money comes from a credit line, not a savings account
_CARD_METHODS = frozenset({"CREDIT_CARD"})
_TERMINAL = frozenset({State.SUCCESS, State.FAILED, State.EXPIRED, State.DEEMED})


def audit(run_dir: str | Path) -> list[str]:
    """What the run folder's tables show to be wrong, in words (nothing: all held)."""
    run = load_run(run_dir)
    tx, money, accounts = run.transactions, run.money, run.accounts
    found: list[str] = []
    start = int(accounts.opening_paise.sum())
    found += _conservation(money, tx, start)
    found += _ledgers(tx, accounts)
    found += _records(tx)
    found += _settlement(run.settlement, money, tx)
    return found


def _settlement(cycles: pd.DataFrame, money: pd.DataFrame, tx: pd.DataFrame) -> list[str]:
    """Each closed cycle's net positions sum to zero and are what the payments that moved
    money and ended in it imply; each bank booked what its cycles say (settled_paise), and
    is square at the end: settlement + settled = 0 (runs without a settlement table, made
    before cycles existed, have nothing to check)."""
    if cycles.empty:
        return []
    found = []
    off = cycles.groupby("cycle").net_paise.sum()
    if (off != 0).any():
        found.append(f"settlement: cycle {int(off[off != 0].index[0])}'s positions do not sum to 0")
    if ((cycles.credits_paise - cycles.debits_paise) != cycles.net_paise).any():
        found.append("settlement: a position that is not its credits less its debits")
    moved = tx[tx.state.isin(sorted(State.MOVED))]
    closes = cycles.groupby("cycle").t_close_ms.first().sort_index()
    cycle = closes.searchsorted(moved.t_completed_ms.to_numpy(), side="right")
    implied = (
        pd.concat(
            [
                pd.DataFrame({"cycle": cycle, "bank": moved.payee_bank, "net": moved.amount_paise}),
                pd.DataFrame(
                    {"cycle": cycle, "bank": moved.payer_bank, "net": -moved.amount_paise}
                ),
            ]
        )
        .groupby(["cycle", "bank"])
        .net.sum()
    )
    booked = cycles.set_index(["cycle", "bank"]).net_paise
    both = pd.concat([booked.rename("booked"), implied.rename("implied")], axis=1).fillna(0)
    wrong = both[both.booked != both.implied]
    if len(wrong):
        first = wrong.reset_index().iloc[0]
        found.append(
            f"settlement: {first.bank}'s position in cycle {first.cycle} is {int(first.booked)} "
            f"paise, but the payments that ended in it say {int(first.implied)}"
        )
    last = money[money.t_ms == money.t_ms.max()].set_index("bank")
    posted = cycles.groupby("bank").net_paise.sum().reindex(last.index, fill_value=0)
    if (last.settled_paise != posted).any():
        found.append("settlement: a bank booked other than its cycles' positions")
    unsquare = last.index[(last.settlement_paise + last.settled_paise != 0).to_numpy()]
    for bank in unsquare:
        found.append(f"settlement: {bank} is not square after its last cycle")
    return found


def _conservation(money: pd.DataFrame, tx: pd.DataFrame, start: int) -> list[str]:
    """Every sample adds up to the money the accounts opened with; nothing is left in
    settlement at the end, and each bank's position is what it sent less what it received;
    no bank's customers are ever in overdraft."""
    found = []
    if money.empty:
        return ["money.parquet has no samples"]
    total = (
        (money.customers_paise + money.settlement_paise - money.card_outstanding_paise)
        .groupby(money.t_ms)
        .sum()
    )
    off = total[total != start]
    if len(off):
        worst = int((off - start).abs().max())
        found.append(
            f"conservation: {len(off)} money sample(s) do not add up to the {start} paise "
            f"the accounts opened with (off by up to {worst})"
        )
    last = money[money.t_ms == money.t_ms.max()]
    if int(last.settlement_paise.sum()):
        found.append(
            f"settlement: {int(last.settlement_paise.sum())} paise left in flight at the end "
            f"(debited and neither credited nor given back)"
        )
    if (money.customers_paise < 0).any():
        found.append("overdraft: a bank's customers held less than nothing")
    moved = tx[tx.state.isin(sorted(State.MOVED))]
    position = (
        moved.groupby("payer_bank")
        .amount_paise.sum()
        .sub(moved.groupby("payee_bank").amount_paise.sum(), fill_value=0)
    )
    books = last.set_index("bank").settlement_paise
    wrong = [bank for bank in books.index if int(books[bank]) != int(position.get(bank, 0))]
    for bank in wrong:
        found.append(
            f"settlement: {bank}'s position is {int(books[bank])} paise, but the payments that "
            f"moved money say {int(position.get(bank, 0))}"
        )
    return found


def _ledgers(tx: pd.DataFrame, accounts: pd.DataFrame) -> list[str]:
    """Each account closes at opening + what moved in - what moved out; each card owes what
    was charged to it less what was refunded to it (reply truth: what users were told)."""
    moved = tx[tx.state.isin(sorted(State.MOVED))]
    card = moved.method.isin(sorted(_CARD_METHODS))
    refund = moved.kind == Kind.REFUND
    charged = moved[card & ~refund]  # a card payment draws on the payer's credit line
    repaid = moved[card & refund]  # its refund pays the customer's card down
    out = moved[~(card & ~refund)].groupby("payer_vpa").amount_paise.sum()
    into = moved[~(card & refund)].groupby("payee_vpa").amount_paise.sum()
    owed = (
        charged.groupby("payer_vpa")
        .amount_paise.sum()
        .sub(repaid.groupby("payee_vpa").amount_paise.sum(), fill_value=0)
    )
    book = accounts.set_index("vpa")
    expected = book.opening_paise.add(into, fill_value=0).sub(out, fill_value=0)
    found = []
    wrong = book.index[(book.closing_paise != expected.reindex(book.index)).to_numpy()]
    if len(wrong):
        found.append(
            f"ledger: {len(wrong)} account(s) do not close at opening + what the transactions "
            f"table says moved (e.g. {wrong[0]})"
        )
    owes = owed.reindex(book.index, fill_value=0)
    wrong_cards = book.index[(book.card_outstanding_paise != owes).to_numpy()]
    if len(wrong_cards):
        found.append(
            f"cards: {len(wrong_cards)} card(s) do not owe what was charged to them less what "
            f"was refunded (e.g. {wrong_cards[0]})"
        )
    if (book.closing_paise < 0).any():
        found.append("overdraft: an account closed below zero")
    return found


def _records(tx: pd.DataFrame) -> list[str]:
    """One row per payment, each in a terminal state that agrees with its own columns."""
    found = []
    repeated = tx.txn_id[tx.txn_id.duplicated()]
    if len(repeated):
        found.append(f"at most once: {len(repeated)} transaction id(s) appear twice")
    stuck = tx[tx.state == State.PENDING]
    if len(stuck):
        found.append(f"stuck: {len(stuck)} payment(s) still PENDING when the run stopped")
    odd = tx[~tx.state.isin(sorted(_TERMINAL | {State.PENDING}))]
    if len(odd):
        found.append(f"states: {len(odd)} row(s) in no known state ({odd.state.iloc[0]})")
    ok = tx[tx.state == State.SUCCESS]
    if ((ok.response_code != "00") | ok.t_credited_ms.isna() | ok.t_debited_ms.isna()).any():
        found.append("transitions: a SUCCESS without an approved debit and credit")
    failed = tx[tx.state == State.FAILED]
    if (~failed.decline_type.isin(["BD", "TD"])).any():
        found.append("codes: a FAILED payment that is neither a business nor a technical decline")
    expired = tx[tx.state == State.EXPIRED]
    if ((expired.kind != Kind.COLLECT) | expired.t_debited_ms.notna()).any():
        found.append("expiry: an expired request was debited, or was not a collect request")
    found += _refunds(tx)
    return found


def _refunds(tx: pd.DataFrame) -> list[str]:
    """A refund that moved money gives back a payment that moved money to a merchant, once,
    for no more than was paid."""
    refunds = tx[(tx.kind == Kind.REFUND) & tx.state.isin(sorted(State.MOVED))]
    if refunds.empty:
        return []
    found = []
    paid = tx[tx.state.isin(sorted(State.MOVED)) & (tx.kind != Kind.REFUND)].set_index("txn_id")
    known = refunds.refund_of.isin(paid.index)
    if not known.all():
        found.append(f"refunds: {int((~known).sum())} refund(s) of no payment that moved money")
    if refunds.refund_of.duplicated().any():
        found.append("refunds: a payment refunded twice")
    matched = refunds[known]
    original = paid.loc[matched.refund_of]
    if (matched.amount_paise.to_numpy() > original.amount_paise.to_numpy()).any():
        found.append("refunds: a refund of more than was paid")
    return found
