"""Champion/challenger: a loan's experiment group from a stable hash.

The group is a function of the loan id and the experiment's salt only:
``SHA-256(salt | loan_id)`` read as a number in [0, 10 000) basis points and
placed on the cumulative shares, in the order the strategy lists its groups.
A loan keeps its group for the whole experiment, whatever else changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

SCALE = 10_000


def hash_point(loan_id: str, salt: str) -> int:
    """Where ``loan_id`` falls in [0, 10 000): the first 8 bytes of the hash, modulo."""
    digest = hashlib.sha256(f"{salt}|{loan_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SCALE


def assign_group(loan_id: str, salt: str, shares: Mapping[str, int]) -> str:
    """The group of ``loan_id``; ``shares`` are percents adding up to 100."""
    point = hash_point(loan_id, salt)
    edge = 0
    last = ""
    for group, share in shares.items():
        edge += share * SCALE // 100
        last = group
        if point < edge:
            return group
    return last


def assign_groups(loan_ids: Iterable[str], salt: str, shares: Mapping[str, int]) -> list[str]:
    """``[assign_group(x, salt, shares) for x in loan_ids]``, with the edges computed once
    (the close of business splits tens of thousands of loans)."""
    if len(shares) == 1:
        only = next(iter(shares))
        return [only for _ in loan_ids]
    edges: list[tuple[int, str]] = []
    edge = 0
    last = ""
    for group, share in shares.items():
        edge += share * SCALE // 100
        edges.append((edge, group))
        last = group
    prefix = f"{salt}|".encode()
    sha256 = hashlib.sha256
    out: list[str] = []
    for loan_id in loan_ids:
        text = loan_id if type(loan_id) is str else f"{loan_id}"
        point = int.from_bytes(sha256(prefix + text.encode()).digest()[:8], "big") % SCALE
        for upper, group in edges:
            if point < upper:
                out.append(group)
                break
        else:
            out.append(last)
    return out
