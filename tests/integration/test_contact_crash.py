"""Exactly once at the sink: SIGKILL the dispatcher at random points while it sends
10,000 SMS to a loopback gateway, re-run it, and count what the gateway received.

The gateway does not de-duplicate; it records every request it accepted. The
dispatcher runs in a forked child (a real process, killed with SIGKILL) so that
each run starts in milliseconds instead of paying the imports again.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from postloan.config import load_settings
from postloan.contact.dispatcher import Dispatcher
from postloan.contact.gateway_stub import GatewayStub
from postloan.contact.outbox import enqueue
from postloan.contact.settings import ContactSettings
from postloan.store import Store, open_store
from postloan.store.tables import Borrower
from postloan.store.tables_contact import ContactOutbox

N = 10_000
LEASE = 1.0
AT = datetime(2026, 3, 3, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def _fill(store: Store) -> None:
    phone = store.cipher.encrypt("phone", "13800000000")
    with store.begin() as conn:
        conn.execute(
            insert(Borrower),
            [{"borrower_id": f"B{i}", "name": f"借款人{i}", "phone_enc": phone} for i in range(N)],
        )
        for i in range(N):
            enqueue(
                conn,
                loan_id=f"L{i}",
                borrower_id=f"B{i}",
                template="overdue",
                channel="sms",
                business_date=AT.date(),
                step="crash-test",
                variables={"days_past_due": 3, "amount_overdue": 10_000 + i},
            )


def _dispatch(url: str) -> None:
    """The child: a fresh store and dispatcher, one pass over the outbox."""
    store = open_store(load_settings(), migrate=False)
    cfg = ContactSettings(
        sms_url=url, lease_seconds=LEASE, batch_size=50, rate_per_second={"sms": 0.0}
    )
    Dispatcher(store, cfg, clock=lambda: AT).run_once()
    os._exit(0)


def _states(store: Store) -> dict[str, int]:
    with store.begin() as conn:
        rows = conn.execute(
            select(ContactOutbox.state, func.count()).group_by(ContactOutbox.state)
        ).all()
    return {str(s): int(n) for s, n in rows}


@pytest.mark.slow  # ~30 s on an idle 2-core machine, 70 s when it is shared
def test_every_message_reaches_the_sink_exactly_once_despite_kills(database_url: str) -> None:
    store = open_store(load_settings())
    _fill(store)
    store.close()  # no connection crosses the fork
    fork = multiprocessing.get_context("fork")
    rng = random.Random(20261129)
    kills = 0
    with GatewayStub() as gateway:
        for _ in range(5):  # killed runs
            child = fork.Process(target=_dispatch, args=(gateway.url,))
            child.start()
            time.sleep(rng.uniform(0.3, 2.0))
            if child.is_alive():
                assert child.pid is not None
                os.kill(child.pid, signal.SIGKILL)
                kills += 1
            child.join()
            time.sleep(LEASE + 0.2)  # let the dead worker's lease expire
        for _ in range(5):  # clean runs until everything is sent
            child = fork.Process(target=_dispatch, args=(gateway.url,))
            child.start()
            child.join(timeout=300)
            if child.is_alive():
                child.kill()
            assert child.exitcode == 0
            store = open_store(load_settings(), migrate=False)
            states = _states(store)
            store.close()
            if states == {"sent": N}:
                break
            time.sleep(LEASE + 0.2)
        counts = gateway.received.counts()
    assert kills >= 3, "the dispatcher finished before it could be killed: raise N"
    assert states == {"sent": N}
    assert len(counts) == N, f"{N - len(counts)} messages never reached the sink"
    duplicated = {k: v for k, v in counts.items() if v > 1}
    assert duplicated == {}, f"{len(duplicated)} messages reached the sink twice"
