"""The one way an email address becomes storable, for every source and the quarantine: its salted SHA-256.

The salt is `JOURNEY_HASH_SALT`, or the source account's id when that is unset; without a salt a dictionary of
addresses would reverse the hashes, so there is no unsalted form.
"""

from __future__ import annotations

import hashlib
from typing import Any


class EmailHasher:
    """`hasher(address)` → the hex SHA-256 of "salt:" + the trimmed, lower-cased address."""

    def __init__(self, salt: str) -> None:
        if not salt:
            raise ValueError("an email hash needs a salt (JOURNEY_HASH_SALT or the account id)")
        self.salt = salt
        self._prefix: Any = hashlib.sha256(f"{salt}:".encode())  # copied for each address: half the work

    def __call__(self, address: str) -> str:
        digest = self._prefix.copy()
        digest.update(address.strip().lower().encode())
        return str(digest.hexdigest())


def email_hash(address: str, salt: str) -> str:
    """The salted hash of one address (see EmailHasher for many)."""
    return EmailHasher(salt)(address)
