"""The switch's and a PSP app server's capacity, each actor started alone: requests
queue for their workers, a full queue refuses (U80 at the switch, U86 at the app), and
address lookups wait but are never refused."""

from __future__ import annotations

from tests.actors.test_user import EVERYONE, USERS
from upisim.actors import codes
from upisim.actors.app import RateLimits
from upisim.actors.base import Deliver, LogicActor, envelope
from upisim.actors.capacity import LOOKUP_OP, REQUEST_OP, Capacity, Service
from upisim.actors.load import Behaviour
from upisim.actors.messages import ReqAuthDetails, ReqPay, RespAuthDetails, RespPay, StartPayment
from upisim.actors.switch import Switch
from upisim.actors.types import Address, BankCode, Paise, SimTime, TxnId, Vpa
from upisim.actors.user import UserCohort
from upisim.runfolder import EventRow, QueueRow, TransactionRow

PAYER, PAYEE = Vpa("rahul@okhdfcbank"), Vpa("priya@oksbi")
FIXED = Service(100, 0)  # every request takes a worker 100 ms


def switch(workers: int, queue_limit: int | None = None) -> Switch:
    capacity = Capacity(workers, {REQUEST_OP: FIXED}, queue_limit)
    directory = {PAYER: Address("users:0"), PAYEE: Address("users:1")}
    return Switch(directory, {"HDFC", "SBI"}, capacity=capacity)


def pays(n: int) -> list[ReqPay]:
    return [
        ReqPay(TxnId(f"T{i}"), PAYER, PAYEE, Paise(100), BankCode("HDFC"), "A", "c", SimTime(0))
        for i in range(n)
    ]


def test_new_requests_queue_for_the_switchs_workers(actors: None) -> None:
    ref = LogicActor.start(switch(workers=2))
    batch = [envelope(m, at=0, sender="users:0") for m in pays(5)]
    out = ref.ask(Deliver(batch, until=1), timeout=5)
    lookups = sorted((at, m.txn_id) for at, _, _, to, m in out.sends if to == "users:1")
    # two workers, 100 ms each: the lookups leave in pairs, in arrival order
    assert lookups == [(100, "T0"), (100, "T1"), (200, "T2"), (200, "T3"), (300, "T4")]
    ref.stop()


def test_a_full_switch_queue_refuses_at_once_with_u80_and_a_row() -> None:
    s = switch(workers=1, queue_limit=1)
    out = s.deliver([envelope(m, at=0, sender="users:0") for m in pays(3)])
    told = [m for *_, to, m in out.sends if to == "users:0" and isinstance(m, RespPay)]
    assert [(m.txn_id, m.result, m.code) for m in told] == [("T2", "FAILURE", codes.SWITCH_BUSY)]
    (row,) = [r for r in out.records if isinstance(r, TransactionRow)]
    assert (row.txn_id, row.state, row.decline_type) == ("T2", "FAILED", "TD")
    assert s.payments.keys() == {"T0", "T1"}  # the others go on: one served, one queued
    s.core.close(1_000)  # type: ignore[union-attr]
    (queue,) = [r for r in s.deliver([]).records if isinstance(r, QueueRow)]
    assert (queue.place, queue.arrivals, queue.refused, queue.workers) == ("switch", 2, 1, 1)


def cohort(workers: int, queue_limit: int | None = None) -> UserCohort:
    capacity = Capacity(workers, {REQUEST_OP: FIXED, LOOKUP_OP: Service(50, 0)}, queue_limit)
    return UserCohort(0, USERS, EVERYONE, Behaviour(), 1, RateLimits(0, 0), capacity=capacity)


def test_an_app_server_sends_its_users_requests_as_its_workers_free(actors: None) -> None:
    ref = LogicActor.start(cohort(workers=1))
    taps = [StartPayment(USERS[0].vpa, EVERYONE[2], Paise(100 + i)) for i in range(3)]
    out = ref.ask(Deliver([envelope(m, at=0) for m in taps], until=1), timeout=5)
    leaving = [(at, m.amount) for at, _, _, to, m in out.sends if isinstance(m, ReqPay)]
    assert leaving == [(100, 100), (200, 101), (300, 102)]
    ref.stop()


def test_a_full_app_server_turns_a_payment_away_u86_before_the_switch_hears_of_it() -> None:
    c = cohort(workers=1, queue_limit=0)
    taps = [StartPayment(USERS[0].vpa, EVERYONE[2], Paise(100 + i)) for i in range(2)]
    out = c.deliver([envelope(m, at=0) for m in taps])
    assert [m.amount for *_, m in out.sends if isinstance(m, ReqPay)] == [100]
    (row,) = [r for r in out.records if isinstance(r, TransactionRow)]
    assert (row.amount_paise, row.response_code, row.t_received_ms) == (101, "U86", None)
    assert [e.kind for e in out.records if isinstance(e, EventRow)] == ["PSP_BUSY"]


def test_address_lookups_wait_for_a_worker_and_are_never_refused() -> None:
    c = cohort(workers=1, queue_limit=0)
    asks = [ReqAuthDetails(TxnId(f"L{i}"), USERS[1].vpa) for i in range(3)]
    out = c.deliver([envelope(m, at=0, sender="switch") for m in asks])
    answers = [(at, m.txn_id) for at, _, _, _, m in out.sends if isinstance(m, RespAuthDetails)]
    assert answers == [(50, "L0"), (100, "L1"), (150, "L2")]  # queued past its bound: lookups wait
