"""Every record read is counted once, by one window: windows that partition a period sum to what the
file holds, each quarantined record in exactly one of them. A duplicate is counted, never mined twice,
and a valid version is never lost to an invalid later one."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from pipeline.config import SourceConfig
from pipeline.ingest.readers import SourceReadError
from pipeline.ingest.sources import open_source
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import replace_window, window_writes
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
WINDOWS = [Window(date(2026, 10, 1), date(2026, 10, 10)), Window(date(2026, 10, 11), date(2026, 10, 20)),
           Window(date(2026, 10, 21), date(2026, 10, 31))]
REVIEW_COLUMNS = {"id": "no", "created_at": "at", "rating": "stars", "text": "body"}


def reviews(path):
    return open_source(SourceConfig.model_validate({"name": "reviews", "kind": "review", "path": str(path),
                                                    "columns": REVIEW_COLUMNS}), SEOUL)


def chats(path):
    return open_source(SourceConfig.model_validate({
        "name": "chats", "kind": "chat", "path": str(path),
        "columns": {"id": "cid", "created_at": "at", "speaker": "who", "text": "msg"}}), SEOUL)


MESSY = (
    "no,at,stars,body\n"
    ",어제,1,아이디도 날짜도 없음\n"              # 2: undated at the start: counted with the next (10-02)
    "r1,2026-10-02,1,배송이 늦어요\n"             # 3
    "r2,2026-10-05,1,처음 쓴 글\n"                # 4: superseded by line 9, counted on its own date
    "r3,지난주,1,날짜 이상\n"                     # 5: undated: counted with line 4 (10-05)
    "r4,2026-10-12,1,포장이 엉망\n"               # 6
    ",2026-10-15,1,아이디 없음\n"                 # 7: its own date
    "r5,,1,날짜 없음\n"                           # 8: counted with line 7 (10-15)
    "r2,2026-10-22,2,고쳐 쓴 글\n"                # 9
    "r6,2026-10-25,9,별점 이상\n"                 # 10
    "r7,언젠가,1,날짜 이상\n"                     # 11: counted with line 10 (10-25)
    "r8,2026-11-02,1,기간 밖\n"                   # 12: after every window
)


def test_windows_count_each_record_once(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(MESSY, encoding="utf-8")
    source = reviews(path)
    batches = [source.read(window) for window in WINDOWS]
    counted = [q.location for batch in batches for q in batch.quarantine]
    assert len(counted) == len(set(counted)) == 7, "no quarantined record is counted by two windows"
    assert [batch.records_read for batch in batches] == [4, 3, 3]
    assert [len(batch.quarantine) for batch in batches] == [3, 2, 2]
    assert [[i.source_id for i in batch.items] for batch in batches] == [["r1"], ["r4"], ["r2"]]
    assert sum(b.records_read for b in batches) == len(MESSY.splitlines()) - 2, "all but the header and r8"
    assert batches[0].quarantine[1].reason == f"duplicate id: superseded by {path}:9"
    whole = source.read(Window(date(2026, 10, 1), date(2026, 10, 31)))
    assert whole.records_read == 10 and sorted(q.location for q in whole.quarantine) == sorted(counted)


def test_an_incremental_read_counts_everything_it_read(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(MESSY, encoding="utf-8")
    batch = reviews(path).read(None)
    assert batch.records_read == 11 and len(batch.items) == 4


def test_a_window_read_with_no_usable_date_at_all_fails_the_source(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("no,at,stars,body\nr1,어제,1,날짜 이상\nr2,,1,날짜 없음\n", encoding="utf-8")
    with pytest.raises(SourceReadError, match=r"none of the 2 records read has a usable date in column 'at'"):
        reviews(path).read(WINDOWS[0])


def test_an_invalid_later_version_never_takes_the_valid_one_down(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("no,at,stars,body\n"
                    "r1,2026-10-05,1,처음 쓴 글\n"
                    "r1,2026-10-06,1,고쳐 쓴 글\n"
                    "r1,2026-10-07,9,별점이 잘못된 마지막 판\n"
                    "r1,엉터리,1,날짜가 잘못된 판\n", encoding="utf-8")
    batch = reviews(path).read(WINDOWS[0])
    assert [i.text for i in batch.items] == ["고쳐 쓴 글"]
    assert [q.reason for q in batch.quarantine] == [f"duplicate id: superseded by {path}:3",
                                                    "rating '9' is not in 1–5", "unparseable date"]
    assert batch.records_read == 4


def test_a_chat_turn_exported_twice_is_one_turn(tmp_path):
    path = tmp_path / "c.csv"
    turn = "C1,2026-10-05T10:01:00+09:00,customer,환불이 안 됐어요\n"
    path.write_text("cid,at,who,msg\n"
                    "C1,2026-10-05T10:00:00+09:00,bot,무엇을 도와드릴까요?\n" + turn +
                    "C1,2026-10-05T10:02:00+09:00,agent,확인해 드릴게요\n" + turn +
                    "C1,2026-10-05T10:03:00+09:00,customer,환불이 안 됐어요\n"  # a minute later: a turn
                    "C2,2026-10-12T09:00:00+09:00,customer,로그인이 안 돼요\n", encoding="utf-8")
    batch = chats(path).read(WINDOWS[0])
    assert [(i.part, i.text) for i in batch.items] == [("turn1", "환불이 안 됐어요"),
                                                       ("turn3", "환불이 안 됐어요")]
    assert [(q.location, q.reason) for q in batch.quarantine] == [
        (f"{path}:5", f"duplicate turn: the same as {path}:3")]
    assert batch.conversations[0].turns == 4
    assert batch.records_read == 5 and len(batch.items) == batch.records_read - 3, "bot and agent turns"


def test_a_bad_chat_turn_is_counted_by_its_conversations_window(tmp_path):
    """C1 starts on 10-10 (first window) and runs past midnight; its bad turn sits between turns of the
    second window in the file, yet belongs to C1."""
    path = tmp_path / "c.csv"
    path.write_text("cid,at,who,msg\n"
                    "C1,2026-10-10T23:50:00+09:00,customer,결제가 안 돼요\n"
                    "C2,2026-10-11T09:00:00+09:00,customer,배송 문의요\n"
                    "C1,엉터리,customer,시간이 깨진 턴\n"
                    "C1,2026-10-11T00:10:00+09:00,robot,???\n"
                    "C2,2026-10-11T09:01:00+09:00,customer,언제 와요\n", encoding="utf-8")
    first, second = (chats(path).read(window) for window in WINDOWS[:2])
    assert Counter(q.reason for q in first.quarantine) == {"unparseable date": 1,
                                                            "unknown speaker 'robot'": 1}
    assert (first.records_read, second.records_read) == (3, 2) and not second.quarantine
    assert [json.loads(q.raw)["msg"] for q in first.quarantine] == ["시간이 깨진 턴", "???"]


def test_windows_that_partition_a_period_sum_to_the_file(tmp_path):
    path = tmp_path / "r.csv"
    lines = ["no,at,stars,body"]
    for n in range(60):
        day = date(2026, 10, 1) + timedelta(days=n % 31)
        lines.append(f"r{n % 45},{day if n % 7 else '날짜?'},{1 + n % 5},리뷰 {n}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = reviews(path)
    batches = [source.read(window) for window in WINDOWS]
    assert sum(b.records_read for b in batches) == 60
    assert sum(len(b.quarantine) for b in batches) == len({q.location for b in batches for q in b.quarantine})
    assert sum(len(b.items) + len(b.quarantine) for b in batches) == 60


def test_three_windows_quarantine_as_many_records_as_they_count(warehouse_url, tmp_path):
    """What `runs.records_quarantined` adds up to over the windows equals the quarantine rows written,
    on DuckDB and PostgreSQL, and re-running a window counts and writes the same again."""
    path = tmp_path / "r.csv"
    path.write_text(MESSY, encoding="utf-8")
    engine = connect(warehouse_url)
    ensure_schema(engine)
    source, masker, counted = reviews(path), PiiMasker(), []
    for window in [*WINDOWS, WINDOWS[1]]:
        batch = source.read(window)
        replace_window(engine, window, window_writes([batch], [], "run", "m", masker, store_raw_text=False))
        counted.append(len(batch.quarantine))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM quarantine")).scalar()
    assert counted == [3, 2, 2, 2] and rows == sum(counted[:3]) == 7
