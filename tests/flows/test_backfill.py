"""Backfills through the real Prefect engine: chunks as child flow runs, a failing chunk retried without
stopping the others and named in the final state, a re-run that only redoes what is missing, and the
artifacts an analyst reads after each chunk and for the whole window."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import text

from pipeline.config import load_config
from tests.flows.test_flow import published_markdown, table, write_config

pytestmark = pytest.mark.slow

DAYS = [date(2026, 10, 20), date(2026, 10, 21), date(2026, 10, 22)]
ARTIFACTS = {"sori-pain-by-category-touchpoint", "sori-emerging-issues", "sori-reconciliation",
             "sori-run-summary", "sori-html-report"}


# The shop's reviews table (the `shop_table` fixture creates it). The source's query fails (division
# by zero) on the row 'BAD' alone, so exactly the chunk whose window holds that row fails, for real.
SHOP_COLUMNS = ("review_id TEXT PRIMARY KEY, created TIMESTAMPTZ NOT NULL, stars INTEGER NOT NULL, "
                "body TEXT NOT NULL")


def chunk_attempts(names: list[str]) -> Counter[str]:
    """Child flow runs per chunk name: each attempt of a chunk is one."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
    return Counter(run.name for run in runs)


def artifact_keys() -> set[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {a.key for a in client.read_artifacts() if a.key}


def test_a_failed_chunk_is_retried_named_and_redone_alone(shop_table, tmp_path, monkeypatch):
    from prefect.testing.utilities import prefect_test_harness

    import flows.backfill as backfill_module

    engine, name = shop_table
    query = (f'SELECT review_id, created, body, CASE WHEN review_id = \'BAD\' THEN stars / (stars - stars) '
             f'ELSE stars END AS stars FROM "{name}"')
    config_path = str(write_config(tmp_path, sources=[{
        "name": "shop", "kind": "review",
        "sql": {"url_env": "SORI_TEST_SHOP_DB", "query": query, "timestamp_column": "created"},
        "columns": {"id": "review_id", "created_at": "created", "rating": "stars", "text": "body"},
    }]))
    tz = load_config(config_path).tz
    noon = [datetime(d.year, d.month, d.day, 12, tzinfo=tz) for d in DAYS]
    with engine.begin() as conn:
        for row in [("A1", noon[0], 1, "배송이 일주일째 안 와요. 너무 화나요"),
                    ("BAD", noon[1], 2, "앱이 자꾸 튕겨요"),
                    ("B1", noon[1], 1, "환불 요청했는데 답이 없어요"),
                    ("C1", noon[2], 5, "포장도 꼼꼼하고 좋아요")]:
            conn.execute(text(f'INSERT INTO "{name}" VALUES (:id, :created, :stars, :body)'),
                         dict(zip(("id", "created", "stars", "body"), row, strict=True)))
    monkeypatch.setattr(backfill_module, "mine_chunk", backfill_module.mine_chunk.with_options(
        retry_delay_seconds=[0] * backfill_module.CHUNK_RETRIES))
    url = load_config(config_path).warehouse.sqlalchemy_url()
    chunks = [f"chunk-{d}-{d}" for d in DAYS]

    with prefect_test_harness(server_startup_timeout=120):
        failed = "1 of 3 chunks failed: 2026-10-21…2026-10-21"
        with pytest.raises(backfill_module.BackfillFailed, match=failed):
            backfill_module.backfill(start=DAYS[0], end=DAYS[-1], chunk_days=1, config_path=config_path)
        assert sorted(r["source_id"] for r in table(url, "feedback")) == ["A1", "C1"]
        attempts = chunk_attempts(chunks)
        assert attempts[chunks[1]] == 1 + backfill_module.CHUNK_RETRIES, "the failing chunk was retried"
        assert attempts[chunks[0]] == attempts[chunks[2]] == 1
        assert artifact_keys() >= ARTIFACTS
        assert list((tmp_path / "reports").glob("sori-2026-10-20-2026-10-20-*.html"))
        # After the chunks, the story of the whole window the analyst asked for.
        story = published_markdown("sori-run-summary")
        assert story.startswith("# sori run 2026-10-20 … 2026-10-22")
        assert "read 2 = loaded 2 + quarantined 0" in story  # A1 and C1: the two chunks that completed
        assert list((tmp_path / "reports").glob("sori-2026-10-20-2026-10-22-*.html"))

        with engine.begin() as conn:
            conn.execute(text(f"UPDATE \"{name}\" SET review_id = 'B2' WHERE review_id = 'BAD'"))
        redone = backfill_module.backfill(start=DAYS[0], end=DAYS[-1], chunk_days=1, config_path=config_path)
        assert redone == ["2026-10-21…2026-10-21"], "completed chunks are skipped"
        assert sorted(r["source_id"] for r in table(url, "feedback")) == ["A1", "B1", "B2", "C1"]
        # The whole window reconciles: skipped chunks count as the runs that completed them read them.
        assert "read 4 = loaded 4 + quarantined 0" in published_markdown("sori-run-summary")
