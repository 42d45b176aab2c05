"""How fast could upisim's push flow go as columns? A probe for issue 14, not part of upisim.

``python docs/probes/columnar_flow.py [USERS] [PAYMENTS] [RATE]`` (defaults 100000 200000
8400: the bench's size and rate) plays the bench's push payment, all eleven hops
(ReqPay, ReqAuthDetails and its answer, the risk score and its answer, debit and credit
and their answers, RespPay, the payee's confirmation), with every actor handling a window's
messages as numpy columns instead of one envelope at a time:

- the load draws a window's payments at once; every hop is a batch (columns plus each
  item's delivery time), bucketed by window and recipient and sorted by ``(at, seq)``;
- the switch keeps its payments as struct-of-arrays slots and checks each answer's stage
  for a whole batch;
- each bank runs a FIFO pool of 1,000 workers (vectorised while nobody waits, one at a
  time otherwise), an idempotency dict of legs (forgotten when a settlement file every
  10 s says they are over), and PIN blocks (16 bytes a user), limits and balances as
  vectorised checks, one at a time when an account repeats in the batch;
- the fraud monitor counts each payer's payments in the hour, repeats within a batch
  counted exactly;
- the switch's rows are columns written to Parquet in chunks; txn ids become strings only
  there (pyarrow compute).

It leaves out what upisim does besides the happy path: faults, jitter, timers as a heap,
status checks, settlement cycles' positions, notifications, events, the money and queue
tables, reversals, deemed approval, refunds, payment methods, new-user cooling, journals,
Pykka. So its speed is a ceiling for a columnar upisim written with numpy, not
a forecast. Money is checked at the end: every rupee debited was credited.
"""

from __future__ import annotations

import heapq
import os
import resource
import sys
import tempfile
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

Batch = dict[str, Any]  # columns (numpy arrays) of one message type, "at", "seq", "kind"

W = 20  # ms: the bench's window (its shortest link)
BANKS, COHORTS, WORKERS = 4, 2, 1_000
L_PSP, L_BANK, L_FRAUD = 40, 60, 20  # one-way link latencies, ms
SETTLE_MS = 10_000  # how often the banks hear which legs are over (upisim's default)
RING = 1 << 18  # the switch's payment slots: more than are ever in flight
AUTH, RISK, DEBIT, CREDIT, DONE = 1, 2, 3, 4, 5
OPENING = 2_000_000  # paise each user starts with


class World:
    def __init__(self, users: int, seed: int = 7) -> None:
        self.users = users
        self.g = np.random.Generator(np.random.PCG64(seed))
        rows = np.arange(users)
        self.bank_of = rows % BANKS
        self.cohort_of = rows % COHORTS
        self.balance = np.full(users, OPENING, np.int64)
        self.day_count = np.zeros(users, np.int64)
        self.day_amount = np.zeros(users, np.int64)
        self.fraud_count = np.zeros(users, np.int64)
        self.fraud_hour = np.full(users, -1, np.int64)
        self.pin = self.g.integers(-(1 << 62), 1 << 62, (users, 2))  # each user's PIN block
        self.calendar: dict[int, dict[Any, list[Batch]]] = {}
        self.files: list[list[np.ndarray]] = [[] for _ in range(BANKS)]  # settlement files
        self.seq = 0

    def send(self, to: Any, kind: str, at: np.ndarray, cols: dict[str, np.ndarray]) -> None:
        """A batch of one message type, into the bucket of each item's window."""
        if len(at) == 0:
            return
        k = at // W
        first, last = int(k.min()), int(k.max())
        parts = [(first, None)] if first == last else [(int(x), k == x) for x in np.unique(k)]
        for window, sel in parts:
            batch: Batch = {c: v if sel is None else v[sel] for c, v in cols.items()}
            batch["at"] = at if sel is None else at[sel]
            n = len(batch["at"])
            batch["seq"] = np.arange(self.seq, self.seq + n)
            self.seq += n
            batch["kind"] = kind
            self.calendar.setdefault(window, {}).setdefault(to, []).append(batch)


