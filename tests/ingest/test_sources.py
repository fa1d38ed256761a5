import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import SourceConfig
from pipeline.ingest.readers import SourceReadError, read_records
from pipeline.ingest.sources import open_source
from pipeline.ingest.values import parse_timestamp
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))


def review_source(path, **overrides):
    return open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review", "path": str(path),
        "columns": {"id": "no", "created_at": "at", "rating": "stars", "product": "item", "text": "body"},
        **overrides,
    }), SEOUL)


def test_reviews_map_columns_and_filter_the_window(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "no,at,stars,item,body\n"
        "1,2026-10-05T10:00:00+09:00,1,우산,\"배송이 너무 늦어요\n두번다시 안사요\"\n"
        "2,2026-09-30T23:59:00+09:00,5,우산,좋아요\n"
        "3,2026-10-31T23:30:00+09:00,4,가방,괜찮아요\n",
        encoding="utf-8",
    )
    batch = review_source(path).read(OCTOBER)
    assert [i.source_id for i in batch.items] == ["1", "3"]
    first = batch.items[0]
    assert first.text == "배송이 너무 늦어요\n두번다시 안사요"
    assert first.rating == 1 and first.product == "우산"
    assert first.record_date == date(2026, 10, 5)
    assert batch.records_read == 2 and not batch.quarantine


def test_bad_records_are_quarantined_with_location_and_reason(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "no,at,stars,item,body\n"
        "1,2026-10-05,1,a,나빠요\n"
        ",2026-10-05,1,a,아이디 없음\n"
        "3,어제,1,a,날짜 이상\n"
        "4,,1,a,날짜 없음\n"
        "5,2026-10-05,9,a,별점 이상\n"
        "6,2026-10-05,3,a,   \n"
        f"{'7' * 257},2026-10-05,3,a,아이디가 너무 길어요\n"
        f"8,2026-10-05,3,{'긴 이름 ' * 60},상품명이 너무 길어요\n",
        encoding="utf-8",
    )
    batch = review_source(path).read(OCTOBER)
    reasons = {q.location.rsplit(":", 1)[1]: q.reason for q in batch.quarantine}
    assert reasons == {"3": "missing id", "4": "unparseable date", "5": "missing date",
                       "6": "rating '9' is not in 1–5", "7": "empty text",
                       "8": "id longer than 256 characters", "9": "product name longer than 256 characters"}
    assert batch.records_read == len(batch.items) + len(batch.quarantine) == 8


def test_cp949_and_bom_files_are_read(tmp_path):
    rows = "no,at,stars,item,body\n1,2026년 10월 5일,2,양말,구멍이 났어요\n"
    (tmp_path / "cp949.csv").write_bytes(rows.encode("cp949"))
    (tmp_path / "bom.csv").write_bytes(rows.encode("utf-8-sig"))
    for name in ("cp949.csv", "bom.csv"):
        batch = review_source(tmp_path / name).read(OCTOBER)
        assert [i.text for i in batch.items] == ["구멍이 났어요"], name


def test_missing_file_or_column_fails_loudly(tmp_path):
    with pytest.raises(SourceReadError, match="does not exist"):
        review_source(tmp_path / "none.csv").read(OCTOBER)
    path = tmp_path / "r.csv"
    path.write_text("no,at,stars,item,text\n1,2026-10-05,1,a,b\n", encoding="utf-8")
    with pytest.raises(SourceReadError, match="body"):
        review_source(path).read(OCTOBER)


