"""Backfills through the real Prefect engine: chunks as child flow runs, a failing chunk retried without
stopping the others and named in the final state, a re-run that only redoes what is missing, and the
artifacts an analyst reads after each chunk and for the whole window."""

from __future__ import annotations

import re
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
        failed = re.escape("1 of 3 chunks failed: 2026-10-21…2026-10-21 (SourceReadError: shop: ")
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
        assert story.startswith("# 고객 불편 리포트 · 2026년 10월 20일–22일")
        assert "읽은 기록 2 = 분석에 쓴 기록 2 + 제외한 기록 0." in story  # A1, C1: the chunks that completed
        assert list((tmp_path / "reports").glob("sori-2026-10-20-2026-10-22-*.html"))

        with engine.begin() as conn:
            conn.execute(text(f"UPDATE \"{name}\" SET review_id = 'B2' WHERE review_id = 'BAD'"))
        redone = backfill_module.backfill(start=DAYS[0], end=DAYS[-1], chunk_days=1, config_path=config_path)
        assert redone == ["2026-10-21…2026-10-21"], "completed chunks are skipped"
        assert sorted(r["source_id"] for r in table(url, "feedback")) == ["A1", "B1", "B2", "C1"]
        # The whole window reconciles: skipped chunks count as the runs that completed them read them.
        assert "읽은 기록 4 = 분석에 쓴 기록 4 + 제외한 기록 0." in published_markdown("sori-run-summary")


def flow_run_names() -> list[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [run.name for run in client.read_flow_runs()]


def test_bad_parameters_are_refused_before_any_work_with_the_cause_as_the_state_message(tmp_path):
    """An unknown source or dates out of order end the run at once, Failed with the cause as its message:
    no chunk, no retry, no warehouse opened, no model loaded."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.backfill import backfill
    from flows.nightly import mine_window
    from flows.retag import retag

    config_path = str(write_config(tmp_path))
    unknown = "sources reviewz: no such source in the config (configured: reviews, surveys, chats)"
    with prefect_test_harness(server_startup_timeout=120):
        runs = [
            (backfill, {"start": DAYS[0], "end": DAYS[-1], "sources": ["reviewz"]}, unknown),
            (backfill, {"start": DAYS[-1], "end": DAYS[0]}, "end 2026-10-20 is before start 2026-10-22"),
            (mine_window, {"start": DAYS[0], "sources": ["reviews", "reviewz"]}, unknown),
            (mine_window, {"end": DAYS[0]}, "end 2026-10-20 needs a start date"),
            (retag, {"days": 3, "sources": ["reviewz"]}, unknown),
        ]
        for flow, parameters, cause in runs:
            state = flow(**parameters, config_path=config_path, return_state=True)
            assert state.is_failed() and state.message == f"refused: {cause}", (flow.name, state)
        assert not [name for name in flow_run_names() if name.startswith("chunk-")]
    assert not (tmp_path / "sori.duckdb").exists(), "a refused run opens nothing"


def test_a_refused_chunk_is_not_retried(tmp_path):
    """A chunk whose child run is refused (its config changed under the backfill) fails on its first
    attempt instead of retrying after 30 s and 120 s."""
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from flows.backfill import mine_chunk

    @flow
    def one_chunk(config_path: str) -> tuple[bool, str]:
        state = mine_chunk(config_path, DAYS[0], DAYS[0], ["reviewz"], return_state=True)
        return state.is_failed(), state.message

    with prefect_test_harness(server_startup_timeout=120):
        failed, message = one_chunk(str(write_config(tmp_path)))
        assert failed and "RequestError: sources reviewz: no such source" in message
        assert chunk_attempts([f"chunk-{DAYS[0]}-{DAYS[0]}"]) == Counter({f"chunk-{DAYS[0]}-{DAYS[0]}": 1})


def test_a_rerun_of_a_completed_backfill_publishes_its_story_and_classification_reports_progress(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter
    from prefect.logging.handlers import APILogHandler
    from prefect.testing.utilities import prefect_test_harness

    from flows.backfill import backfill

    path = tmp_path / "reviews.csv"
    path.write_text("review_no,written_at,stars,product_name,review_text\n"
                    "R1,2026-10-20T10:00:00+09:00,1,우산,배송이 일주일째 안 와요. 너무 화나요\n"
                    "R2,2026-10-20T11:00:00+09:00,2,우산,환불 요청했는데 답이 없어요\n"
                    "R3,2026-10-20T12:00:00+09:00,5,우산,포장도 꼼꼼하고 좋아요\n", encoding="utf-8")
    sources = [{"name": "reviews", "kind": "review", "path": str(path), "columns": {
        "id": "review_no", "created_at": "written_at", "rating": "stars", "product": "product_name",
        "text": "review_text"}}]
    runner = {"kind": "threads", "workers": 1, "batch_size": 1, "progress_seconds": 0.01}
    config_path = str(write_config(tmp_path, sources=sources, runner=runner))
    with prefect_test_harness(server_startup_timeout=120):
        assert backfill(start=DAYS[0], end=DAYS[0], config_path=config_path) == [f"{DAYS[0]}…{DAYS[0]}"]
        again = backfill(start=DAYS[0], end=DAYS[0], config_path=config_path, return_state=True)
        assert again.is_completed() and again.result() == [], "the completed chunk is skipped"
        APILogHandler().flush()  # logs reach the server in batches
        with get_client(sync_client=True) as client:
            published = client.read_artifacts(artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[again.state_details.flow_run_id])))
            messages = [log.message for log in client.read_logs(log_filter=LogFilter())]
    assert {a.key for a in published} >= ARTIFACTS, "the re-run tells the window's story again"
    assert "classifying 3 texts in 3 batches" in messages
    assert any(m.startswith("classified 0 of 3 texts (0 of 3 batches) after") for m in messages), \
        "a heartbeat while the first batch runs"
    assert any(m.startswith("classified 3 texts in") for m in messages)
