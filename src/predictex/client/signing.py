"""Request signing, as Kalshi specifies it (reference §2.1): the headers KALSHI-ACCESS-KEY,
KALSHI-ACCESS-TIMESTAMP (milliseconds) and KALSHI-ACCESS-SIGNATURE, the base64 signature of
timestamp + METHOD + path (no query, no body), RSA-PSS with SHA-256 and a 32-byte salt, or Ed25519."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def load_private_key(pem: str | bytes | Path) -> PrivateKey:
    """An RSA or Ed25519 private key from PEM text or a file path."""
    if isinstance(pem, Path) or (isinstance(pem, str) and "-----BEGIN" not in pem):
        data = Path(pem).expanduser().read_bytes()
    else:
        data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise ValueError("an API key is RSA or Ed25519")
    return key


class Signer:
    def __init__(self, key_id: str, private_key: PrivateKey) -> None:
        self.key_id = key_id
        self.private_key = private_key

    def sign(self, message: bytes) -> str:
        key = self.private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            signature = key.sign(message)
        else:
            signature = key.sign(message, _PSS, hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, method: str, path: str, timestamp_ms: int | None = None) -> dict[str, str]:
        """The three signed headers for a request to `path` (the query string is not signed)."""
        stamp = str(timestamp_ms if timestamp_ms is not None else time.time_ns() // 1_000_000)
        bare_path = path.split("?", 1)[0]
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": stamp,
            "KALSHI-ACCESS-SIGNATURE": self.sign(f"{stamp}{method.upper()}{bare_path}".encode()),
        }
