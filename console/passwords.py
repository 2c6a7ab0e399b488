"""Agent passwords: scrypt from the standard library, parameters stored with each hash.

Storing the cost parameters in the hash lets us raise them later without breaking old logins
(`needs_rehash` tells the login path to upgrade a hash the moment the password is known again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from skinsage.errors import InvalidInput

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_LENGTH = 12
_DUMMY = None  # a real hash, compared against when the username is unknown (same timing)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise InvalidInput("a password may have at most 1024 characters")
    if len(set(password)) < 5:
        raise InvalidInput("this password is too easy to guess")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * p + 2**20,
                            dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        ni, ri, pi = int(n), int(r), int(p)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=ni, r=ri, p=pi,
                             maxmem=128 * ni * ri * pi + 2**20, dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def needs_rehash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != "scrypt" or (int(parts[1]), int(parts[2]), int(parts[3])) < (
        SCRYPT_N, SCRYPT_R, SCRYPT_P)


def burn_time(password: str) -> None:
    """Spend what a real verification costs, so a wrong username cannot be told from a wrong password."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password(secrets.token_hex(16))
    verify_password(password, _DUMMY)
