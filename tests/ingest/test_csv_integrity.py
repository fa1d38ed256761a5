"""Files are read record for record as they physically are: a quote that never closes cannot swallow
the records after it, a row cannot lose fields silently, a record separator inside a JSON string does
not cut the record, and the reconciliation counts every record the file holds."""

from __future__ import annotations

import csv
import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import SourceConfig
from pipeline.ingest.readers import SWALLOWED, read_records
from pipeline.ingest.sources import open_source
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))
HEADER = "id,date,stars,product,text\n"


def source(path):
    return open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review", "path": str(path),
        "columns": {"id": "id", "created_at": "date", "rating": "stars", "product": "product",
                    "text": "text"},
    }), SEOUL)


def test_an_unclosed_quote_swallows_no_record(tmp_path):
    path = tmp_path / "stray.csv"
    path.write_text(HEADER +
                    "s1,2026-10-17,5,컵,좋아요\n"
                    's2,2026-10-17,1,컵,"포장이 엉망\n'
                    "s3,2026-10-17,2,컵,포장이 부실해요\n"
                    "s4,2026-10-17,3,컵,보통이에요\n"
                    "s5,2026-10-17,4,컵,괜찮아요\n", encoding="utf-8")
    batch = source(path).read(OCTOBER)
    assert [i.source_id for i in batch.items] == ["s1", "s3", "s4", "s5"]
    assert [(q.location, q.reason, q.raw) for q in batch.quarantine] == [
        (f"{path}:3", SWALLOWED, 's2,2026-10-17,1,컵,"포장이 엉망')]
    assert batch.records_read == 5 == len(batch.items) + len(batch.quarantine)


def test_a_stray_quote_closed_by_a_later_record_swallows_nothing_either(tmp_path):
    path = tmp_path / "stray.csv"
    path.write_text(HEADER +
                    's1,2026-10-17,1,컵,"뚜껑이 안 닫혀요\n'
                    "s2,2026-10-17,2,컵,포장이 부실해요\n"
                    's3,2026-10-17,3,컵,"보통, 그냥 그래요"\n'
                    's4,2026-10-17,4,컵,"두 줄짜리\n리뷰예요"\n', encoding="utf-8")
    batch = source(path).read(OCTOBER)
    assert [(i.source_id, i.text) for i in batch.items] == [
        ("s2", "포장이 부실해요"), ("s3", "보통, 그냥 그래요"), ("s4", "두 줄짜리\n리뷰예요")]
    assert [(q.location, q.reason) for q in batch.quarantine] == [(f"{path}:2", SWALLOWED)]
    assert batch.records_read == 4


def test_multi_line_texts_stay_whole_even_with_commas_on_their_lines(tmp_path):
    path = tmp_path / "multi.csv"
    # Lines of the header's width inside the text, but without an id and a date: not records.
    body = "첫 줄\n가격도 싸고, 맛도 좋고, 배송도, 포장도, 최고\n주문,2026-10-17에,또,샀는데,늦었어요"
    path.write_text(f'{HEADER}s1,2026-10-17,1,컵,"{body}"\ns2,2026-10-18,5,컵,좋아요\n', encoding="utf-8")
    batch = source(path).read(OCTOBER)
    assert [(i.source_id, i.text) for i in batch.items] == [("s1", body), ("s2", "좋아요")]
    assert not batch.quarantine


def test_a_row_with_more_fields_than_the_header_is_quarantined_and_trailing_empties_are_not(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(HEADER +
                    "s1,2026-10-17,1,컵,배송이 늦어요,그리고 포장도\n"
                    "s2,2026-10-17,1,컵,배송이 늦어요,,\n"
                    "s3,2026-10-17,1,컵\n", encoding="utf-8")
    batch = source(path).read(OCTOBER)
    assert [i.source_id for i in batch.items] == ["s2"]
    assert [(q.location, q.reason) for q in batch.quarantine] == [
        (f"{path}:2", "row has 6 fields; the header has 5"), (f"{path}:4", "empty text")]


def test_a_malformed_record_is_quarantined_and_the_rest_of_the_file_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + "s1,2026-10-17,1,컵,배송이 늦어요\n"
                    f"s2,2026-10-17,1,컵,{'아' * 200}\n" "s3,2026-10-17,1,컵,포장이 엉망\n", encoding="utf-8")
    previous = csv.field_size_limit(100)
    try:
        batch = source(path).read(OCTOBER)
    finally:
        csv.field_size_limit(previous)
    assert [i.source_id for i in batch.items] == ["s1", "s3"]
    assert [(q.location, q.reason) for q in batch.quarantine] == [
        (f"{path}:3", "CSV: field larger than field limit (100)")]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_json_line_is_not_cut_at_a_separator_inside_a_string(tmp_path, separator):
    path = tmp_path / "r.jsonl"
    rows = [{"id": "j1", "date": "2026-10-17", "stars": 1, "text": f"첫 줄{separator}둘째 줄"},
            {"id": "j2", "date": "2026-10-17", "stars": 5, "text": "좋아요"}]
    path.write_text("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\r\n", encoding="utf-8")
    assert [(r.location, r.fields["id"]) for r in read_records(str(path))] == [(f"{path}:1", "j1"),
                                                                             (f"{path}:2", "j2")]
    batch = source(path).read(OCTOBER)
    assert [i.source_id for i in batch.items] == ["j1", "j2"] and not batch.quarantine


def test_json_lines_may_end_in_any_newline(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [json.dumps({"id": f"j{n}", "date": "2026-10-17", "stars": 5, "text": "좋아요"}) for n in range(3)]
    path.write_text(f"{rows[0]}\r{rows[1]}\r\n\n{rows[2]}", encoding="utf-8", newline="")
    assert [r.location.rsplit(":", 1)[1] for r in read_records(str(path))] == ["1", "2", "4"]
