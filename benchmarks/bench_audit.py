"""Benchmark: the verifiable audit log on SQLite (issue 9).

    .venv/bin/python benchmarks/bench_audit.py [--entries 1000000] [--proofs 1000]

In a fresh ``POSTLOAN_HOME`` (a temporary directory, SQLite file, WAL):

- appends/s with ``postloan.audit.record`` at 1 entry per transaction and at
  100 entries per transaction, and with ``record_many`` (10,000 per transaction);
- the log is then filled to ``--entries`` with ``record_many`` and checkpointed;
- ``audit verify`` (``verify_log``: stream, re-hash, rebuild, compare) of the whole log;
- inclusion proof generation (``inclusion_proof``, two indexed reads) for random
  entries against the newest checkpoint, mean and p99 in ms, each checked.

Baselines in the same run, over the same leaf hashes: a plain hash chain (to prove
one entry the verifier must replay the chain, on average n/2 hashes from the
start) and a naive Merkle proof that recomputes the whole tree per proof.
Figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _events(n: int, offset: int) -> list[Any]:
    from postloan.audit import AuditEvent

    return [
        AuditEvent(
            "system",
            "system",
            "classification.change",
            "loan",
            f"L{offset + i:08d}",
            before={"classification": "关注"},
            after={"classification": "次级", "dpd": 95},
            reason="DPD 91+",
        )
        for i in range(n)
    ]


def appends(store: Any, per_tx: int, total: int) -> tuple[int, int]:
    """(appends per wall second, appends per CPU second of this process)."""
    from postloan.audit import record

    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < total:
        with store.begin() as conn:
            for i in range(per_tx):
                record(
                    conn,
                    actor="alice",
                    role="collector",
                    action="case.transition",
                    object_type="case",
                    object_id=f"C{done + i}",
                    before={"state": "open"},
                    after={"state": "promised"},
                    reason="承诺还款",
                )
        done += per_tx
    return round(done / (time.perf_counter() - started)), round(done / (time.process_time() - cpu))


def fill(store: Any, target: int, batch: int = 10_000) -> float:
    from sqlalchemy import text

    from postloan.audit import record_many

    with store.engine.connect() as conn:
        size = conn.execute(text("SELECT size FROM audit_tree_state")).scalar_one()
    started, added = time.perf_counter(), 0
    while size + added < target:
        n = min(batch, target - size - added)
        with store.begin() as conn:
            record_many(conn, _events(n, size + added))
        added += n
    return added / (time.perf_counter() - started) if added else 0.0


def hash_chain_proof_ms(leaves: list[bytes], samples: int) -> float:
    """Prove entry i in a hash chain: replay h_k = H(h_{k-1} || leaf_k) from the start."""
    rng = random.Random(2)
    started = time.perf_counter()
    for _ in range(samples):
        target = rng.randrange(len(leaves))
        head = b"\x00" * 32
        for leaf in leaves[: target + 1]:
            head = hashlib.sha256(head + leaf).digest()
    return (time.perf_counter() - started) / samples * 1000


def naive_merkle_proof_ms(leaves: list[bytes], samples: int) -> float:
    from postloan.audit.merkle import MemoryTree

    rng = random.Random(3)
    started = time.perf_counter()
    for _ in range(samples):
        MemoryTree(leaves).inclusion_path(rng.randrange(len(leaves)))
    return (time.perf_counter() - started) / samples * 1000


def postgres_appends(base_url: str, home: Path) -> dict[str, int]:
    """Appends on PostgreSQL in a throw-away schema (same workload as on SQLite)."""
    import uuid

    from sqlalchemy import create_engine

    from postloan.config import Settings
    from postloan.store import open_store

    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in base_url else "?"
    url = f"{base_url}{joiner}options=-csearch_path%3D{schema}"
    store = open_store(Settings(home=home, database_url=url))
    try:
        one = appends(store, 1, 2_000)
        hundred = appends(store, 100, 20_000)
    finally:
        store.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
    return {
        "pg_appends_per_s_1_per_tx": one[0],
        "pg_appends_per_s_100_per_tx": hundred[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--home", type=Path, help="reuse a home (keeps the filled log)")
    parser.add_argument("--pg", help="also time appends on this PostgreSQL URL (a fresh schema)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-audit-"))
    os.environ["POSTLOAN_HOME"] = str(home)
    os.environ.pop("POSTLOAN_DATABASE_URL", None)

    from sqlalchemy import text

    from postloan.audit import write_checkpoint
    from postloan.audit.audit_check import verify_log
    from postloan.audit.checkpoint import load_signing_key
    from postloan.audit.proofs import inclusion_proof
    from postloan.audit.verifier import check_proof
    from postloan.store import open_store

    store = open_store()
    out: dict[str, Any] = {"entries": args.entries, "cpus": os.cpu_count()}
    with store.engine.connect() as conn:
        fresh = conn.execute(text("SELECT size FROM audit_tree_state")).scalar_one() == 0
    if fresh:
        out["appends_per_s_1_per_tx"], out["appends_per_cpu_s_1_per_tx"] = appends(store, 1, 3_000)
        out["appends_per_s_100_per_tx"], out["appends_per_cpu_s_100_per_tx"] = appends(
            store, 100, 20_000
        )
    filled = fill(store, args.entries)
    if filled:  # nothing to add when --home already holds the log
        out["appends_per_s_record_many_10k_per_tx"] = round(filled)
    with store.begin() as conn:
        checkpoint = write_checkpoint(conn, store.settings)
    key = load_signing_key(store.settings.keys_dir).verifier_key()

    started, cpu = time.perf_counter(), time.process_time()
    with store.begin() as conn:
        report = verify_log(conn, key)
    out["verify_s"] = round(time.perf_counter() - started, 2)
    out["verify_cpu_s"] = round(time.process_time() - cpu, 2)
    out["verify_ok"] = report.ok
    assert report.ok, report.problems[:3]

    rng = random.Random(1)
    times: list[float] = []
    cpu = time.process_time()
    with store.begin() as conn:
        for _ in range(args.proofs):
            entry_id = rng.randint(1, checkpoint.tree_size)
            started = time.perf_counter()
            proof = inclusion_proof(conn, entry_id)
            times.append((time.perf_counter() - started) * 1000)
            check_proof(proof, checkpoint.note, key)
    out["proof_cpu_ms_mean_incl_check"] = round((time.process_time() - cpu) / args.proofs * 1000, 3)
    times.sort()
    out["proof_ms_mean"] = round(statistics.fmean(times), 3)
    out["proof_ms_p99"] = round(times[int(len(times) * 0.99) - 1], 3)
    out["proof_hashes"] = len(proof["path"])

    with store.engine.connect() as conn:
        leaves = [
            bytes(r[0])
            for r in conn.exec_driver_sql("SELECT leaf_hash FROM audit_entries ORDER BY id")
        ]
    out["baseline_hash_chain_proof_ms"] = round(hash_chain_proof_ms(leaves, 5), 1)
    out["baseline_hash_chain_proof_hashes_mean"] = len(leaves) // 2
    out["baseline_full_recompute_proof_ms"] = round(naive_merkle_proof_ms(leaves, 2), 1)
    out["db_mb"] = round((home / "postloan.db").stat().st_size / 1e6, 1)
    store.close()
    if args.pg:
        out.update(postgres_appends(args.pg, home))
    print(json.dumps(out, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
