"""The RFC 6962 Merkle tree, pure: incremental appends, proof shapes, whole-tree rebuilds.

A node is named ``(level, index)``: the complete subtree of ``2**level`` leaves
``[index * 2**level, (index + 1) * 2**level)``. Such nodes never change once the
tree has grown past them, so the store caches them and a proof needs only
O(log n) of them. The *frontier* of a tree of size ``n`` is the list of roots of
its maximal complete subtrees, left to right (one per set bit of ``n``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from postloan.audit.verifier import EMPTY_ROOT, node_hash

Node = tuple[int, int]  # (level, index)


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly less than ``n`` (n >= 2): RFC 6962's split point."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier_levels(size: int) -> list[int]:
    """Levels of the frontier subtrees of a tree of ``size``, left (largest) to right."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def append_leaf(
    frontier: list[bytes], size: int, leaf: bytes, new_nodes: list[tuple[int, int, bytes]]
) -> None:
    """Append ``leaf`` as leaf number ``size``: update ``frontier`` in place and add every
    newly completed subtree of level >= 1 to ``new_nodes`` as (level, index, hash)."""
    carry, level = leaf, 0
    while size >> level & 1:
        carry = node_hash(frontier.pop(), carry)
        level += 1
        new_nodes.append((level, size >> level, carry))
    frontier.append(carry)


def root_of_frontier(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


# --- proofs as ranges of leaves; a range resolves to cached nodes -------------------------------

Range = tuple[int, int]  # leaves [start, end)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form the inclusion path of leaf ``index`` (RFC 9162 PATH)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees of the consistency proof from ``old`` to ``new`` (RFC 9162 SUBPROOF)."""
    if not 0 <= old <= new:
        raise ValueError(f"size {old} cannot be a prefix of size {new}")
    if old in (0, new):
        return []
    out: list[Range] = []
    start, end, m, complete = 0, new, old, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                out.append((start, end))
            break
        k = largest_power_of_two_below(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            complete = False
    out.reverse()
    return out


@dataclass(frozen=True, slots=True)
class Split:
    """MTH of a range that is not one complete aligned subtree: node(left, right)."""

    left: Shape
    right: Shape


Shape = Node | Split


def shape_of(start: int, end: int) -> Shape:
    """How MTH(leaves[start:end]) is built from complete aligned subtrees."""
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        return (n.bit_length() - 1, start // n)
    k = largest_power_of_two_below(n)
    return Split(shape_of(start, start + k), shape_of(start + k, end))


def nodes_of(shape: Shape, out: set[Node]) -> None:
    if isinstance(shape, Split):
        nodes_of(shape.left, out)
        nodes_of(shape.right, out)
    else:
        out.add(shape)


def hash_of(shape: Shape, lookup: Callable[[Node], bytes]) -> bytes:
    if isinstance(shape, Split):
        return node_hash(hash_of(shape.left, lookup), hash_of(shape.right, lookup))
    return lookup(shape)


def resolve(
    ranges: Sequence[Range], fetch: Callable[[set[Node]], Mapping[Node, bytes]]
) -> list[bytes]:
    """Hashes of ``ranges``, reading every needed complete node in one ``fetch`` call."""
    shapes = [shape_of(a, b) for a, b in ranges]
    needed: set[Node] = set()
    for shape in shapes:
        nodes_of(shape, needed)
    nodes = fetch(needed) if needed else {}
    missing = needed - set(nodes)
    if missing:
        raise LookupError(f"tree nodes missing from the store: {sorted(missing)[:5]}")
    return [hash_of(shape, nodes.__getitem__) for shape in shapes]


# --- a whole tree in memory (verification, tests) ---------------------------------------------


class MemoryTree:
    """All levels of a tree held in lists: built level by level, O(n) hashes."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        level = self.levels[0]
        sha256 = hashlib.sha256  # inlined node_hash: a million calls fewer at 1M leaves
        while len(level) > 1:
            level = [
                sha256(b"\x01" + level[i] + level[i + 1]).digest()
                for i in range(0, len(level) - 1, 2)
            ]
            self.levels.append(level)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, key: Node) -> bytes:
        return self.levels[key[0]][key[1]]

    def fetch(self, keys: set[Node]) -> dict[Node, bytes]:
        return {key: self.node(key) for key in keys}

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size == 0:
            return EMPTY_ROOT
        return hash_of(shape_of(0, size), self.node)

    def frontier(self, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        out, start = [], 0
        for level in frontier_levels(size):
            out.append(self.levels[level][start >> level])
            start += 1 << level
        return out

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        return resolve(inclusion_ranges(index, size), self.fetch)

    def consistency_path(self, old: int, new: int | None = None) -> list[bytes]:
        new = self.size if new is None else new
        return resolve(consistency_ranges(old, new), self.fetch)