def test_survey_answers_are_mined_separately_and_keep_their_question(tmp_path):
    path = tmp_path / "s.jsonl"
    lines = [
        json.dumps({"rid": "a", "at": "2026-10-02T09:00:00+09:00", "nps": 3, "why": "배송이 느려요",
                    "fix": "포장 개선", "store": "강남점"}, ensure_ascii=False),
        "{broken json",
        json.dumps({"rid": "b", "at": "2026-10-02", "nps": 10, "why": "", "fix": None}),
        json.dumps({"rid": "c", "at": "2026-10-02", "nps": 11, "why": "최고"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    source = open_source(SourceConfig.model_validate({
        "name": "surveys", "kind": "survey", "path": str(path),
        "columns": {"id": "rid", "created_at": "at", "nps": "nps", "product": "store"},
        "answers": {"why": "이유는?", "fix": "개선점은?"},
    }), SEOUL)
    batch = source.read(OCTOBER)
    assert [(i.source_id, i.part, i.question, i.nps, i.product) for i in batch.items] == [
        ("a", "why", "이유는?", 3, "강남점"), ("a", "fix", "개선점은?", 3, "강남점")]
    assert {q.reason.split(":")[0] for q in batch.quarantine} == {
        "invalid JSON", "NPS score 11 is not a whole number in 0–10"}
    assert [q.raw for q in batch.quarantine if q.reason.startswith("invalid JSON")] == ["{broken json"]
    assert batch.items[0].feedback_id != batch.items[1].feedback_id
    assert [(r.response_id, r.nps, r.answers, r.product) for r in batch.responses] == [
        ("a", 3, 2, "강남점"), ("b", 10, 0, None)]
    assert batch.records_read == 4


def test_unparseable_json_lines_are_handed_on_with_their_reason_and_text(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 1}\n{broken\n[1, 2]\n', encoding="utf-8")
    parsed, broken, listed = read_records(str(path))
    assert (parsed.fields, parsed.error, parsed.raw) == ({"id": 1}, None, None)
    assert broken.error.startswith("invalid JSON: ") and broken.raw == "{broken" and broken.fields == {}
    assert listed.location == f"{path}:3"
    assert (listed.error, listed.raw) == ("JSON line is not an object", "[1, 2]")


def test_chat_turns_become_customer_items_and_conversation_facts(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "cid,at,who,msg,shop\n"
        "C1,2026-10-03T10:00:00+09:00,bot,무엇을 도와드릴까요?,\n"
        "C1,2026-10-03T10:01:00+09:00,customer,환불 문의요,성수점\n"
        "C1,2026-10-03T10:02:00+09:00,bot,이해하지 못했어요,\n"
        "C1,2026-10-03T10:03:00+09:00,customer,상담원 연결해주세요,\n"
        "C1,2026-10-03T10:48:00+09:00,agent,기다려주셔서 감사합니다,\n"
        "C2,2026-10-04T11:00:00+09:00,customer,로그인이 안돼요,\n"
        "C2,2026-10-04T11:05:00+09:00,robot,???,\n",
        encoding="utf-8",
    )
    source = open_source(SourceConfig.model_validate({
        "name": "chats", "kind": "chat", "path": str(path),
        "columns": {"id": "cid", "created_at": "at", "speaker": "who", "text": "msg", "product": "shop"},
    }), SEOUL)
    batch = source.read(OCTOBER)
    # The store named on one turn is the whole conversation's.
    assert [(i.conversation_id, i.part, i.product) for i in batch.items] == [
        ("C1", "turn1", "성수점"), ("C1", "turn3", "성수점"), ("C2", "turn0", None)]
    c1 = next(c for c in batch.conversations if c.conversation_id == "C1")
    assert c1.bot_turns_before_human == 2 and c1.reached_human and c1.asked_for_human
    assert c1.minutes_to_first_human == 47.0
    c2 = next(c for c in batch.conversations if c.conversation_id == "C2")
    assert not c2.reached_human and c2.minutes_to_first_human is None
    assert [q.reason for q in batch.quarantine] == ["unknown speaker 'robot'"]
    assert batch.records_read == 7


@pytest.mark.parametrize("text, expected", [
    ("2024. 3. 5.", "2024-03-05T00:00:00+09:00"),
    ("2024년 3월 5일", "2024-03-05T00:00:00+09:00"),
    ("2024년 3월 5일 오후 2시 30분", "2024-03-05T14:30:00+09:00"),
    ("2024-03-05 14:30", "2024-03-05T14:30:00+09:00"),
    ("2024-03-05T05:30:00Z", "2024-03-05T05:30:00+00:00"),
])
def test_korean_and_iso_dates(text, expected):
    assert parse_timestamp(text, SEOUL).isoformat() == expected


def test_unparseable_dates_are_none():
    assert parse_timestamp("어제", SEOUL) is None
    assert parse_timestamp("2024년 13월 5일", SEOUL) is None


def test_duplicate_ids_keep_the_last_version_and_quarantine_the_rest(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "no,at,stars,item,body\n"
        "1,2026-10-05,1,a,처음 쓴 글\n"
        "1,2026-10-05,2,a,고쳐 쓴 글\n",
        encoding="utf-8",
    )
    batch = review_source(path).read(OCTOBER)
    assert [i.text for i in batch.items] == ["고쳐 쓴 글"]
    assert [q.reason for q in batch.quarantine] == [f"duplicate id: superseded by {path}:3"]


def test_emoji_only_and_whitespace_only_texts_are_quarantined(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("no,at,stars,item,body\n1,2026-10-05,5,a,👍👍🎉\n2,2026-10-05,5,a,\t \n"
                    "3,2026-10-05,5,a,ㅋㅋㅋ\n", encoding="utf-8")
    batch = review_source(path).read(OCTOBER)
    assert [q.reason for q in batch.quarantine] == ["no words: emoji or symbols only", "empty text"]
    assert [i.text for i in batch.items] == ["ㅋㅋㅋ"]
