"""Sensitive personal data (PIPL): encryption at rest, blind indexes, masking.

National ID, phone numbers and address are stored only as AES-256-GCM
ciphertext (``*_enc``) plus a keyed HMAC-SHA256 blind index (``*_bidx``) so
that an exact lookup ("who has phone 138…") never needs the plaintext. Both
keys live in one file under ``$POSTLOAN_HOME/keys/`` created on first use with
mode 0600. The field name is bound into both (AAD / HMAC message) so a phone
ciphertext cannot be replayed as a national ID.

Masking is the default way to show these values: ``110***********1234``,
``138****5678``.

Key rotation: the key file may hold a ring of numbered key pairs (format 2) with
one active pair. New ciphertexts name their key (``0x02‖key id‖nonce‖sealed``;
key 1 keeps the original ``0x01‖nonce‖sealed`` form), so old rows stay readable
while :mod:`postloan.security.key_rotation` re-encrypts and re-indexes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from postloan.domain.errors import ConfigError, ValidationError

KEY_FILE = "pii.key"
_NONCE = 12
_VERSION = b"\x01"
_VERSION_KEYED = b"\x02"


@dataclass(frozen=True, slots=True)
class PiiKeys:
    encryption: bytes  # 32 bytes, AES-256-GCM
    index: bytes  # 32 bytes, HMAC-SHA256


def load_or_create_keys(keys_dir: Path) -> PiiKeys:
    """The PII keys in ``keys_dir``; created (0600) on first use."""
    path = keys_dir / KEY_FILE
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = json.dumps(
            {
                "version": 1,
                "encryption": base64.b64encode(os.urandom(32)).decode(),
                "index": base64.b64encode(os.urandom(32)).decode(),
            }
        ).encode()
        # Write a private temp file completely, then link it into place: readers never
        # see a half-written key, and if another process won the race we use theirs.
        tmp = keys_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return load_key_ring(keys_dir).active_keys


def _pair(data: dict[str, str]) -> PiiKeys:
    return PiiKeys(base64.b64decode(data["encryption"]), base64.b64decode(data["index"]))


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Every PII key pair of the installation by id, and the one new data uses."""

    active: int
    keys: tuple[tuple[int, PiiKeys], ...]

    @property
    def active_keys(self) -> PiiKeys:
        return dict(self.keys)[self.active]

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 2,
                "active": self.active,
                "keys": {
                    str(i): {
                        "encryption": base64.b64encode(k.encryption).decode(),
                        "index": base64.b64encode(k.index).decode(),
                    }
                    for i, k in self.keys
                },
            },
            indent=1,
        )


def load_key_ring(keys_dir: Path) -> KeyRing:
    """The key ring in ``keys_dir`` (a format-1 file is a ring of one key, id 1)."""
    path = keys_dir / KEY_FILE
    if not path.exists():
        load_or_create_keys(keys_dir)
    try:
        data = json.loads(path.read_text())
        if data.get("version", 1) == 1:
            ring = KeyRing(1, ((1, _pair(data)),))
        else:
            pairs = tuple(sorted((int(i), _pair(k)) for i, k in data["keys"].items()))
            ring = KeyRing(int(data["active"]), pairs)
            ring.active_keys  # noqa: B018 - the active id must be in the ring
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(
            f"PII key file {path} is unreadable ({type(err).__name__}); restore it from backup "
            "(without it encrypted personal data cannot be read)"
        ) from None
    for _, keys in ring.keys:
        if len(keys.encryption) != 32 or len(keys.index) != 32:
            raise ConfigError(f"PII key file {path} holds keys of the wrong length; restore it")
    return ring


def save_key_ring(keys_dir: Path, ring: KeyRing) -> None:
    """Replace the key file atomically (mode 0600); keep a backup before rotating."""
    tmp = keys_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, keys_dir / KEY_FILE)


def normalise(field: str, value: str) -> str:
    """The canonical form a blind index is computed over."""
    text = value.strip()
    if field == "national_id":
        return text.upper().replace(" ", "")
    if field == "phone":
        digits = re.sub(r"[\s\-()]", "", text)
        return re.sub(r"^(\+86|0086)", "", digits)
    return " ".join(text.split())


class PiiCipher:
    """Encrypts, decrypts and blind-indexes sensitive fields with one key set.

    ``key_id`` names the pair new ciphertexts and blind indexes use; ``others``
    are older (or newer, pending) pairs still accepted for decryption.
    """

    def __init__(
        self, keys: PiiKeys, *, key_id: int = 1, others: Mapping[int, PiiKeys] | None = None
    ) -> None:
        self.key_id = key_id
        self._aead = AESGCM(keys.encryption)
        self._index_key = keys.index
        self._readers = {i: AESGCM(k.encryption) for i, k in (others or {}).items()}
        self._readers[key_id] = self._aead

    @classmethod
    def from_dir(cls, keys_dir: Path) -> PiiCipher:
        return cls.from_ring(load_key_ring(keys_dir))

    @classmethod
    def from_ring(cls, ring: KeyRing, key_id: int | None = None) -> PiiCipher:
        """A cipher writing with ``key_id`` (default: the active key), reading every key."""
        chosen = ring.active if key_id is None else key_id
        pairs = dict(ring.keys)
        return cls(pairs[chosen], key_id=chosen, others=pairs)

    def encrypt(self, field: str, value: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), field.encode())
        if self.key_id == 1:
            return _VERSION + nonce + sealed
        return _VERSION_KEYED + self.key_id.to_bytes(2, "big") + nonce + sealed

    def decrypt(self, field: str, token: bytes) -> str:
        from cryptography.exceptions import InvalidTag

        key_id, nonce, sealed = token_parts(field, token)
        aead = self._readers.get(key_id)
        if aead is None:
            raise ValidationError(
                f"{field}: encrypted with PII key {key_id}, which is not in the key file "
                "(restore the key file that holds it)"
            )
        try:
            return aead.decrypt(nonce, sealed, field.encode()).decode("utf-8")
        except InvalidTag:
            raise ValidationError(
                f"{field}: ciphertext does not match the key in use (wrong key file?)"
            ) from None

    def blind_index(self, field: str, value: str) -> str:
        message = field.encode() + b"\x00" + normalise(field, value).encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def token_parts(field: str, token: bytes) -> tuple[int, bytes, bytes]:
    """(key id, nonce, sealed) of a postloan ciphertext."""
    if token[:1] == _VERSION:
        return 1, token[1 : 1 + _NONCE], token[1 + _NONCE :]
    if token[:1] == _VERSION_KEYED and len(token) > 3 + _NONCE:
        return int.from_bytes(token[1:3], "big"), token[3 : 3 + _NONCE], token[3 + _NONCE :]
    raise ValidationError(f"{field}: not a postloan ciphertext")


def mask_national_id(value: str) -> str:
    """``110101199001011234`` → ``110***********1234``."""
    text = value.strip()
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    text = normalise("phone", value)
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_address(value: str) -> str:
    """Keep the first 6 characters (province / city), hide the rest."""
    text = value.strip()
    return text[:6] + "****" if len(text) > 6 else "****"


def mask_value(value: str) -> str:
    """Mask a value of unknown kind: keep at most the first 3 and last 4 characters."""
    text = value.strip()
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


MASKS = {"national_id": mask_national_id, "phone": mask_phone, "address": mask_address}
