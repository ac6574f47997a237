"""Stand-alone verifier of postloan audit proofs: standard library + ``cryptography`` only.

An auditor copies this one file, the installation's public key (``postloan
audit export-key``), the checkpoints they keep and a proof (``postloan audit
prove``), and checks them without access to the database:

    python verifier.py PROOF.json --checkpoint CHECKPOINT.txt --public-key audit.vkey
    python verifier.py CONSISTENCY.json --old-checkpoint OLD.txt --checkpoint NEW.txt \\
        --public-key audit.vkey

Hashing is RFC 6962 / RFC 9162 (leaf = SHA-256(0x00 || entry), node =
SHA-256(0x01 || left || right)); the proof checks are the algorithms of RFC 9162
§2.1.3.2 and §2.1.4.2. Checkpoints are C2SP signed notes (tlog-checkpoint body:
origin, size, base64 root hash, extension lines) with an Ed25519 signature line.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
SIGNATURE_PREFIX = "\u2014 "  # "— ", the signed-note signature line prefix
ED25519_ALG = b"\x01"


class VerificationError(Exception):
    """A proof, checkpoint or key that does not check out (the message says what)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion ``path`` of leaf ``index`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in path):
        raise VerificationError("every hash must be 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise VerificationError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("the inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    if root_from_inclusion(index, size, leaf, path) != root:
        raise VerificationError(f"leaf {index} is not in the tree of size {size} with this root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, path: Sequence[bytes]
) -> None:
    """Check that the tree (size2, root2) extends (size1, root1) (RFC 9162 §2.1.4.2)."""
    if not 0 <= size1 <= size2:
        raise VerificationError(f"size {size1} cannot be a prefix of size {size2}")
    if any(len(p) != HASH_SIZE for p in path):
        raise VerificationError("every hash must be 32 bytes")
    if size1 == size2:
        if path or root1 != root2:
            raise VerificationError("equal sizes need equal roots and an empty proof")
        return
    if size1 == 0:
        if path:
            raise VerificationError("a proof from the empty tree must be empty")
        return
    if not path:
        raise VerificationError("the consistency proof is empty")
    nodes = list(path)
    if size1 & (size1 - 1) == 0:  # an exact power of two: the old root is a node of the new
        nodes.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise VerificationError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != root1 or sr != root2:
        raise VerificationError(f"the tree of size {size2} does not extend the one of size {size1}")


# --- keys and checkpoints (C2SP signed note) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifierKey:
    name: str
    key_id: bytes  # 4 bytes: SHA-256(name || "\n" || 0x01 || public key)[:4]
    public_key: Ed25519PublicKey


def key_id_for(name: str, raw_public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALG + raw_public).digest()[:4]


def parse_verifier_key(text: str, name: str | None = None) -> VerifierKey:
    """A note verifier key ``NAME+KEYID+BASE64(0x01||KEY)`` or an Ed25519 PEM public key
    (then ``name`` is taken from the checkpoint being checked)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise VerificationError("the public key is not an Ed25519 key")
        if name is None:
            raise VerificationError("a PEM key needs the key name of the checkpoint")
        raw = key.public_bytes_raw()
        return VerifierKey(name, key_id_for(name, raw), key)
    try:
        key_name, key_hex, key_b64 = text.split("+", 2)  # names hold no "+"
        blob = base64.b64decode(key_b64, validate=True)
        key_id = bytes.fromhex(key_hex)
    except (ValueError, binascii.Error):
        raise VerificationError("the public key is neither a note verifier key nor PEM") from None
    if len(blob) != 33 or blob[:1] != ED25519_ALG or len(key_id) != 4:
        raise VerificationError("the verifier key is not an Ed25519 note key")
    if key_id_for(key_name, blob[1:]) != key_id:
        raise VerificationError("the verifier key's id does not match its name and key")
    return VerifierKey(key_name, key_id, Ed25519PublicKey.from_public_bytes(blob[1:]))


@dataclass(frozen=True, slots=True)
class CheckpointBody:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]


def split_note(text: str) -> tuple[str, list[str]]:
    """The signed body (with its final newline) and the signature lines of a note."""
    body, sep, sigs = text.partition("\n\n")
    if not sep or not body:
        raise VerificationError("a checkpoint is a body, a blank line and signature lines")
    return body + "\n", [line for line in sigs.split("\n") if line]


def parse_checkpoint_body(body: str) -> CheckpointBody:
    lines = body.rstrip("\n").split("\n")
    if len(lines) < 3:
        raise VerificationError("a checkpoint body needs origin, size and root lines")
    origin, size_text, root_text, *extensions = lines
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise VerificationError(f"bad checkpoint size line {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise VerificationError("the checkpoint root is not base64") from None
    if len(root) != HASH_SIZE:
        raise VerificationError("the checkpoint root is not a SHA-256 hash")
    return CheckpointBody(origin, int(size_text), root, tuple(extensions))


def verify_checkpoint(text: str, key_text: str) -> CheckpointBody:
    """Parse a checkpoint and check its signature with the given public key."""
    body_text, signatures = split_note(text)
    body = parse_checkpoint_body(body_text)
    key = parse_verifier_key(key_text, name=body.origin)
    for line in signatures:
        if not line.startswith(SIGNATURE_PREFIX):
            raise VerificationError(f"bad signature line {line!r}")
        name, _, sig_b64 = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            blob = base64.b64decode(sig_b64, validate=True)
        except binascii.Error:
            raise VerificationError(f"bad signature line {line!r}") from None
        if name != key.name or blob[:4] != key.key_id:
            continue
        try:
            key.public_key.verify(blob[4:], body_text.encode())
        except InvalidSignature:
            raise VerificationError("the checkpoint signature is not valid for this key") from None
        if body.origin != key.name:
            raise VerificationError(f"checkpoint origin {body.origin!r} is not {key.name!r}")
        return body
    raise VerificationError(f"the checkpoint carries no signature by key {key.name!r}")


# --- proof files -----------------------------------------------------------------------------


def _hashes(values: Sequence[str]) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise VerificationError("proof hashes must be hex strings") from None


def check_proof(
    proof: dict[str, object],
    checkpoint: str,
    key: str,
    old_checkpoint: str | None = None,
) -> str:
    """Check a proof document against signed checkpoints; return a one-line summary."""
    new = verify_checkpoint(checkpoint, key)
    kind = proof.get("type")
    if kind == "inclusion":
        entry = str(proof.get("entry", "")).encode()
        index, size = int(str(proof["leaf_index"])), int(str(proof["tree_size"]))
        if size != new.size:
            raise VerificationError(f"the proof is for size {size}, the checkpoint has {new.size}")
        leaf = leaf_hash(entry)
        if "leaf_hash" in proof and bytes.fromhex(str(proof["leaf_hash"])) != leaf:
            raise VerificationError("the entry does not hash to the proof's leaf hash")
        verify_inclusion(index, size, leaf, _hashes(proof["path"]), new.root)  # type: ignore[arg-type]
        return f"OK: entry {proof.get('entry_id', index + 1)} is in the log of size {size}"
    if kind == "consistency":
        if old_checkpoint is None:
            raise VerificationError("a consistency proof needs --old-checkpoint")
        old = verify_checkpoint(old_checkpoint, key)
        size1, size2 = int(str(proof["old_size"])), int(str(proof["new_size"]))
        if (size1, size2) != (old.size, new.size):
            raise VerificationError(
                f"the proof is for sizes {size1}->{size2}, the checkpoints have "
                f"{old.size}->{new.size}"
            )
        if old.origin != new.origin:
            raise VerificationError("the two checkpoints come from different logs")
        verify_consistency(size1, size2, old.root, new.root, _hashes(proof["path"]))  # type: ignore[arg-type]
        return f"OK: the log of size {size2} extends the log of size {size1}"
    raise VerificationError(f"unknown proof type {kind!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m postloan.audit.verifier",
        description="Verify a postloan audit proof with only the public key.",
    )
    parser.add_argument("proof", type=Path, help="proof JSON from `postloan audit prove`")
    parser.add_argument("--checkpoint", type=Path, required=True, help="signed checkpoint")
    parser.add_argument("--public-key", type=Path, required=True, help="verifier key or PEM")
    parser.add_argument("--old-checkpoint", type=Path, help="older checkpoint (consistency)")
    args = parser.parse_args(argv)
    try:
        proof = json.loads(args.proof.read_text(encoding="utf-8"))
        old = args.old_checkpoint.read_text(encoding="utf-8") if args.old_checkpoint else None
        summary = check_proof(
            proof,
            args.checkpoint.read_text(encoding="utf-8"),
            args.public_key.read_text(encoding="utf-8"),
            old,
        )
    except (OSError, ValueError, KeyError, VerificationError) as err:
        sys.stderr.write(f"FAILED: {err}\n")
        return 1
    sys.stdout.write(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
