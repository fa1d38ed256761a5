"""End to end through the real Prefect engine, real models and a real DuckDB warehouse."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from pipeline import __version__
from pipeline.config import DEFAULT_CONFIG
from pipeline.document import stable_id
from pipeline.text.korean import KoreanAnalyzer, has_content

pytestmark = pytest.mark.slow

SAMPLE_WINDOW = (date(2026, 10, 20), date(2026, 10, 22))


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def write_config(tmp_path: Path, sources: list[dict] | None = None, runner: dict | None = None,
                 topic_dir: Path | None = None) -> Path:
    """The default config with the warehouse and topic model in `tmp_path`."""
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["taxonomy"] = str(DEFAULT_CONFIG.parent / "taxonomy.yaml")
    raw["tagging"]["phrases"] = str((DEFAULT_CONFIG.parent / raw["tagging"]["phrases"]).resolve())
    raw["pain"]["examples"] = str((DEFAULT_CONFIG.parent / raw["pain"]["examples"]).resolve())
    raw["warehouse"]["path"] = str(tmp_path / "sori.duckdb")
    raw["topics"]["model_dir"] = str(topic_dir or tmp_path / "topic_model")
    raw["topics"]["min_documents"] = 20
    raw["topics"]["min_topic_size"] = 5
    for source in raw["sources"]:
        source["path"] = str((DEFAULT_CONFIG.parent / source["path"]).resolve())
    raw["sources"] = sources or raw["sources"]
    raw["runner"] = runner or raw["runner"]
    path = tmp_path / "sori.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def table(url: str, name: str) -> list[dict]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(f"SELECT * FROM {name}")).mappings()]
    engine.dispose()
    return rows


def published_markdown(key: str) -> str:
    """The latest markdown artifact under `key`, read back from the Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                            sort=ArtifactSort.CREATED_DESC, limit=1)
    return artifact.data


def test_flow_mines_a_sample_window_into_the_warehouse(prefect_harness, tmp_path):
    from flows.nightly import mine_window

    assert not mine_window.log_prints, "log_prints breaks numba's first compile of UMAP in a fresh venv"
    config_path = write_config(tmp_path)
    url = f"duckdb:///{tmp_path / 'sori.duckdb'}"
    analyzer = KoreanAnalyzer()
    summary = mine_window(start=SAMPLE_WINDOW[0], end=SAMPLE_WINDOW[1], config_path=str(config_path))
    counts = summary.counts
    assert counts.records_read == counts.records_loaded + counts.records_quarantined
    assert counts.pain_points > 20

    feedback = {row["feedback_id"]: row for row in table(url, "feedback")}
    pain = table(url, "pain_points")
    assert len(pain) == counts.pain_points and len(feedback) == counts.feedback_rows
    assert {row["source"] for row in feedback.values()} == {"reviews", "surveys", "chats"}
    for row in pain:
        parent = feedback[row["feedback_id"]]
        assert parent["text_masked"][row["start_char"] : row["end_char"]] == row["evidence"]
        assert row["pain_point_id"] == stable_id(row["feedback_id"], row["sentence_index"])
        assert row["feedback_id"] == stable_id(parent["source"], parent["source_id"], parent["part"])
        assert SAMPLE_WINDOW[0] <= row["record_date"] <= SAMPLE_WINDOW[1]
        assert row["categories"] and row["touchpoint"] and 1 <= row["severity"] <= 5
        assert row["primary_category"] == row["categories"].split(";")[0]
        assert has_content(analyzer.sentences([row["evidence"]])[0][0]), row["evidence"]
        assert row["topic_label"]
    assert len({row["primary_category"] for row in pain}) >= 5
    assert any(row["topic_id"] >= 0 for row in pain)
    assert table(url, "topics")
    runs = table(url, "runs")
    assert [r["status"] for r in runs] in (["ok"], ["warning"])
    assert runs[0]["records_read"] == counts.records_read
    assert {r["model_version"] for r in pain} == {runs[0]["model_version"]}
    assert runs[0]["model_version"].startswith(f"sori={__version__};voc=builtin:voc-e5@")
    story = published_markdown("sori-run-summary")
    costs = story.split("## 불편이 깎은 점수 · 2026년 10월 1일–22일")[1].split("\n## ")[0]
    assert "| 별점 | reviews |" in costs and "| NPS | surveys |" in costs
    assert "## 불편이 유난히 많은 상품 · 2026년 10월 1일–22일" in story
    (report,) = (tmp_path / "reports").glob("sori-*.html")
    page = report.read_text(encoding="utf-8")
    assert "<h2>불편이 깎은 점수" in page and "<h2>불편이 유난히 많은 상품" in page
    assert "토픽 지도" in page and '"mode":"markers+text"' in page  # the sample's topics, labelled

    before = sorted((r["pain_point_id"], r["categories"], r["touchpoint"], r["severity"]) for r in pain)
    # What `sori run` does while Prefect starts: the pipeline over the saved topic model, warmed up,
    # which the next run then uses as it is.
    from pipeline.app import Sori

    Sori.open_in_background(str(config_path)).join()
    warmed = Sori.open(str(config_path))
    assert warmed.pipeline.topics is not None and warmed.pipeline.topics._model is not None
    mine_window(start=SAMPLE_WINDOW[0], end=SAMPLE_WINDOW[1], config_path=str(config_path))
    after = sorted((r["pain_point_id"], r["categories"], r["touchpoint"], r["severity"])
                   for r in table(url, "pain_points"))
    assert after == before

    # An analyst drops a category from the taxonomy; re-tagging the stored history applies it.
    taxonomy = yaml.safe_load((DEFAULT_CONFIG.parent / "taxonomy.yaml").read_text(encoding="utf-8"))
    dropped = next(row["primary_category"] for row in pain if row["primary_category"] != "other")
    del taxonomy["categories"][dropped]
    (tmp_path / "taxonomy.yaml").write_text(yaml.safe_dump(taxonomy, allow_unicode=True), encoding="utf-8")
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["taxonomy"] = str(tmp_path / "taxonomy.yaml")
    config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    from flows.retag import retag

    retag(days=3, end=SAMPLE_WINDOW[1], config_path=str(config_path))
    retagged = table(url, "pain_points")
    assert sorted(r["pain_point_id"] for r in retagged) == sorted(r[0] for r in before)
    assert not any(dropped in r["categories"].split(";") for r in retagged)
    assert {r["category"] for r in table(url, "pain_point_categories")} <= set(taxonomy["categories"])
    (retag_run,) = [r for r in table(url, "runs") if r["flow"] == "retag"]
    assert retag_run["status"] == "ok" and retag_run["pain_points"] == len(retagged)
    assert {r["run_id"] for r in retagged} == {retag_run["run_id"]}, "the rows it rewrote carry its id"


