"""Typed columns (Parquet, SQL, JSON numbers) read as what they mean: an integer id is `101` however it
arrived, a null of any type is missing (that record quarantined with its location and reason), never the
text `nan` or a timestamp that fails later."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from pipeline.config import SourceConfig
from pipeline.ingest.readers import RawRecord, read_records
from pipeline.ingest.sources import open_source
from pipeline.ingest.values import number_value, parse_timestamp, plain_value, record_key, text_value
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))
URL_ENV = "SORI_TEST_TYPED_DB"


@pytest.mark.parametrize("value, key", [
    (101, "101"), (101.0, "101"), (np.int64(101), "101"), (np.float64(101.0), "101"), (Decimal("101"), "101"),
    (Decimal("101.00"), "101"), (" R-7 ", "R-7"), (1.5, "1.5"), (None, ""), (float("nan"), ""), (pd.NA, ""),
    (pd.NaT, ""), (np.datetime64("NaT"), ""), (Decimal("NaN"), ""), (uuid.UUID(int=1), str(uuid.UUID(int=1))),
    ({"a": 1}, None), ([1], None), (datetime(2026, 10, 1), None),
])
def test_an_id_reads_as_what_it_means(value, key):
    assert record_key(value) == key


@pytest.mark.parametrize("value, expected", [
    ("배송", "배송"), (5, "5"), (5.0, "5"), (Decimal("4.5"), "4.5"), (None, ""), (float("nan"), ""),
    (pd.NA, ""), (b"\xeb\xb0\xb0\xec\x86\xa1", "배송"), ({"a": 1}, None), (["a"], None), (True, None),
])
def test_a_text_is_a_string_or_a_number_written_plainly(value, expected):
    assert text_value(value) == expected


@pytest.mark.parametrize("value, expected", [
    (Decimal("4.5"), 4.5), (np.int8(3), 3.0), ("４.５", 4.5), (None, None), (pd.NA, None),
    (float("nan"), None), ("5점", None), (True, None),
])
def test_a_rating_reads_as_a_number(value, expected):
    assert number_value(value) == expected


def test_timestamps_of_every_type_parse_and_nulls_of_every_type_are_missing():
    expected = datetime(2026, 10, 5, 9, 30, tzinfo=SEOUL)
    for value in (pd.Timestamp("2026-10-05 09:30"), np.datetime64("2026-10-05T09:30"),
                  np.datetime64("2026-10-05T09:30:00.000000000"),
                  datetime(2026, 10, 5, 9, 30), "2026-10-05 09:30",
                  pd.Timestamp("2026-10-05 00:30", tz="UTC")):
        assert parse_timestamp(value, SEOUL) == expected, value
    assert parse_timestamp(date(2026, 10, 5), SEOUL) == datetime(2026, 10, 5, tzinfo=SEOUL)
    for missing in (None, pd.NaT, np.datetime64("NaT"), pd.NA, float("nan"), "", "  ", datetime.max.replace(
            tzinfo=ZoneInfo("UTC")), "0001-01-01T00:00:00+09:00", Decimal("NaN"), ["2026-10-05"]):
        assert parse_timestamp(missing, SEOUL) is None, missing
    assert plain_value(np.datetime64("2026-10-05T09:30")) == datetime(2026, 10, 5, 9, 30)


def write_parquet(path) -> None:
    pq.write_table(pa.table({
        "id": pa.array([101, None, 103, 104, 105], pa.int64()),
        "at": pa.array([datetime(2026, 10, 1, 9), datetime(2026, 10, 1, 10), None, datetime(2026, 10, 2, 9),
                        datetime(2026, 10, 2, 1)], pa.timestamp("ns")),
        "stars": pa.array([Decimal("5.00"), Decimal("1.00"), Decimal("2.00"), None, Decimal("4.50")],
                          pa.decimal128(4, 2)),
        "body": ["좋아요", "아이디 없음", "날짜 없음", "별점 없음", "반 별점"],
    }), path)


def test_a_parquet_file_with_nulls_loads_its_good_rows_and_quarantines_the_rest(tmp_path):
    path = tmp_path / "reviews.parquet"
    write_parquet(path)
    assert [r.fields["id"] for r in read_records(str(path))] == [101, None, 103, 104, 105]
    source = open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review", "path": str(path),
        "columns": {"id": "id", "created_at": "at", "rating": "stars", "text": "body"}}), SEOUL)
    batch = source.read(OCTOBER)
    assert [(i.source_id, i.rating) for i in batch.items] == [("101", 5.0), ("105", 4.5)]
    assert {q.location: q.reason for q in batch.quarantine} == {
        f"{path}#row2": "missing id", f"{path}#row3": "missing date",
        f"{path}#row4": "rating None is not in 1–5"}
    assert json.loads(batch.quarantine[1].raw) == {"id": 103, "at": None, "stars": 2, "body": "날짜 없음"}
    assert batch.records_read == 5


class StubReader:
    """Rows as a typed reader hands them on (numpy and pandas scalars)."""

    def __init__(self, records: list[RawRecord]):
        self.items = records

    def records(self, window, tz, since=None):
        return iter(self.items)


def test_numpy_and_pandas_values_read_as_plain_values():
    noon = pd.Timestamp("2026-10-03 12:00")
    rows = [
        {"id": np.float64(201.0), "at": noon, "stars": np.int64(2), "body": "느려요"},
        {"id": np.float64("nan"), "at": noon, "stars": np.int64(2), "body": "번호 없음"},
        {"id": Decimal("203"), "at": pd.NaT, "stars": np.int64(2), "body": "날짜 없음"},
        {"id": "204", "at": "2026-10-03", "stars": pd.NA, "body": {"a": 1}},
    ]
    config = SourceConfig.model_validate({"name": "reviews", "kind": "review", "path": "unused.csv",
                                          "columns": {"id": "id", "created_at": "at", "rating": "stars",
                                                      "text": "body"}})
    stub = StubReader([RawRecord(f"t#{n}", row) for n, row in enumerate(rows)])
    batch = open_source(config, SEOUL, stub).read(OCTOBER)
    assert [i.source_id for i in batch.items] == ["201"]
    assert [q.reason for q in batch.quarantine] == ["missing id", "missing date",
                                                    "text is a JSON object, not a string"]


@pytest.fixture
def typed_tables(postgres_url, monkeypatch):
    """A review table with NUMERIC ids and DOUBLE ratings, and chat turns with a null timestamp."""
    monkeypatch.setenv(URL_ENV, postgres_url)
    suffix = uuid.uuid4().hex[:8]
    reviews, turns = f"typed_reviews_{suffix}", f"typed_turns_{suffix}"
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {reviews} (id NUMERIC(12, 0), at TIMESTAMPTZ, "
                          "stars DOUBLE PRECISION, body TEXT)"))
        conn.execute(text(f"INSERT INTO {reviews} VALUES (101, '2026-10-05 10:00+09', 1.0, '배송이 늦어요'), "
                          "(102, '2026-10-05 11:00+09', 4.5, '괜찮아요'), "
                          "(NULL, '2026-10-05 12:00+09', 2, '번호 없음')"))
        conn.execute(text(f"CREATE TABLE {turns} (cid BIGINT, at TIMESTAMPTZ, who TEXT, msg TEXT)"))
        conn.execute(text(f"INSERT INTO {turns} VALUES (7, '2026-10-05 10:00+09', 'customer', '환불요'), "
                          "(7, NULL, 'customer', '시간 없음'), (7, '2026-10-05 10:05+09', 'agent', '네')"))
    yield reviews, turns
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {reviews}"))
        conn.execute(text(f"DROP TABLE {turns}"))
    engine.dispose()


def test_sql_numeric_ids_and_null_timestamps_read_as_what_they_mean(typed_tables):
    reviews, turns = typed_tables
    review_source = open_source(SourceConfig.model_validate({
        "name": "reviews", "kind": "review",
        "sql": {"url_env": URL_ENV, "table": reviews, "timestamp_column": "at"},
        "columns": {"id": "id", "created_at": "at", "rating": "stars", "text": "body"}}), SEOUL)
    batch = review_source.read(OCTOBER)
    assert [(i.source_id, i.rating) for i in batch.items] == [("101", 1.0), ("102", 4.5)]
    assert [q.reason for q in batch.quarantine] == ["missing id"]
    chat_source = open_source(SourceConfig.model_validate({
        "name": "chats", "kind": "chat",
        "sql": {"url_env": URL_ENV, "table": turns, "timestamp_column": "at"},
        "columns": {"id": "cid", "created_at": "at", "speaker": "who", "text": "msg"}}), SEOUL)
    batch = chat_source.read(OCTOBER)
    assert [(i.source_id, i.text) for i in batch.items] == [("7", "환불요")]
    assert [(q.location, q.reason) for q in batch.quarantine] == [(f"{turns}#7#3", "missing date")]
    assert batch.records_read == 3 and batch.conversations[0].turns == 2
