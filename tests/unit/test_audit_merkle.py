"""RFC 6962 / RFC 9162 Merkle tree: known vectors, incremental appends, proof properties."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.audit.merkle import (
    MemoryTree,
    append_leaf,
    consistency_ranges,
    inclusion_ranges,
    root_of_frontier,
)
from postloan.audit.verifier import (
    EMPTY_ROOT,
    VerificationError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


@pytest.fixture(scope="module")
def vectors() -> dict[str, object]:
    path = Path(__file__).parents[1] / "data" / "audit" / "rfc6962_vectors.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _tree(vectors: dict) -> MemoryTree:  # type: ignore[type-arg]
    return MemoryTree([leaf_hash(bytes.fromhex(x)) for x in vectors["leaves"]])


def test_empty_tree_root_is_hash_of_nothing(vectors: dict) -> None:  # type: ignore[type-arg]
    assert EMPTY_ROOT.hex() == vectors["empty_root"] == hashlib.sha256(b"").hexdigest()
    assert MemoryTree([]).root() == EMPTY_ROOT


def test_roots_of_sizes_1_to_8_match_the_vectors(vectors: dict) -> None:  # type: ignore[type-arg]
    tree = _tree(vectors)
    assert [tree.root(n).hex() for n in range(1, 9)] == vectors["roots"]


def test_incremental_frontier_gives_the_same_roots(vectors: dict) -> None:  # type: ignore[type-arg]
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    for i, leaf in enumerate(vectors["leaves"]):
        append_leaf(frontier, i, leaf_hash(bytes.fromhex(leaf)), nodes)
        assert root_of_frontier(frontier).hex() == vectors["roots"][i]
    tree = _tree(vectors)
    # every completed subtree was reported exactly once, with its hash
    assert sorted((lv, ix) for lv, ix, _ in nodes) == sorted(
        (lv, ix) for lv in range(1, 4) for ix in range(8 >> lv)
    )
    assert all(tree.node((lv, ix)) == h for lv, ix, h in nodes)


def test_inclusion_paths_match_the_vectors(vectors: dict) -> None:  # type: ignore[type-arg]
    tree = _tree(vectors)
    for case in vectors["inclusion"]:
        path = tree.inclusion_path(case["index"], case["size"])
        assert [h.hex() for h in path] == case["path"]
        leaf = tree.node((0, case["index"]))
        root = bytes.fromhex(vectors["roots"][case["size"] - 1])
        verify_inclusion(case["index"], case["size"], leaf, path, root)


def test_consistency_paths_match_the_vectors(vectors: dict) -> None:  # type: ignore[type-arg]
    tree = _tree(vectors)
    for case in vectors["consistency"]:
        path = tree.consistency_path(case["size1"], case["size2"])
        assert [h.hex() for h in path] == case["path"]
        roots = [bytes.fromhex(vectors["roots"][case[k] - 1]) for k in ("size1", "size2")]
        verify_consistency(case["size1"], case["size2"], roots[0], roots[1], path)


def test_corrupted_vector_proofs_are_rejected(vectors: dict) -> None:  # type: ignore[type-arg]
    tree = _tree(vectors)
    root8 = bytes.fromhex(vectors["roots"][7])
    path = tree.inclusion_path(5, 8)
    leaf = tree.node((0, 5))
    for bad in (
        lambda: verify_inclusion(4, 8, leaf, path, root8),  # wrong index
        lambda: verify_inclusion(5, 16, leaf, path, root8),  # wrong size
        lambda: verify_inclusion(5, 8, leaf_hash(b"WrongLeaf"), path, root8),
        lambda: verify_inclusion(5, 8, leaf, path, EMPTY_ROOT),
        lambda: verify_inclusion(5, 8, leaf, [*path, root8], root8),  # trailing garbage
        lambda: verify_inclusion(5, 8, leaf, path[:-1], root8),  # removed component
        lambda: verify_inclusion(5, 8, leaf, [root8, *path], root8),  # preceding root
    ):
        with pytest.raises(VerificationError):
            bad()
    old, new = bytes.fromhex(vectors["roots"][5]), root8
    cpath = tree.consistency_path(6, 8)
    for bad in (
        lambda: verify_consistency(5, 8, old, new, cpath),
        lambda: verify_consistency(6, 8, new, old, cpath),  # swapped roots
        lambda: verify_consistency(6, 8, old, new, []),
        lambda: verify_consistency(6, 8, old, new, cpath[:-1]),
        lambda: verify_consistency(6, 8, old, new, [*cpath, old]),
        lambda: verify_consistency(8, 6, new, old, cpath),  # time travel
    ):
        with pytest.raises(VerificationError):
            bad()


def test_range_shapes_follow_rfc_9162_split() -> None:
    assert inclusion_ranges(5, 8) == [(4, 5), (6, 8), (0, 4)]
    assert consistency_ranges(6, 8) == [(4, 6), (6, 8), (0, 4)]
    assert consistency_ranges(4, 8) == [(4, 8)]  # old root is a node: not repeated
    assert consistency_ranges(0, 8) == consistency_ranges(8, 8) == []


sizes = st.integers(min_value=1, max_value=140)


@given(size=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(
    size: int, data: st.DataObject
) -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(size)])
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = tree.inclusion_path(index, size)
    root = tree.root(size)
    verify_inclusion(index, size, tree.node((0, index)), path, root)
    assert len(path) <= (size - 1).bit_length()
    if path:
        flip = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        wrong = list(path)
        wrong[flip] = bytes([wrong[flip][0] ^ 1]) + wrong[flip][1:]
        with pytest.raises(VerificationError):
            verify_inclusion(index, size, tree.node((0, index)), wrong, root)
    other = leaf_hash(b"not in the log")
    with pytest.raises(VerificationError):
        verify_inclusion(index, size, other, path, root)


@given(new=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_a_wrong_one_does_not(
    new: int, data: st.DataObject
) -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(new)])
    old = data.draw(st.integers(min_value=1, max_value=new))
    path = tree.consistency_path(old, new)
    verify_consistency(old, new, tree.root(old), tree.root(new), path)
    if old < new:
        forked = node_hash(tree.root(old), b"\x00" * 32)  # a root that is not a prefix
        with pytest.raises(VerificationError):
            verify_consistency(old, new, forked, tree.root(new), path)
        flip = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        wrong = list(path)
        wrong[flip] = bytes([wrong[flip][0] ^ 1]) + wrong[flip][1:]
        with pytest.raises(VerificationError):
            verify_consistency(old, new, tree.root(old), tree.root(new), wrong)


@given(size=sizes)
def test_frontier_root_equals_full_recompute(size: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    for i, leaf in enumerate(leaves):
        append_leaf(frontier, i, leaf, nodes)
    tree = MemoryTree(leaves)
    assert root_of_frontier(frontier) == tree.root()
    assert frontier == tree.frontier()
    assert all(tree.node((lv, ix)) == h for lv, ix, h in nodes)