class Pool:
    """FIFO workers, as upisim's ``Pool.admit``: how long each item waits and is served."""

    def __init__(self, workers: int, median_ms: int, seed: int) -> None:
        g = np.random.Generator(np.random.PCG64(seed))
        self.table = np.maximum(1, np.rint(median_ms * g.lognormal(0, 0.5, 4096))).astype(np.int64)
        self.rng = np.random.Generator(np.random.PCG64(seed + 1))
        self.workers = workers
        self.ends = np.zeros(0, np.int64)  # when each busy worker is free
        self.last = 0  # the last start: nobody overtakes

    def delays(self, at: np.ndarray) -> np.ndarray:
        n = len(at)
        service = self.table[self.rng.integers(0, len(self.table), n)]
        ends = self.ends[self.ends > at[0]]
        if len(ends) + n <= self.workers and at[0] >= self.last:  # nobody waits
            self.ends = np.concatenate((ends, at + service))
            return service
        out = np.empty(n, np.int64)
        heap = ends.tolist()
        heapq.heapify(heap)
        last = self.last
        for i, now in enumerate(at.tolist()):
            while heap and heap[0] <= now:
                heapq.heappop(heap)
            start = now
            while len(heap) >= self.workers:
                start = heapq.heappop(heap)
            start = max(start, last)
            work = int(service[i])
            heapq.heappush(heap, start + work)
            if start > now:
                last = start
            out[i] = start - now + work
        self.last = last
        self.ends = np.array(heap, np.int64)
        return out


class Cohort:
    """One app server: starts its users' payments, answers lookups, hears outcomes."""

    def __init__(self, world: World, index: int) -> None:
        self.w, self.index, self.counter = world, index, 0
        self.members = np.flatnonzero(world.cohort_of == index)
        self.open: set[int] = set()  # pushes not yet heard of
        self.told: set[int] = set()  # outcomes heard (a repeat is not told twice)
        self.outcomes = np.zeros(8, np.int64)

    def start(self, now: int, n: int) -> None:
        w = self.w
        payer = self.members[w.g.integers(0, len(self.members), n)]
        payee = w.g.integers(0, w.users, n)
        same = payee == payer
        payee[same] = (payee[same] + 1) % w.users
        rupees = np.rint(w.g.lognormal(np.log(400), 1.0, n))
        amount = np.clip(rupees * 100, 100, 10_000_000).astype(np.int64)
        txn = (self.index << 40) + self.counter + np.arange(n)
        self.counter += n
        self.open.update(txn.tolist())
        at = now + np.sort(w.g.integers(0, W, n))
        cols = {"txn": txn, "payer": payer, "payee": payee, "amount": amount, "t0": at}
        cols["pin_hi"], cols["pin_lo"] = w.pin[payer, 0], w.pin[payer, 1]
        w.send("switch", "ReqPay", at + L_PSP, cols)

    def handle(self, b: Batch) -> None:
        w = self.w
        if b["kind"] == "ReqAuthDetails":
            found = {"slot": b["slot"], "payee_bank": w.bank_of[b["payee"]]}
            w.send("switch", "RespAuthDetails", b["at"] + L_PSP, found)
        elif b["kind"] == "RespPay":
            ids = b["txn"].tolist()
            self.open.difference_update(ids)
            fresh = np.array([t not in self.told for t in ids], bool)
            self.told.update(ids)
            self.outcomes += np.bincount(b["code"][fresh], minlength=8)
        else:  # ReqTxnConfirmation: money arrived
            credited = [-t for t in b["txn"].tolist()]
            self.told.update(credited)


