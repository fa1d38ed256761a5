"""A text field is judged as the models will read it: markup or entities alone are empty text, a JSON
object is no text, hostile markup is stored inert, and a survey answer without a score keeps its text."""

from __future__ import annotations

import json
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from pipeline.components.prepare import Mask, Normalize
from pipeline.config import SourceConfig
from pipeline.ingest.sources import open_source
from pipeline.nlp import documents
from pipeline.text.pii.masker import PiiMasker
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))


def jsonl(path, rows: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def reviews(path):
    return open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review", "path": str(path),
        "columns": {"id": "id", "created_at": "at", "rating": "stars", "text": "body"}}), SEOUL)


def test_markup_or_entities_alone_are_empty_text(tmp_path):
    path = tmp_path / "r.jsonl"
    bodies = ["<br><br>", "&nbsp;", "<p>&nbsp;</p>", "\u202e\u200b", "<b>좋아요</b>"]
    jsonl(path, [{"id": f"r{n}", "at": "2026-10-05", "stars": 5, "body": b} for n, b in enumerate(bodies)])
    batch = reviews(path).read(OCTOBER)
    assert [q.reason for q in batch.quarantine] == ["empty text"] * 4
    assert [i.text for i in batch.items] == ["<b>좋아요</b>"]
    chats = tmp_path / "c.csv"
    chats.write_text("cid,at,who,msg\nC1,2026-10-05T10:00:00+09:00,customer,<br><br>\n"
                     "C1,2026-10-05T10:01:00+09:00,customer,환불 문의요\n", encoding="utf-8")
    batch = open_source(SourceConfig.model_validate({
        "name": "chats", "kind": "chat", "path": str(chats),
        "columns": {"id": "cid", "created_at": "at", "speaker": "who", "text": "msg"}}), SEOUL).read(OCTOBER)
    assert [q.reason for q in batch.quarantine] == ["empty text"]
    assert [i.part for i in batch.items] == ["turn1"]


@pytest.mark.parametrize("body, reason", [
    ({"a": 1}, "text is a JSON object, not a string"),
    (["배송", "늦음"], "text is a JSON list, not a string"),
    (True, "text is a bool, not a string"),
])
def test_a_text_that_is_not_a_string_is_quarantined(tmp_path, body, reason):
    path = tmp_path / "r.jsonl"
    jsonl(path, [{"id": "r1", "at": "2026-10-05", "stars": 1, "body": body},
                 {"id": "r2", "at": "2026-10-05", "stars": 1, "body": 1004}])
    batch = reviews(path).read(OCTOBER)
    assert [q.reason for q in batch.quarantine] == [reason]
    assert [i.text for i in batch.items] == ["1004"]


def test_a_survey_answer_without_a_score_keeps_its_text(tmp_path):
    path = tmp_path / "s.jsonl"
    jsonl(path, [
        {"rid": "a", "at": "2026-10-02", "why": "배송이 느려요"},
        {"rid": "b", "at": "2026-10-02", "score": None, "why": "상담원이 불친절해요"},
        {"rid": "c", "at": "2026-10-02", "score": " ", "why": "포장이 엉망이에요"},
        {"rid": "d", "at": "2026-10-02", "score": "열", "why": "점수가 글자"},
        {"rid": "e", "at": "2026-10-02", "score": 7, "why": {"text": "객체"}},
    ])
    batch = open_source(SourceConfig.model_validate({
        "name": "surveys", "kind": "survey", "path": str(path),
        "columns": {"id": "rid", "created_at": "at", "nps": "score"}, "answers": {"why": "이유는?"}}),
        SEOUL).read(OCTOBER)
    assert [(i.source_id, i.nps, i.text) for i in batch.items] == [
        ("a", None, "배송이 느려요"), ("b", None, "상담원이 불친절해요"), ("c", None, "포장이 엉망이에요")]
    assert [(r.response_id, r.nps, r.answers) for r in batch.responses] == [
        ("a", None, 1), ("b", None, 1), ("c", None, 1)]
    assert [q.reason for q in batch.quarantine] == ["NPS score '열' is not a whole number in 0–10",
                                                    "answer 'why' is a JSON object, not a string"]


PAYLOADS = [
    "&lt;script&gt;alert(document.cookie)&lt;/script&gt; 배송이 늦어요",
    "<img src=x onerror=alert(1)> 배송이 늦어요",
    "<iframe src=javascript:alert(1)></iframe> 배송이 늦어요",
    "&lt;img src=x onerror=alert(1)&gt; 배송이 늦어요",
    "배송이 늦어요 <img src=x onerror=alert(1)//",
]


def test_hostile_markup_is_stored_inert(tmp_path, kiwi):
    """What feedback.text_masked holds, and so every pain point's evidence (a slice of it)."""
    path = tmp_path / "r.jsonl"
    jsonl(path, [{"id": f"r{n}", "at": "2026-10-05", "stars": 1, "body": b} for n, b in enumerate(PAYLOADS)])
    docs = documents(reviews(path).read(OCTOBER).items)
    Mask(PiiMasker(kiwi))(Normalize()(docs))
    assert len(docs) == len(PAYLOADS)
    for doc in docs:
        assert "배송이 늦어요" in doc.masked_text
        assert not re.search(r"</?[a-zA-Z]", doc.masked_text), doc.masked_text
