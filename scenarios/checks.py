"""The run's invariant checks: money conserved at every window, every account told the truth.

:class:`Ledger` follows each bank's books as the banks report them (their
:class:`~upisim.actors.bank.Books` gauges): after every window in which any
bank's books moved, customers + settlement − card outstanding over all banks
must equal the money the run started with. :func:`unreconciled` checks reply
truth at the end: each user's closing balance is their opening balance plus
what the payments they were told succeeded brought in and took out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from upisim.actors.accounts import DIGITS as ACCOUNT_DIGITS
from upisim.actors.bank import Books
from upisim.actors.methods import CREDIT_CARD
from upisim.actors.types import Address
from upisim.runfolder import Kind, MoneyRow, State
from upisim.scenarios.output import ACCOUNTS, CHUNK_ROWS
from upisim.scenarios.world import World


class Ledger:
    """Every bank's latest books, and the largest deviation from conservation seen."""

    def __init__(self, world: World) -> None:
        self.money_start = world.money_start
        self.books = {bank.address: bank.gauges() for bank in world.banks.values()}
        self._names = {bank.address: code for code, bank in world.banks.items()}
        self._order = sorted(self.books)
        self.max_deviation = 0
        self.checks = 0

    def update(self, address: Address, books: Books) -> None:
        """A bank's books after a window it worked in."""
        self.books[address] = books

    def check(self) -> None:
        """Conservation, after a window in which books moved."""
        self.checks += 1
        self.max_deviation = max(self.max_deviation, abs(self.total - self.money_start))

    @property
    def total(self) -> int:
        """Customers + settlement − card outstanding, over all banks: never moves."""
        return sum(b.customers + b.settlement - b.card_outstanding for b in self.books.values())

    @property
    def in_settlement(self) -> int:
        """Money debited somewhere and not (yet) credited anywhere."""
        return sum(b.settlement for b in self.books.values())

    @property
    def unsquare(self) -> dict[str, int]:
        """Banks whose settlement account is not what their closed cycles' net positions
        undo (settlement + settled != 0), and by how much: once every cycle is closed and
        posted, none."""
        return {
            self._names[a]: b.settlement + b.settled
            for a, b in sorted(self.books.items())
            if b.settlement + b.settled
        }

    @property
    def card_outstanding(self) -> int:
        return sum(b.card_outstanding for b in self.books.values())

    def sample(self, at: int) -> list[MoneyRow]:
        """One money.parquet row per bank, in address order."""
        return [MoneyRow(at, self._names[a], *self.books[a]) for a in self._order]