class Switch:
    def __init__(self, world: World) -> None:
        self.w = world
        slots = ("txn", "payer", "payee", "amount", "stage", "t0", "deadline", "pbank", "ebank")
        self.s = {
            c: np.zeros(RING, np.int64) for c in (*slots, "code", "t_deb", "pin_hi", "pin_lo")
        }
        self.settle_at = SETTLE_MS
        self.to_settle: list[list[np.ndarray]] = [[] for _ in range(BANKS)]  # legs over
        self.seen: set[int] = set()
        self.taken = 0
        self.active = np.zeros(RING, bool)
        self.net = np.zeros((BANKS, BANKS), np.int64)  # settlement: payer bank -> payee bank
        self.rows: list[dict[str, np.ndarray]] = []
        self.pending_rows = 0
        self.path = os.path.join(tempfile.mkdtemp(), "transactions.parquet")
        self.writer: pq.ParquetWriter | None = None

    def _to_banks(self, kind: str, bank: np.ndarray, at: np.ndarray, cols: dict) -> None:
        for i in range(BANKS):
            sel = bank == i
            self.w.send(("bank", i), kind, at[sel], {c: v[sel] for c, v in cols.items()})

    def _waiting(self, b: Batch, stage: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The batch's items whose payment waits at ``stage`` (a late answer is dropped)."""
        ok = self.s["stage"][b["slot"]] == stage
        return ok, b["slot"][ok], b["at"][ok]

    def handle(self, b: Batch) -> None:
        s, w, kind = self.s, self.w, b["kind"]
        if kind == "ReqPay":
            ids = b["txn"].tolist()
            if not self.seen.isdisjoint(ids):
                raise SystemExit("a repeated txn id")
            self.seen.update(ids)
            slot = (self.taken + np.arange(len(ids))) % RING
            self.taken += len(ids)
            for c in ("txn", "payer", "payee", "amount", "t0", "pin_hi", "pin_lo"):
                s[c][slot] = b[c]
            s["pbank"][slot] = w.bank_of[b["payer"]]
            s["stage"][slot] = AUTH
            s["deadline"][slot] = b["at"] + 10_000
            self.active[slot] = True
            cohort = w.cohort_of[b["payee"]]
            for c in range(COHORTS):
                sel = cohort == c
                ask = {"slot": slot[sel], "payee": b["payee"][sel]}
                w.send(("cohort", c), "ReqAuthDetails", b["at"][sel] + L_PSP, ask)
        elif kind == "RespAuthDetails":
            ok, slot, at = self._waiting(b, AUTH)
            s["ebank"][slot] = b["payee_bank"][ok]
            s["stage"][slot] = RISK
            score = {"slot": slot, "payer": s["payer"][slot], "amount": s["amount"][slot]}
            w.send("fraud", "ReqRiskScore", at + L_FRAUD, score)
        elif kind == "RespRiskScore":
            ok, slot, at = self._waiting(b, RISK)
            s["stage"][slot] = DEBIT
            s["deadline"][slot] = at + 15_000
            debit = {"slot": slot, "txn": s["txn"][slot], "acct": s["payer"][slot]}
            debit["amount"] = s["amount"][slot]
            debit["pin_hi"], debit["pin_lo"] = s["pin_hi"][slot], s["pin_lo"][slot]
            self._to_banks("ReqPayDebit", s["pbank"][slot], at + L_BANK, debit)
        elif kind == "RespDebit":
            ok, slot, at = self._waiting(b, DEBIT)
            code = b["code"][ok]
            s["t_deb"][slot] = at
            good = code == 0
            self.finish(slot[~good], at[~good], np.full(int((~good).sum()), 2, np.int64))
            slot, at = slot[good], at[good]
            s["stage"][slot] = CREDIT
            credit = {"slot": slot, "txn": s["txn"][slot], "acct": s["payee"][slot]}
            credit["amount"] = s["amount"][slot]
            self._to_banks("ReqPayCredit", s["ebank"][slot], at + L_BANK, credit)
        elif kind == "RespCredit":
            ok, slot, at = self._waiting(b, CREDIT)
            self.finish(slot, at, b["code"][ok])

    def finish(self, slot: np.ndarray, at: np.ndarray, code: np.ndarray) -> None:
        if len(slot) == 0:
            return
        s, w = self.s, self.w
        s["stage"][slot] = DONE
        s["code"][slot] = code
        self.active[slot] = False
        paid = slot[code == 0]
        debits, debited_at = s["txn"][slot] * 2, s["pbank"][slot]  # every one was asked
        credits, credited_at = s["txn"][paid] * 2 + 1, s["ebank"][paid]
        for bank in range(BANKS):  # their legs go into their banks' next settlement files
            self.to_settle[bank].append(debits[debited_at == bank])
            self.to_settle[bank].append(credits[credited_at == bank])
        np.add.at(self.net, (s["pbank"][paid], s["ebank"][paid]), s["amount"][paid])
        row = {c: s[c][slot] for c in ("txn", "payer", "payee", "amount", "t0", "t_deb", "code")}
        row["t_end"] = at
        self.rows.append(row)
        self.pending_rows += len(slot)
        if self.pending_rows >= 65_536:
            self.flush()
        txn, amount = s["txn"][slot], s["amount"][slot]
        payer_cohort, payee_cohort = w.cohort_of[s["payer"][slot]], w.cohort_of[s["payee"][slot]]
        for c in range(COHORTS):
            sel = payer_cohort == c
            told = {"txn": txn[sel], "code": code[sel]}
            w.send(("cohort", c), "RespPay", at[sel] + L_PSP, told)
            sel = (payee_cohort == c) & (code == 0)
            arrived = {"txn": txn[sel], "amount": amount[sel]}
            w.send(("cohort", c), "ReqTxnConfirmation", at[sel] + L_PSP, arrived)

    def settle(self, now: int) -> None:
        """Every ``SETTLE_MS``, each bank hears which of its legs are over."""
        if now < self.settle_at:
            return
        self.settle_at += SETTLE_MS
        for bank in range(BANKS):
            over = self.to_settle[bank]
            if over:
                keys = np.concatenate(over)
                self.to_settle[bank] = []
                self.w.send(("bank", bank), "SettlementFile", np.array([now + L_BANK]), {})
                self.w.files[bank].append(keys)

    def expire(self, now: int) -> None:
        """Payments past their deadline fail (none do in the bench)."""
        active = np.flatnonzero(self.active)
        late = active[self.s["deadline"][active] < now]
        if len(late):
            self.finish(late, np.full(len(late), now), np.full(len(late), 3, np.int64))

    def flush(self) -> None:
        if not self.rows:
            return
        cols = {c: np.concatenate([r[c] for r in self.rows]) for c in self.rows[0]}
        txn = pa.array(cols.pop("txn"))
        n = len(txn)
        issuer = pc.cast(pc.shift_right(txn, 40), pa.string())
        number = pc.cast(pc.bit_wise_and(txn, (1 << 40) - 1), pa.string())
        ids = pc.binary_join_element_wise(
            pa.array(["UPS"] * n),
            pc.utf8_lpad(issuer, 5, "0"),
            pa.array(["T"] * n),
            pc.utf8_lpad(number, 11, "0"),
            "",
        )
        arrays = [ids] + [pa.array(v) for v in cols.values()]
        table = pa.Table.from_arrays(arrays, names=["txn_id", *cols])
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)
        self.rows, self.pending_rows = [], 0


