"""Shared fixtures. Model-loading fixtures are session-scoped: models load once per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.training.shared_data import shared_data_root

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = shared_data_root()


@pytest.fixture(scope="session")
def kiwi():
    from pipeline.text.korean import shared_kiwi

    return shared_kiwi()


POSTGRES_ADMIN_URL = os.environ.get("SORI_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the local PostgreSQL server for this test session, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"sori_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means no server
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def shop_table(postgres_url, monkeypatch, request):
    """A table in "the shop's own database" (the test PostgreSQL) for a SQL source to pull from, reached
    through $SORI_TEST_SHOP_DB; its columns are the test module's SHOP_COLUMNS. Yields (engine, name)."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"shop_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE TABLE "{name}" ({request.module.SHOP_COLUMNS})'))
    monkeypatch.setenv("SORI_TEST_SHOP_DB", postgres_url)
    yield engine, name
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE "{name}"'))
    engine.dispose()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path):
    """Every warehouse test runs on the embedded default and on the real PostgreSQL server."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'sori.duckdb'}"
    url = request.getfixturevalue("postgres_url")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
