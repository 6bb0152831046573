"""Webhook secrets at rest: encrypted (Fernet: AES-128-CBC with HMAC-SHA256) with a key from
the environment, `COOPFLOW_SECRETS_KEY`, so that a copy of the database (a backup, a dump, a
read replica) signs nothing. They are opened only to sign a delivery.

The setting holds one or more Fernet keys, comma-separated: the first seals, every one
opens, so a key is rotated by putting the new one first and dropping the old one once the
worker has sealed everything again (it does at start)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SETTING = "COOPFLOW_SECRETS_KEY"
# Secrets stored before they were encrypted are in the Standard Webhooks form, which no
# Fernet token can start with.
PLAINTEXT_PREFIX = "whsec_"


class SealingError(ValueError):
    """A key that is not one, or a sealed secret no key opens."""


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SealingError(f"{SETTING} is empty")
        try:
            self._fernets = [Fernet(k.encode("ascii")) for k in parts]
        except (ValueError, UnicodeEncodeError):
            raise SealingError(
                f"{SETTING} must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from None
        self._fernet = MultiFernet(self._fernets)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The secret, from what is stored (sealed, or plaintext stored before sealing)."""
        if is_plaintext(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SealingError(f"a webhook secret that no key of {SETTING} opens") from None

    def current(self, stored: str) -> bool:
        """Sealed with the first key (nothing to do on rotation)."""
        if is_plaintext(stored):
            return False
        try:
            self._fernets[0].decrypt(stored.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True


def is_plaintext(stored: str) -> bool:
    return stored.startswith(PLAINTEXT_PREFIX)
