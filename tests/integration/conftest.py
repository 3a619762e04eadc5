"""Shared fixtures for integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import PostgresFactory, postgres_server_url


@pytest.fixture(scope="session")
def postgres_empty() -> Iterator[PostgresFactory]:
    """A PostgreSQL database factory without a template (empty databases)."""
    server = postgres_server_url()
    if server is None:
        pytest.skip("MPPAY_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
    factory = PostgresFactory(server)
    try:
        yield factory
    finally:
        factory.drop_all()
