"""Incremental nightly pulls from a real PostgreSQL table, through the real flow and models: only new
or edited records are mined, the watermark advances only with a commit, and a run that dies between
fetch and commit is simply repeated by the next one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from pipeline import app
from pipeline.config import load_config
from pipeline.warehouse.schema import connect
from pipeline.warehouse.writes import watermark
from tests.flows.test_flow import table, write_config

pytestmark = pytest.mark.slow


# The shop's reviews table, with a last-modified column (the `shop_table` fixture creates it).
SHOP_COLUMNS = ("review_id TEXT PRIMARY KEY, created TIMESTAMPTZ NOT NULL, modified TIMESTAMPTZ NOT NULL, "
                "stars INTEGER NOT NULL, body TEXT NOT NULL")


def upsert(engine, name: str, rows: list[tuple[str, datetime, datetime, int, str]]) -> None:
    with engine.begin() as conn:
        for row in rows:
            conn.execute(text(f'DELETE FROM "{name}" WHERE review_id = :id'), {"id": row[0]})
            conn.execute(text(f'INSERT INTO "{name}" VALUES (:id, :created, :modified, :stars, :body)'),
                         dict(zip(("id", "created", "modified", "stars", "body"), row, strict=True)))


def test_nightly_pulls_only_what_changed_and_a_failed_commit_is_redone(shop_table, tmp_path, monkeypatch):
    from prefect.testing.utilities import prefect_test_harness

    import flows.nightly as nightly

    engine, name = shop_table
    config_path = str(write_config(tmp_path, sources=[{
        "name": "shop", "kind": "review",
        "sql": {"url_env": "SORI_TEST_SHOP_DB", "table": name, "timestamp_column": "created"},
        "columns": {"id": "review_id", "created_at": "created", "updated_at": "modified", "rating": "stars",
                    "text": "body"},
    }]))
    config = load_config(config_path)
    noon = datetime.now(config.tz).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = noon - timedelta(days=1)
    upsert(engine, name, [
        ("A1", yesterday, yesterday, 1, "배송이 일주일째 안와요. 너무 화나요"),
        ("A2", yesterday, yesterday, 5, "포장도 꼼꼼하고 좋아요"),
        ("A3", yesterday, yesterday, 2, "앱이 자꾸 튕겨서 결제를 못 했어요"),
    ])
    warehouse = connect(config.warehouse.sqlalchemy_url())
    url = config.warehouse.sqlalchemy_url()
    with prefect_test_harness(server_startup_timeout=120):
        nightly.mine_window(config_path=config_path)
        assert sorted(r["source_id"] for r in table(url, "feedback")) == ["A1", "A2", "A3"]
        first_mark = watermark(warehouse, "shop")
        assert first_mark == yesterday

        later = yesterday + timedelta(hours=20)
        upsert(engine, name, [
            ("A1", yesterday, later, 1, "배송이 드디어 왔는데 박스가 다 찌그러져 있었어요"),
            ("B1", later, later, 1, "상담원 연결이 안돼요"),
        ])
        real_write = app.replace_window

        def dies_before_commit(*args, **kwargs):
            raise RuntimeError("killed between fetch and commit")

        monkeypatch.setattr(app, "replace_window", dies_before_commit)
        with pytest.raises(RuntimeError, match="between fetch and commit"):
            nightly.mine_window(config_path=config_path)
        assert watermark(warehouse, "shop") == first_mark
        assert len(table(url, "feedback")) == 3

        monkeypatch.setattr(app, "replace_window", real_write)
        summary = nightly.mine_window(config_path=config_path)
        assert summary.counts.records_read == 2, "only the new and the edited review are pulled"
        feedback = {r["source_id"]: r for r in table(url, "feedback")}
        assert sorted(feedback) == ["A1", "A2", "A3", "B1"]
        assert "찌그러져" in feedback["A1"]["text_masked"]
        evidence = [r["evidence"] for r in table(url, "pain_points")]
        assert not any("일주일째" in e for e in evidence), "the old version of A1 must be gone"
        assert watermark(warehouse, "shop") == later

        start = yesterday.date()
        nightly.mine_window(start=start, end=start, config_path=config_path)
        assert watermark(warehouse, "shop") == later, "a backfill leaves the watermark alone"
