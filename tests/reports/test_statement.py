"""Statements: a savings account's postings end at its closing balance, a credit card's at
what is owed on it, and card postings stay off the savings statement."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from upisim.reports import RunFolderError, card_statement, statement
from upisim.reports.run import ACCOUNT_COLUMNS, TRANSACTION_COLUMNS
from upisim.reports.statement import READS

_ARROW = {"str": pa.string(), "int64": pa.int64(), "Int64": pa.int64(), "bool": pa.bool_()}
ACCOUNTS_SCHEMA = pa.schema([(name, _ARROW[t]) for name, t in ACCOUNT_COLUMNS.items()])
TX_SCHEMA = pa.schema([(name, _ARROW[TRANSACTION_COLUMNS[name]]) for name in READS])
ASHA, BALA, SHOP = "asha@oksbi", "bala@okhdfc", "shop@okicici"
# (txn_id, kind, method, payer, payee, amount, state, response, debited, credited, completed)
PAYMENTS = [
    ("T01", "PAY", "UPI_PUSH", ASHA, SHOP, 1_000_00, "SUCCESS", "00", 100, 200, 250),
    ("T02", "PAY", "CREDIT_CARD", ASHA, SHOP, 2_500_00, "SUCCESS", "00", 300, 400, 450),
    # the credit failed: the card was charged, then the charge reversed
    ("T03", "PAY", "CREDIT_CARD", ASHA, SHOP, 700_00, "FAILED", "U31", 500, None, 900),
    # the merchant gives T02 back: from its savings account to Asha's card
    ("T04", "REFUND", "CREDIT_CARD", SHOP, ASHA, 2_500_00, "SUCCESS", "00", 1000, 1100, 1150),
    ("T05", "PAY", "DEBIT_CARD", ASHA, BALA, 300_00, "SUCCESS", "00", 1200, 1300, 1350),
    ("T06", "COLLECT", "UPI_COLLECT", BALA, ASHA, 200_00, "SUCCESS", "00", 1400, 1500, 1550),
    # the shop collects from Asha, who pays by card
    ("T07", "COLLECT", "CREDIT_CARD", ASHA, SHOP, 400_00, "SUCCESS", "00", 1600, 1700, 1750),
    ("T08", "PAY", "CREDIT_CARD", ASHA, SHOP, 900_00, "FAILED", "U30", None, None, 1760),
    # deemed: the credit stands though its reply never came
    ("T09", "PAY", "CREDIT_CARD", ASHA, SHOP, 150_00, "DEEMED", "00", 1800, None, 1900),
    ("T10", "REFUND", "UPI_PUSH", SHOP, ASHA, 1_000_00, "SUCCESS", "00", 2000, 2100, 2150),
    ("T11", "PAY", "NET_BANKING", ASHA, SHOP, 100_00, "FAILED", "U68", 2200, None, 32_200),
]
# vpa: (opening, closing, card limit, card outstanding), worked out by hand from PAYMENTS
ACCOUNTS = {
    ASHA: (10_000_00, 9_900_00, 50_000_00, 550_00),
    BALA: (5_000_00, 5_100_00, 0, 0),
    SHOP: (0, 550_00, 0, 0),
}


def write_run(path: Path, *, old: bool = False) -> Path:
    """A run folder with just the files statements read; `old` drops the columns runs
    from before cards lack (and the method column, which even older readers may lack)."""
    path.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "vpa": vpa,
            "name": vpa.split("@")[0].title(),
            "bank": vpa.split("@ok")[1].upper(),
            "account": f"{i:012d}",
            "merchant": vpa == SHOP,
            "new_user": False,
            "opening_paise": opening,
            "closing_paise": closing,
            "card_limit_paise": limit,
            "card_outstanding_paise": owed,
        }
        for i, (vpa, (opening, closing, limit, owed)) in enumerate(ACCOUNTS.items())
    ]
    accounts = pa.Table.from_pylist(rows, schema=ACCOUNTS_SCHEMA)
    tx = pa.Table.from_pylist(
        [dict(zip(TX_SCHEMA.names, row, strict=True)) for row in PAYMENTS], schema=TX_SCHEMA
    )
    if old:
        accounts = accounts.drop_columns(["card_limit_paise", "card_outstanding_paise"])
        tx = tx.drop_columns(["method"])
    pq.write_table(accounts, path / "accounts.parquet")
    pq.write_table(tx, path / "transactions.parquet")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("cards"))


@pytest.mark.parametrize("vpa", list(ACCOUNTS))
def test_savings_statement_ends_at_the_closing_balance(run, vpa):
    opening, closing, _, _ = ACCOUNTS[vpa]

    postings = statement(run, vpa)

    assert postings["balance_paise"].iloc[0] == opening
    assert postings["balance_paise"].iloc[-1] == closing
    assert postings["t_ms"].is_monotonic_increasing
    assert postings["balance_paise"].dtype == "int64"


def test_card_postings_stay_off_the_savings_statement(run):
    postings = statement(run, ASHA)

    assert list(zip(postings["txn_id"], postings["kind"], strict=True)) == [
        ("", "OPENING"),
        ("T01", "PAY"),
        ("T05", "PAY"),
        ("T06", "COLLECT"),
        ("T10", "REFUND"),  # a refund of a UPI payment comes back to savings
        ("T11", "PAY"),
        ("T11", "REVERSAL"),
    ]


def test_the_merchant_refunds_a_card_payment_from_savings(run):
    postings = statement(run, SHOP).set_index("txn_id")

    assert postings.loc["T04", "debit_paise"] == 2_500_00
    assert postings.loc["T09", "credit_paise"] == 150_00  # deemed: credited when it completed
    assert postings.loc["T09", "t_ms"] == 1900
    assert "T03" not in postings.index and "T08" not in postings.index


def test_card_statement_ends_at_what_is_owed(run):
    postings = card_statement(run, ASHA)

    assert list(postings.columns[-3:]) == ["debit_paise", "credit_paise", "outstanding_paise"]
    rows = postings[["txn_id", "kind", "debit_paise", "credit_paise", "outstanding_paise"]]
    assert [tuple(r) for r in rows.itertuples(index=False)] == [
        ("", "OPENING", 0, 0, 0),
        ("T02", "PAY", 2_500_00, 0, 2_500_00),
        ("T03", "PAY", 700_00, 0, 3_200_00),
        ("T03", "REVERSAL", 0, 700_00, 2_500_00),
        ("T04", "REFUND", 0, 2_500_00, 0),
        ("T07", "COLLECT", 400_00, 0, 400_00),
        ("T09", "PAY", 150_00, 0, 550_00),
    ]
    assert postings["outstanding_paise"].iloc[-1] == ACCOUNTS[ASHA][3]
    assert postings.loc[postings["kind"] == "REVERSAL", "description"].item() == "reversed (U31)"


def test_no_card_no_card_statement(run):
    with pytest.raises(RunFolderError, match=r"bala@okhdfc has no credit card in this run"):
        card_statement(run, BALA)


def test_unknown_user_is_named(run):
    with pytest.raises(RunFolderError, match="nobody@x: no such user"):
        card_statement(run, "nobody@x")


def test_a_run_from_before_cards_still_gives_savings_statements(tmp_path):
    old = write_run(tmp_path / "old", old=True)

    postings = statement(old, BALA)

    assert postings["balance_paise"].iloc[-1] == ACCOUNTS[BALA][1]
    assert list(postings["txn_id"]) == ["", "T05", "T06"]
    with pytest.raises(RunFolderError, match="has no credit card"):
        card_statement(old, ASHA)


def test_cli_prints_the_card_statement(run, tmp_path, capsys):
    from upisim.scenarios.cli import (
        main,  # the command lives with the CLI; reports never imports it
    )

    out = tmp_path / "card.csv"
    assert main(["statement", str(run), ASHA, "--card", "--csv", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[-1].endswith(",55000")
    assert main(["statement", str(run), ASHA, "--card"]) == 0
    printed = capsys.readouterr().out
    assert "card statement of asha@oksbi" in printed and "outstanding" in printed
    assert main(["statement", str(run), BALA, "--card"]) == 2
    assert "bala@okhdfc has no credit card" in capsys.readouterr().err