class Fraud:
    def __init__(self, world: World) -> None:
        self.w = world

    def handle(self, b: Batch) -> None:
        w = self.w
        payer, amount, at = b["payer"], b["amount"], b["at"]
        hour = at // 3_600_000
        stale = w.fraud_hour[payer] != hour
        w.fraud_count[payer[stale]] = 0
        w.fraud_hour[payer] = hour
        # each payment's count as if scored one at a time: its rank among the batch's
        # payments by the same payer
        order = np.argsort(payer, kind="stable")
        by_payer = payer[order]
        first = np.r_[True, by_payer[1:] != by_payer[:-1]]
        group = np.cumsum(first) - 1
        rank = np.empty(len(payer), np.int64)
        rank[order] = np.arange(len(payer)) - np.flatnonzero(first)[group]
        count = w.fraud_count[payer] + rank + 1
        np.add.at(w.fraud_count, payer, 1)
        risky = (count > 1_000_000) | (amount > 500_000_000)
        w.send("switch", "RespRiskScore", at + L_FRAUD, {"slot": b["slot"], "risky": risky})


class Bank:
    def __init__(self, world: World, index: int) -> None:
        self.w, self.index = world, index
        self.pool = Pool(WORKERS, 20, seed=100 + index)
        self.legs: dict[int, int] = {}  # (txn, side) -> the code it was answered with
        self.settlement = 0

    def handle(self, b: Batch) -> None:
        w = self.w
        if b["kind"] == "SettlementFile":  # these legs are over: forget them
            pop = self.legs.pop
            for keys in w.files[self.index]:
                for key in keys.tolist():
                    pop(key, None)
            w.files[self.index] = []
            return
        at, acct, amount = b["at"], b["acct"], b["amount"]
        delay = self.pool.delays(at)
        debit = b["kind"] == "ReqPayDebit"
        keys = (b["txn"] * 2 + (0 if debit else 1)).tolist()
        if not self.legs.keys().isdisjoint(keys):
            raise SystemExit("a repeated leg")
        if debit:
            pin_ok = (w.pin[acct, 0] == b["pin_hi"]) & (w.pin[acct, 1] == b["pin_lo"])
            code = np.where(pin_ok, self._debit(acct, amount, pin_ok), 4)
            self.settlement += int(amount[code == 0].sum())
        else:
            np.add.at(w.balance, acct, amount)
            self.settlement -= int(amount.sum())
            code = np.zeros(len(acct), np.int64)
        self.legs.update(zip(keys, code.tolist(), strict=True))
        kind = "RespDebit" if debit else "RespCredit"
        w.send("switch", kind, at + delay + L_BANK, {"slot": b["slot"], "code": code})

    def _debit(self, acct: np.ndarray, amount: np.ndarray, pin_ok: np.ndarray) -> np.ndarray:
        w = self.w
        if len(np.unique(acct)) == len(acct):  # no account twice: all at once
            within = (w.day_count[acct] < 1_000_000) & (
                w.day_amount[acct] + amount <= 1_000_000_000
            )
            ok = pin_ok & within & (w.balance[acct] >= amount)
            a, m = acct[ok], amount[ok]
            w.balance[a] -= m
            w.day_count[a] += 1
            w.day_amount[a] += m
            return np.where(ok, 0, 1)
        code = np.ones(len(acct), np.int64)  # one at a time, in order
        items = zip(acct.tolist(), amount.tolist(), pin_ok.tolist(), strict=True)
        for i, (a, m, p) in enumerate(items):
            if p and w.balance[a] >= m:
                w.balance[a] -= m
                w.day_count[a] += 1
                w.day_amount[a] += m
                code[i] = 0
        return code


