"""Verified bearer tokens remembered in-process for a few seconds.

Every Mini Program request carries its token; looking it up costs a database round trip (a
transaction on SQLite) per request, two per order. A token verified in the last
``ttl`` seconds is trusted again without asking the database.

The price, stated plainly: a session revoked by another process (``POST /api/logout`` served
by another instance, an operator deleting sessions) still works for at most ``ttl`` on the
processes that verified it recently. A logout served by this process forgets the token here at
once. A cached entry never outlives the session's own ``expires_at``. ``ttl`` of zero turns the
cache off. Keys are token hashes, never tokens.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from mppay.store.models import UserRow

__all__ = ["SessionCache"]


class SessionCache:
    """token hash -> (user, trusted until); bounded, oldest entry evicted first."""

    def __init__(self, ttl: timedelta = timedelta(seconds=5), *, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[UserRow, datetime]] = OrderedDict()

    def get(self, token_hash: str, now: datetime) -> UserRow | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        user, until = entry
        if now >= until:
            del self._entries[token_hash]
            return None
        return user

    def put(
        self, token_hash: str, user: UserRow, now: datetime, session_expires_at: datetime
    ) -> None:
        if self.ttl <= timedelta(0):
            return
        self._entries[token_hash] = (user, min(now + self.ttl, session_expires_at))
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)
