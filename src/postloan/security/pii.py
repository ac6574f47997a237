"""Sensitive personal data (PIPL): encryption at rest, blind indexes, masking.

National ID, phone numbers and address are stored only as AES-256-GCM
ciphertext (``*_enc``) plus a keyed HMAC-SHA256 blind index (``*_bidx``) so
that an exact lookup ("who has phone 138…") never needs the plaintext. Both
keys live in one file under ``$POSTLOAN_HOME/keys/`` created on first use with
mode 0600. The field name is bound into both (AAD / HMAC message) so a phone
ciphertext cannot be replayed as a national ID.

Masking is the default way to show these values: ``110***********1234``,
``138****5678``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from postloan.domain.errors import ConfigError, ValidationError

KEY_FILE = "pii.key"
_NONCE = 12
_VERSION = b"\x01"


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
    try:
        data = json.loads(path.read_text())
        keys = PiiKeys(base64.b64decode(data["encryption"]), base64.b64decode(data["index"]))
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(
            f"PII key file {path} is unreadable ({type(err).__name__}); restore it from backup "
            "(without it encrypted personal data cannot be read)"
        ) from None
    if len(keys.encryption) != 32 or len(keys.index) != 32:
        raise ConfigError(f"PII key file {path} holds keys of the wrong length; restore it")
    return keys


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
    """Encrypts, decrypts and blind-indexes sensitive fields with one key set."""

    def __init__(self, keys: PiiKeys) -> None:
        self._aead = AESGCM(keys.encryption)
        self._index_key = keys.index

    @classmethod
    def from_dir(cls, keys_dir: Path) -> PiiCipher:
        return cls(load_or_create_keys(keys_dir))

    def encrypt(self, field: str, value: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), field.encode())
        return _VERSION + nonce + sealed

    def decrypt(self, field: str, token: bytes) -> str:
        from cryptography.exceptions import InvalidTag

        if not token or token[:1] != _VERSION:
            raise ValidationError(f"{field}: not a postloan ciphertext")
        nonce, sealed = token[1 : 1 + _NONCE], token[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, sealed, field.encode()).decode("utf-8")
        except InvalidTag:
            raise ValidationError(
                f"{field}: ciphertext does not match the key in use (wrong key file?)"
            ) from None

    def blind_index(self, field: str, value: str) -> str:
        message = field.encode() + b"\x00" + normalise(field, value).encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


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