def run(users: int, payments: int, rate: int) -> None:
    w = World(users)
    cohorts = [Cohort(w, i) for i in range(COHORTS)]
    switch, fraud = Switch(w), Fraud(w)
    banks = [Bank(w, i) for i in range(BANKS)]
    actors: dict[Any, Any] = {"switch": switch, "fraud": fraud}
    actors.update({("bank", i): bank for i, bank in enumerate(banks)})
    actors.update({("cohort", i): cohort for i, cohort in enumerate(cohorts)})
    start = time.perf_counter()
    started, k, envelopes = 0, 0, 0
    while started < payments or w.calendar or any(switch.to_settle):
        now = k * W
        if started < payments:
            n = min(int(w.g.poisson(rate * W / 1000)), payments - started)
            for c in cohorts:
                c.start(now, n // COHORTS + (c.index < n % COHORTS))
            started += n
        due = w.calendar.pop(k, {})
        for to in sorted(due, key=str):
            by_kind: dict[str, list[Batch]] = {}
            for batch in due[to]:
                by_kind.setdefault(batch["kind"], []).append(batch)
                envelopes += len(batch["at"])
            for kind, group in by_kind.items():
                merged = group[0]
                if len(group) > 1:
                    keys = [c for c in merged if c != "kind"]
                    merged = {c: np.concatenate([x[c] for x in group]) for c in keys}
                order = np.lexsort((merged["seq"], merged["at"]))
                handled = {c: v[order] for c, v in merged.items() if c != "kind"}
                handled["kind"] = kind
                actors[to].handle(handled)
        switch.expire(now)
        switch.settle(now)
        k += 1
    switch.flush()
    if switch.writer is not None:
        switch.writer.close()
    seconds = time.perf_counter() - start
    rows = pq.read_metadata(switch.path).num_rows
    os.unlink(switch.path)
    if sum(b.settlement for b in banks) or int(w.balance.sum()) != users * OPENING:
        raise SystemExit("money was made or lost")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"columnar probe: {users:,} users x {rows:,} payments at {rate:,}/s: {seconds:.2f} s, "
        f"{rows / seconds:,.0f} payments/s, {envelopes / rows:.1f} envelopes a payment, "
        f"{k:,} windows, peak {peak:,.0f} MB"
    )


if __name__ == "__main__":
    args = [int(a.replace("_", "")) for a in sys.argv[1:4]]
    run(*(args + [100_000, 200_000, 8_400][len(args) :]))
