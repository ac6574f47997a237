"""Signed checkpoints: the installation's Ed25519 key and C2SP signed-note checkpoints.

The key lives in ``keys_dir/audit-ed25519.pem`` (created on first use, mode
0600). Its public half is exported as a note verifier key
(``NAME+KEYID+BASE64``) or PEM; with it anyone can check a checkpoint, and
through the checkpoint every proof. A checkpoint is::

    postloan.audit/1a2b3c4d        <- origin (also the key name)
    1234                           <- tree size
    3q2+7w...=                     <- base64 root hash
    time 2026-11-29T02:00:00.000000Z
    (blank line)
    — postloan.audit/1a2b3c4d BASE64(key id || signature)
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from sqlalchemy import Connection, insert, select

from postloan.audit.log import STATE_ID, iso_utc, split_frontier, utc_now
from postloan.audit.merkle import root_of_frontier
from postloan.audit.verifier import ED25519_ALG, SIGNATURE_PREFIX, key_id_for
from postloan.config import Settings
from postloan.domain.errors import ConfigError
from postloan.store.tables_audit import AuditCheckpoint, AuditTreeState

KEY_FILE = "audit-ed25519.pem"
ORIGIN_PREFIX = "postloan.audit/"


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def raw_public(self) -> bytes:
        return self.private.public_key().public_bytes_raw()

    @property
    def name(self) -> str:
        """The key name, also the log's origin: stable for this key."""
        return ORIGIN_PREFIX + hashlib.sha256(self.raw_public).hexdigest()[:8]

    @property
    def key_id(self) -> bytes:
        return key_id_for(self.name, self.raw_public)

    def verifier_key(self) -> str:
        blob = base64.b64encode(ED25519_ALG + self.raw_public).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign_note(self, body: str) -> str:
        """``body`` (newline-terminated lines) plus a blank line and this key's signature."""
        signature = self.private.sign(body.encode())
        blob = base64.b64encode(self.key_id + signature).decode()
        return f"{body}\n{SIGNATURE_PREFIX}{self.name} {blob}\n"


def key_path(keys_dir: Path) -> Path:
    return keys_dir / KEY_FILE


def load_signing_key(keys_dir: Path, *, create: bool = True) -> SigningKey:
    """The installation's audit key; created (0600) on first use when ``create``."""
    path = key_path(keys_dir)
    if not path.exists():
        if not create:
            raise ConfigError(
                f"no audit signing key at {path}; write a checkpoint first "
                "(`postloan audit checkpoint`) or restore the key from backup"
            )
        _create_key(keys_dir, path)
    try:
        private = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"audit key {path} is unreadable ({type(err).__name__}); restore it from backup"
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"audit key {path} is not an Ed25519 key; restore it from backup")
    return SigningKey(private)


def _create_key(keys_dir: Path, path: Path) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    # Write a private temp file, then link it into place: no reader sees half a key,
    # and if another process created the key first we keep theirs.
    tmp = keys_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: int
    tree_size: int
    root_hash: bytes
    created_at: datetime
    note: str


def checkpoint_body(origin: str, size: int, root: bytes, at: datetime) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\ntime {iso_utc(at)}\n"


def write_checkpoint(
    conn: Connection, settings: Settings, *, now: datetime | None = None
) -> Checkpoint:
    """Sign the current tree head and store it (in ``conn``'s transaction)."""
    key = load_signing_key(settings.keys_dir)
    state = AuditTreeState.__table__
    row = conn.execute(
        select(state.c.size, state.c.frontier).where(state.c.id == STATE_ID).with_for_update()
    ).one_or_none()
    size, frontier = (int(row.size), split_frontier(bytes(row.frontier))) if row else (0, [])
    root = root_of_frontier(frontier)
    at = now or utc_now()
    note = key.sign_note(checkpoint_body(key.name, size, root, at))
    new_id = conn.execute(
        insert(AuditCheckpoint)
        .values(tree_size=size, root_hash=root, created_at=at, key_id=key.key_id.hex(), note=note)
        .returning(AuditCheckpoint.id)
    ).scalar_one()
    return Checkpoint(int(new_id), size, root, at, note)


def get_checkpoint(conn: Connection, checkpoint_id: int | None = None) -> Checkpoint | None:
    """Checkpoint ``checkpoint_id`` (default: the newest), or None."""
    table = AuditCheckpoint.__table__
    stmt = select(table)
    stmt = (
        stmt.where(table.c.id == checkpoint_id)
        if checkpoint_id is not None
        else stmt.order_by(table.c.id.desc()).limit(1)
    )
    row = conn.execute(stmt).one_or_none()
    if row is None:
        return None
    return Checkpoint(
        int(row.id), int(row.tree_size), bytes(row.root_hash), row.created_at, row.note
    )
