"""The in-process cache of verified tokens: no database read on a warm path, revocation
honoured at once here and within the cache's window elsewhere, never past the session's end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mppay.usecases import login
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Unauthenticated
from mppay.usecases.session_cache import SessionCache
from tests.support.fakes import FakeLogin, MutableClock


async def _revoke_elsewhere(ctx: ServiceContext, token: str) -> None:
    """What a logout served by another process does: the row only, not this cache."""
    async with ctx.uow() as uow:
        await uow.sessions.revoke(login.token_hash(token), ctx.clock.now())
        await uow.commit()


async def test_a_session_revoked_by_another_process_stops_working_within_the_cache_window(
    ctx: ServiceContext, fake_login: FakeLogin, clock: MutableClock
) -> None:
    issued = await login.login(ctx, fake_login.issue("o-carol"))
    assert (await login.authenticate(ctx, issued.token)).openid == "o-carol"
    await _revoke_elsewhere(ctx, issued.token)
    # Inside the window the verified token is still trusted (the documented trade-off) ...
    assert (await login.authenticate(ctx, issued.token)).openid == "o-carol"
    clock.advance(ctx.sessions.ttl.total_seconds())
    # ... and right after it the database decides again.
    with pytest.raises(Unauthenticated):
        await login.authenticate(ctx, issued.token)


async def test_a_logout_served_here_takes_effect_at_once(
    ctx: ServiceContext, fake_login: FakeLogin
) -> None:
    issued = await login.login(ctx, fake_login.issue("o-dave"))
    await login.authenticate(ctx, issued.token)
    await login.logout(ctx, issued.token)
    with pytest.raises(Unauthenticated):
        await login.authenticate(ctx, issued.token)


async def test_a_cached_token_never_outlives_its_session(
    ctx: ServiceContext, fake_login: FakeLogin, clock: MutableClock
) -> None:
    ctx.sessions = SessionCache(ctx.session_ttl * 2)
    issued = await login.login(ctx, fake_login.issue("o-erin"))
    await login.authenticate(ctx, issued.token)
    clock.advance(ctx.session_ttl.total_seconds())
    with pytest.raises(Unauthenticated):
        await login.authenticate(ctx, issued.token)


async def test_a_zero_window_asks_the_database_every_time(
    ctx: ServiceContext, fake_login: FakeLogin
) -> None:
    ctx.sessions = SessionCache(timedelta(0))
    issued = await login.login(ctx, fake_login.issue("o-frank"))
    await login.authenticate(ctx, issued.token)
    await _revoke_elsewhere(ctx, issued.token)
    with pytest.raises(Unauthenticated):
        await login.authenticate(ctx, issued.token)


def test_the_cache_keeps_at_most_its_bound_evicting_the_oldest() -> None:
    clock = MutableClock()
    cache = SessionCache(timedelta(seconds=5), max_entries=2)
    users = [object(), object(), object()]
    for index, user in enumerate(users):
        cache.put(f"h{index}", user, clock.now(), clock.now() + timedelta(days=1))  # type: ignore[arg-type]
    assert cache.get("h0", clock.now()) is None
    assert cache.get("h1", clock.now()) is users[1]
    assert cache.get("h2", clock.now()) is users[2]
