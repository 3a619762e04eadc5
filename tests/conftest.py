"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import PostgresFactory, postgres_server_url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresFactory]:
    server = postgres_server_url()
    if server is None:
        pytest.skip("MPPAY_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
    factory = PostgresFactory(server)
    factory.prepare()
    try:
        yield factory
    finally:
        factory.drop_all()
