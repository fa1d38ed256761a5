"""Control and invisible characters never reach a database: a key that holds one is quarantined with the
reason, a text or name is cleaned, a quarantine row's location shows it escaped, so one record can never
fail another's write (PostgreSQL refuses NUL in text; a lone surrogate is no UTF-8 at all)."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import text

from pipeline.config import SourceConfig
from pipeline.document import Document
from pipeline.ingest.readers import RawRecord
from pipeline.ingest.sources import open_source
from pipeline.text.normalize import normalize_text
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import replace_window, window_writes
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))
REVIEW_COLUMNS = {"id": "no", "created_at": "at", "rating": "stars", "product": "item", "text": "body"}
CHAT_COLUMNS = {"id": "cid", "created_at": "at", "speaker": "who", "text": "msg"}


def reviews(path) -> SourceConfig:
    return SourceConfig.model_validate({"name": "reviews", "kind": "review", "path": str(path),
                                        "columns": REVIEW_COLUMNS})


def chats(path) -> SourceConfig:
    return SourceConfig.model_validate({"name": "chats", "kind": "chat", "path": str(path),
                                        "columns": CHAT_COLUMNS})


def write_review_file(path) -> None:
    path.write_text(
        "no,at,stars,item,body\n"
        "r1,2026-10-05,1,컵,배송이 늦어요\n"
        "x\x002,2026-10-05,2,컵,아이디에 NUL\n"
        "r3,2026-10-05,2,컵\x00 세트,상품명에 NUL\n"
        "r4,2026-10-05,1,컵,본문에\x00 NUL과 \u202e뒤집기\n"
        "r5\u202e,2026-10-05,1,컵,아이디에 방향 제어 문자\n"
        "r6\t7,2026-10-05,1,컵,아이디에 탭\n",
        encoding="utf-8",
    )


def test_an_id_with_a_control_character_is_quarantined_and_texts_and_names_are_cleaned(tmp_path):
    path = tmp_path / "r.csv"
    write_review_file(path)
    batch = open_source(reviews(path), SEOUL).read(OCTOBER)
    loaded = {item.source_id: item for item in batch.items}
    assert sorted(loaded) == ["r1", "r3", "r4"]
    assert loaded["r3"].product == "컵 세트"
    assert loaded["r4"].text == "본문에 NUL과 뒤집기"
    assert {q.location: q.reason for q in batch.quarantine} == {
        f"{path}:3": "id contains the control or invisible character U+0000",
        f"{path}:6": "id contains the control or invisible character U+202E",
        f"{path}:7": "id contains the control or invisible character U+0009",
    }
    raws = [json.loads(q.raw) for q in batch.quarantine]
    assert [raw["no"] for raw in raws] == ["x2", "r5", "r6\t7"], "raw text keeps no invisible character"
    assert batch.records_read == 6


class StubReader:
    """Records as a SQL or API reader might hand them on, with the control characters in the key."""

    def __init__(self, records: list[RawRecord]):
        self.items = records

    def records(self, window, tz, since=None):
        return iter(self.items)


def test_a_location_shows_the_control_character_escaped():
    config = SourceConfig.model_validate({
        "name": "api", "kind": "review", "http": {"url": "http://shop.test/reviews"},
        "columns": {"id": "id", "created_at": "at", "text": "body"}})
    fields = {"at": "2026-10-05", "body": "좋아요"}
    stub = StubReader([RawRecord("reviews#x\x002", {**fields, "id": "x\x002"}),
                       RawRecord("reviews#x2", {**fields, "id": "x2"}),
                       RawRecord("page 2", error="page is not JSON", raw="<html>\x00\ud800</html>")])
    batch = open_source(config, SEOUL, stub).read(OCTOBER)
    assert [i.source_id for i in batch.items] == ["x2"]
    raw = json.dumps({"at": "2026-10-05", "body": "좋아요", "id": "x2"}, ensure_ascii=False)
    assert [(q.location, q.raw) for q in batch.quarantine] == [
        ("reviews#x\\x002", raw), ("page 2", "<html></html>")]


def pipeline_docs(items) -> list[Document]:
    """Documents as the normalise and mask stages leave them; no models are needed to write them."""
    masked = PiiMasker().mask_many([normalize_text(item.text) for item in items])
    return [Document(item=item, text=normalize_text(item.text), masked_text=m.text, language="ko")
            for item, m in zip(items, masked, strict=True)]


def test_one_nul_never_fails_the_window_write_of_any_source(warehouse_url, tmp_path):
    """Both sources commit in one transaction on DuckDB and PostgreSQL, raw text stored too: every
    record but the NUL-keyed ones is written, and those are in quarantine with their reason."""
    review_file, chat_file, survey_file = tmp_path / "r.csv", tmp_path / "c.csv", tmp_path / "s.jsonl"
    write_review_file(review_file)
    chat_file.write_text(
        "cid,at,who,msg\n"
        "C1,2026-10-05T10:00:00+09:00,customer,환불\x00 해주세요\n"
        "C\x002,2026-10-05T10:00:00+09:00,customer,대화 번호에 NUL\n",
        encoding="utf-8",
    )
    # A raw NUL inside a JSON string is invalid JSON: the line is quarantined with its text.
    survey_file.write_text('{"rid": "s1", "at": "2026-10-05", "nps": 3, "why": "배송\x00"}\n'
                           '{"rid": "s2", "at": "2026-10-05", "nps": 3, "why": "\\ud800 느려요"}\n',
                           encoding="utf-8", errors="surrogatepass")
    surveys = SourceConfig.model_validate({
        "name": "surveys", "kind": "survey", "path": str(survey_file),
        "columns": {"id": "rid", "created_at": "at", "nps": "nps"}, "answers": {"why": "이유는?"}})
    batches = [open_source(config, SEOUL).read(OCTOBER) for config in (reviews(review_file), chats(chat_file),
                                                                     surveys)]
    items = [item for batch in batches for item in batch.items]
    engine = connect(warehouse_url)
    ensure_schema(engine)
    writes = window_writes(batches, pipeline_docs(items), "run", "m", PiiMasker(), store_raw_text=True)
    replace_window(engine, OCTOBER, writes)
    with engine.connect() as conn:
        feedback = conn.execute(text("SELECT source, source_id, product, text_raw, text_masked FROM feedback"
                                     " ORDER BY source, source_id")).all()
        quarantined = conn.execute(text("SELECT source, location, reason FROM quarantine")).all()
        responses = conn.execute(text("SELECT response_id FROM survey_responses")).scalars().all()
    assert [(row.source, row.source_id) for row in feedback] == [
        ("chats", "C1"), ("reviews", "r1"), ("reviews", "r3"), ("reviews", "r4"), ("surveys", "s2")]
    assert all("\x00" not in (row.text_raw + row.text_masked + (row.product or "")) for row in feedback)
    assert responses == ["s2"]
    assert sorted((row.source, row.reason.split(":")[0]) for row in quarantined) == [
        ("chats", "id contains the control or invisible character U+0000"),
        ("reviews", "id contains the control or invisible character U+0000"),
        ("reviews", "id contains the control or invisible character U+0009"),
        ("reviews", "id contains the control or invisible character U+202E"),
        ("surveys", "invalid JSON")]