PERSONAL = {
    "phone": "010-9876-5432",
    "email": "minsu.kim@example.com",
    "rrn": "900101-1234567",
    "card": "4518-4210-1234-5678",
    "account": "110-123-456789",
    "address": "테헤란로 152",
    "name": "김민수",
}


def test_no_personal_data_reaches_any_warehouse_table(prefect_harness, tmp_path):
    from flows.nightly import mine_window

    texts = [
        f"{PERSONAL['name']} 고객님 배송이 안와요 {PERSONAL['phone']}로 연락주세요",
        f"환불은 신한 {PERSONAL['account']} 계좌로 해주세요 너무 늦어요ㅠㅠ",
        f"카드 {PERSONAL['card']} 결제 오류났어요 최악",
        f"주민번호 {PERSONAL['rrn']} 적으라는게 말이됨? 짜증나요",
        f"답변은 {PERSONAL['email']} 로 주세요 상담원이 불친절했어요",
        f"서울시 강남구 {PERSONAL['address']} 으로 배송지 바꿔달라 했는데 무시당함",
        f"아직도 안 왔어요. {PERSONAL['name']}, {PERSONAL['phone'].replace('-', '')}",  # contact details
    ]
    path = tmp_path / "pii.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review_no", "written_at", "stars", "product_name", "review_text"])
        for i, body in enumerate(texts):
            writer.writerow([f"P{i}", "2026-10-21T10:00:00+09:00", 1, "우산", body])
        writer.writerow(["P-bad", "not a date", 1, "우산", f"연락처 {PERSONAL['phone']}"])
    sources = [{"name": "reviews", "kind": "review", "path": str(path), "columns": {
        "id": "review_no", "created_at": "written_at", "rating": "stars", "product": "product_name",
        "text": "review_text"}}]
    config_path = write_config(tmp_path, sources=sources)
    mine_window(start=date(2026, 10, 21), config_path=str(config_path))

    url = f"duckdb:///{tmp_path / 'sori.duckdb'}"
    engine = create_engine(url)
    dumped = []
    with engine.connect() as conn:
        for name in inspect(engine).get_table_names():
            dumped += [str(v) for row in conn.execute(text(f"SELECT * FROM {name}")) for v in row]
    engine.dispose()
    everything = "\n".join(dumped)
    assert "P-bad" in everything, "the bad row must be quarantined, not dropped"
    for kind, value in PERSONAL.items():
        assert value not in everything, kind
        assert value.replace("-", "") not in everything, kind


def test_an_empty_window_from_every_source_ends_in_a_warning(prefect_harness, tmp_path):
    """A missing export looks like a quiet night: the run says so in `runs` and in its Prefect state,
    which an automation can alert on."""
    from flows.nightly import mine_window

    config_path = write_config(tmp_path)
    state = mine_window(start=date(2020, 1, 1), config_path=str(config_path), return_state=True)
    assert state.is_completed() and state.name == "Empty"
    assert "no records read from any source" in state.message
    (run,) = table(f"duckdb:///{tmp_path / 'sori.duckdb'}", "runs")
    assert run["status"] == "warning" and run["records_read"] == 0
    assert "no records read from any source for 2020-01-01" in run["message"]