def closing_books(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Each user's closing balance and card outstanding (int64 paise), in the order of
    ``world.openings``: each bank's columns put back at its accounts' rows."""
    balance = np.zeros(len(world.openings), np.int64)
    owed = np.zeros(len(balance), np.int64)
    for bank in world.banks.values():
        rows = bank.accounts.rows
        balance[rows], owed[rows] = bank.accounts.closing()
    return balance, owed


def account_chunks(world: World, rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
    """Every user's account as the run opened and as it closed (the accounts table), ``rows``
    users at a time, each chunk built a column at a time from the people's columns: names
    and banks taken from their small tables, account numbers (:func:`account_number`) joined
    in Arrow, no user made a tuple."""
    people = world.openings
    users = people.users
    closing, owed = closing_books(world)
    names, codes = pa.array(users.names, pa.string()), pa.array(users.codes, pa.string())
    name_of, bank_of, merchant = users.name_of, users.bank_of, users.merchant
    for i in range(0, len(people), rows):
        j = min(i + rows, len(people))
        banks = codes.take(pa.array(bank_of[i:j]))
        digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(i, j)), pa.string()), ACCOUNT_DIGITS, "0")
        columns = (
            pa.array(users.vpas[i:j], pa.string()),
            names.take(pa.array(name_of[i:j])),
            banks,
            pc.binary_join_element_wise(banks, digits, ""),
            merchant[i:j],
            people.new_user[i:j],
            people.balance[i:j],
            closing[i:j],
            people.card_limit[i:j],
            owed[i:j],
        )
        arrays = [pa.array(c, type=f.type) for c, f in zip(columns, ACCOUNTS, strict=True)]
        yield pa.Table.from_arrays(arrays, schema=ACCOUNTS)


def accounts_table(world: World) -> pa.Table:
    """The whole accounts table at once (tests, small worlds)."""
    return pa.concat_tables([ACCOUNTS.empty_table(), *account_chunks(world)])


RECONCILED = ("vpa", "opening_paise", "closing_paise", "card_outstanding_paise")
"""The accounts table's columns :func:`unreconciled` reads."""


class Moved(NamedTuple):
    """What the transactions table says moved for each row of the accounts table."""

    net: np.ndarray  # int64: in - out of the savings account
    card: np.ndarray  # int64: charged - refunded on the credit card


class RowsOf:
    """The accounts table's row of each VPA of a column of them (-1: no account's), with no
    hash table of a million VPAs: a generated VPA ends its name with its row (as
    :class:`upisim.actors.directory.Roster` reads it), so its row is read off it in Arrow
    and checked against the table's VPA at that row; the ``numbered`` rows before the
    population's (listed users) and any VPA not so numbered are looked up in a small dict."""

    def __init__(self, vpas: pa.Array, numbered: int) -> None:
        self.vpas, self.numbered = vpas, numbered
        self._listed = {v: i for i, v in enumerate(vpas.slice(0, numbered).to_pylist())}

    def __call__(self, column: pa.Array) -> np.ndarray:
        found = pc.struct_field(pc.extract_regex(column, r"(?P<n>[0-9]{1,18})@"), [0])
        rows: np.ndarray = pc.fill_null(pc.cast(found, pa.int64()), -1).to_numpy().copy()
        rows[(rows < self.numbered) | (rows >= len(self.vpas))] = -1
        ok = np.flatnonzero(rows >= 0)
        same = pc.equal(self.vpas.take(rows[ok]), column.take(ok)).to_numpy(zero_copy_only=False)
        rows[ok[~same]] = -1
        listed = self._listed
        for k in np.flatnonzero(rows < 0).tolist():  # listed users, strangers
            rows[k] = listed.get(column[k].as_py(), -1)
        return rows


def moved(transactions: Path | pa.Table, accounts: pa.Table, numbered: int) -> Moved:
    """Each account's money in and out, and card charges, by the payments the transactions
    table says succeeded (payer and payee matched to the accounts table's rows by VPA, the
    first ``numbered`` rows being the scenario's listed users); a VPA of no account is left
    out (as before: a payment to one could not have moved money)."""
    rows_of = RowsOf(accounts.column("vpa").combine_chunks(), numbered)
    net = np.zeros(accounts.num_rows, np.int64)
    card = np.zeros(accounts.num_rows, np.int64)
    columns = ["kind", "method", "state", "payer_vpa", "payee_vpa", "amount_paise"]
    if isinstance(transactions, pa.Table):
        groups: Iterator[pa.Table] = iter([transactions.select(columns)])
    else:
        source = pq.ParquetFile(transactions)
        groups = (source.read_row_group(i, columns=columns) for i in range(source.num_row_groups))
    states = pa.array(sorted(State.MOVED))
    for group in groups:
        done = group.filter(pc.is_in(group["state"], states))
        if not done.num_rows:
            continue
        amount = done["amount_paise"].to_numpy()
        on_card = pc.equal(done["method"], CREDIT_CARD).to_numpy(zero_copy_only=False)
        refund = pc.equal(done["kind"], Kind.REFUND).to_numpy(zero_copy_only=False)
        # a card payment charges the payer's card; a refund of one pays the card down
        out, back = on_card & ~refund, on_card & refund
        payer = rows_of(done["payer_vpa"].combine_chunks())
        payee = rows_of(done["payee_vpa"].combine_chunks())
        for rows, where, into, sign in (
            (payer, out, card, 1),
            (payer, ~out, net, -1),
            (payee, back, card, -1),
            (payee, ~back, net, 1),
        ):
            pick = where & (rows >= 0)
            np.add.at(into, rows[pick], sign * amount[pick])
    return Moved(net, card)


def unreconciled(accounts: pa.Table, moves: Moved) -> int:
    """Users whose closing balance in the accounts table is not opening + what the payments
    they were told succeeded brought in - took out, or whose card does not owe what they were
    told they charged to it (invariant 9: reply truth): ``moves`` are by the table's rows."""
    closing = accounts.column("closing_paise").to_numpy()
    opening = accounts.column("opening_paise").to_numpy()
    owed = accounts.column("card_outstanding_paise").to_numpy()
    return int(((closing != opening + moves.net) | (owed != moves.card)).sum())


def problems(
    ledger: Ledger,
    unreconciled: int,
    stuck: int,
    envelopes_left: int = 0,
    actors_waiting: Sequence[str] = (),
    legs_held: int = 0,
) -> list[str]:
    """Every invariant the run broke, in words (none: the run is ok). Messages still in
    flight or timers still pending mean the run stopped at its drain limit unsettled; legs
    a bank still holds after a settled run mean a settlement file never reached it."""
    found = []
    if unreconciled:
        found.append(
            f"{unreconciled} account(s) do not match the payments their owners were told about"
        )
    if ledger.max_deviation:
        found.append(f"conservation broken: money moved by up to {ledger.max_deviation} paise")
    if ledger.total != ledger.money_start:
        found.append(f"money at end {ledger.total} != money at start {ledger.money_start} paise")
    if stuck:
        found.append(f"{stuck} payment(s) still in flight after the drain limit")
    if envelopes_left:
        found.append(f"{envelopes_left} message(s) still in flight after the drain limit")
    if actors_waiting:
        found.append(
            f"timers still pending after the drain limit at {', '.join(actors_waiting)} "
            f"(refunds due, answers to give, status checks to make): raise drain_limit_s"
        )
    settled = not (stuck or envelopes_left or actors_waiting)
    if settled and legs_held:
        found.append(f"{legs_held} leg(s) still held by banks after everything settled")
    if not stuck and ledger.in_settlement:
        found.append(f"{ledger.in_settlement} paise left in settlement with no payment in flight")
    if settled and not ledger.in_settlement:  # (money left in flight says more)
        for bank, off in ledger.unsquare.items():
            found.append(
                f"{bank} is not square after its last settlement cycle: off by {off} paise"
            )
    return found
