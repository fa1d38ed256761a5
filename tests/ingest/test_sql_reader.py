"""SqlReader against the real PostgreSQL and MariaDB servers: windows in Asia/Seoul, Korean text,
streaming, queries, incremental pulls, errors without credentials, and a chat source end to end."""

from __future__ import annotations

import os
import traceback
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from pipeline.config import SourceColumns, SourceConfig, SqlReaderConfig
from pipeline.ingest.readers import SourceReadError
from pipeline.ingest.sources import open_source
from pipeline.ingest.sql_reader import SqlReader
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
WINDOW = Window(date(2026, 10, 1), date(2026, 10, 2))
MARIADB_URL = os.environ.get("SORI_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4")
COLUMNS = SourceColumns(id="리뷰번호", created_at="작성일", text="내용", rating="별점", updated_at="수정일")
URL_ENV = "SORI_TEST_SQL_URL"


def seoul(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SEOUL)


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """The local MariaDB server; skipped where there is none, except in CI, where that is a failure."""
    engine = create_engine(MARIADB_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means no server
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MariaDB not reachable at {MARIADB_URL}: {exc}")
    finally:
        engine.dispose()
    return MARIADB_URL


# (server, SQL type of the timestamp columns): zone-aware and naive columns are compared differently.
DATABASES = {
    "postgresql-timestamptz": ("postgres_url", "TIMESTAMP(6) WITH TIME ZONE"),
    "postgresql-timestamp": ("postgres_url", "TIMESTAMP(6) WITHOUT TIME ZONE"),
    "mariadb-datetime": ("mariadb_url", "DATETIME(6)"),
}


@pytest.fixture(params=list(DATABASES))
def database(request, monkeypatch) -> tuple[str, str]:
    """The database URL, put where a config would name it (an environment variable), and the type."""
    fixture, timestamp_type = DATABASES[request.param]
    url = request.getfixturevalue(fixture)
    monkeypatch.setenv(URL_ENV, url)
    return url, timestamp_type


def create_table(url: str, timestamp_type: str, columns: str) -> tuple[Engine, str]:
    name = f"sori_sql_{uuid.uuid4().hex[:10]}"
    charset = " DEFAULT CHARSET=utf8mb4" if url.startswith("mysql") else ""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} ({columns.format(ts=timestamp_type)}){charset}"))
    return engine, name


@pytest.fixture
def reviews(database) -> Iterator[tuple[str, list[dict]]]:
    """A uniquely named review table with Korean column names and text, dropped afterwards."""
    url, timestamp_type = database
    engine, name = create_table(url, timestamp_type, "리뷰번호 VARCHAR(20) PRIMARY KEY, "
                                "작성일 {ts} NOT NULL, 수정일 {ts} NOT NULL, 별점 INTEGER, 내용 TEXT")
    aware = "WITH TIME ZONE" in timestamp_type
    rows = [
        ("before", seoul(2026, 9, 30, 23, 59, 59, 999999), "하루 전 마지막 순간"),
        ("first", seoul(2026, 10, 1), "배송이 너무 늦어요 😡 두번 다시 안 사요"),
        ("last", seoul(2026, 10, 2, 23, 59, 59, 999999), "환불은 언제 되나요?"),
        ("after", seoul(2026, 10, 3), "다음 날 첫 순간"),
        *[(f"mid{n:02d}", seoul(2026, 10, 1, 9) + timedelta(minutes=n), f"무난해요 {n}") for n in range(20)],
    ]
    records = [
        {"리뷰번호": key, "작성일": at if aware else at.replace(tzinfo=None),
         "수정일": (at + timedelta(days=5)) if aware else (at + timedelta(days=5)).replace(tzinfo=None),
         "별점": 2, "내용": body}
        for key, at, body in rows
    ]
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {name} VALUES (:리뷰번호, :작성일, :수정일, :별점, :내용)"), records)
    yield name, records
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {name}"))
    engine.dispose()


def reader(batch_size: int = 1000, **source: str) -> SqlReader:
    config = SqlReaderConfig(url_env=URL_ENV, timestamp_column="작성일", batch_size=batch_size, **source)
    return SqlReader(config, COLUMNS, name="reviews")


def test_a_window_reads_exactly_its_rows_in_seoul_and_korean_round_trips(reviews):
    table, records = reviews
    read = list(reader(table=table).records(WINDOW, SEOUL))
    ids = [r.fields["리뷰번호"] for r in read]
    assert ids == ["first", *[f"mid{n:02d}" for n in range(20)], "last"]
    expected = {r["리뷰번호"]: r["내용"] for r in records}
    assert all(r.fields["내용"] == expected[r.fields["리뷰번호"]] for r in read)
    assert read[0].fields["내용"] == "배송이 너무 늦어요 😡 두번 다시 안 사요"
    assert read[0].location == f"{table}#first"
    assert isinstance(read[0].fields["작성일"], datetime) and read[0].fields["별점"] == 2


def test_rows_stream_through_a_server_side_cursor_in_small_batches(reviews):
    table, _ = reviews
    cursors: list[str] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        if context.execution_options.get("stream_results"):
            cursors.append(type(cursor).__name__)

    event.listen(Engine, "before_cursor_execute", spy)
    try:
        read = list(reader(batch_size=3, table=table).records(WINDOW, SEOUL))
    finally:
        event.remove(Engine, "before_cursor_execute", spy)
    assert len(read) == 22 and len({r.location for r in read}) == 22
    assert cursors and all(name in ("ServerCursor", "SSCursor") for name in cursors), cursors


def test_a_query_source_is_read_as_a_subquery(reviews):
    table, _ = reviews
    query = f"SELECT 리뷰번호, 작성일, 수정일, 내용 FROM {table} WHERE 내용 NOT LIKE '무난%';"
    read = list(reader(query=query).records(WINDOW, SEOUL))
    assert [r.fields["리뷰번호"] for r in read] == ["first", "last"]
    assert read[0].location == "query#first" and "별점" not in read[0].fields


def test_an_incremental_pull_returns_only_rows_updated_after_since(reviews, database):
    table, _ = reviews
    url, _ = database
    aware = "WITH TIME ZONE" in database[1]
    updated = seoul(2026, 11, 1, 12) if aware else datetime(2026, 11, 1, 12)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET 수정일 = :at, 내용 = '수정됨' "
                          "WHERE 리뷰번호 IN ('before', 'mid07')"), {"at": updated})
    engine.dispose()
    since = seoul(2026, 11, 1, 12) - timedelta(microseconds=1)
    read = list(reader(table=table).records(None, SEOUL, since=since))
    assert [r.fields["리뷰번호"] for r in read] == ["before", "mid07"]
    assert {r.fields["내용"] for r in read} == {"수정됨"}
    assert list(reader(table=table).records(None, SEOUL, since=seoul(2026, 11, 1, 12))) == []


def test_a_missing_table_or_column_fails_the_source_with_a_clear_message(reviews):
    table, _ = reviews
    with pytest.raises(SourceReadError, match="no_such_table"):
        list(reader(table="no_such_table").records(WINDOW, SEOUL))
    config = SqlReaderConfig(url_env=URL_ENV, table=table, timestamp_column="없는열")
    with pytest.raises(SourceReadError, match="없는열"):
        list(SqlReader(config, COLUMNS, name="reviews").records(WINDOW, SEOUL))


def test_errors_never_carry_the_password(postgres_url, mariadb_url, monkeypatch):
    """PostgreSQL trusts the loopback, so a URL with a password reaches the missing-table error;
    MariaDB refuses the password, so it shows the connection failure."""
    password = "s3cret-Pa55"
    for url, expected in [(postgres_url, "no_such_table"), (mariadb_url, "Access denied")]:
        with_password = make_url(url).set(password=password).render_as_string(hide_password=False)
        monkeypatch.setenv(URL_ENV, with_password)
        with pytest.raises(SourceReadError, match=expected) as caught:
            list(reader(table="no_such_table").records(WINDOW, SEOUL))
        shown = "".join(traceback.format_exception(caught.value))
        assert password not in shown and password not in repr(caught.value)
        assert "***" in str(caught.value)


def test_a_missing_url_names_the_variable_it_looked_for(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(SourceReadError, match=URL_ENV):
        list(reader(table="anything").records(WINDOW, SEOUL))


@pytest.fixture
def chat_turns(postgres_url, monkeypatch) -> Iterator[str]:
    """Chat turns in PostgreSQL: one conversation inside the window, one that starts before it and
    runs into it, one that starts on its last evening and ends after midnight, one after it."""
    monkeypatch.setenv(URL_ENV, postgres_url)
    engine, name = create_table(postgres_url, "TIMESTAMPTZ", "conversation_id TEXT, sent_at {ts}, "
                                "role TEXT, message TEXT")
    turns = [
        ("c1", seoul(2026, 10, 1, 10), "USER", "주문한 물건이 안 와요"),
        ("c1", seoul(2026, 10, 1, 10, 1), "BOT", "주문번호를 알려주세요"),
        ("c1", seoul(2026, 10, 1, 10, 5), "AGENT", "확인해 드리겠습니다"),
        ("c1", seoul(2026, 10, 1, 10, 6), "USER", "상담원 연결해 주세요"),
        ("c0", seoul(2026, 9, 30, 23, 55), "USER", "결제가 두 번 됐어요"),
        ("c0", seoul(2026, 10, 1, 0, 5), "AGENT", "취소해 드렸습니다"),
        ("c2", seoul(2026, 10, 2, 23, 50), "USER", "환불이 아직 안 들어왔어요"),
        ("c2", seoul(2026, 10, 3, 0, 10), "AGENT", "내일 입금됩니다"),
        ("c2", seoul(2026, 10, 3, 0, 12), "USER", "너무 늦네요"),
        ("c3", seoul(2026, 10, 3, 9), "USER", "다음 날 문의"),
    ]
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {name} VALUES (:c, :at, :role, :message)"),
                     [{"c": c, "at": at, "role": role, "message": message} for c, at, role, message in turns])
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {name}"))
    engine.dispose()


def test_a_chat_source_reads_whole_conversations_from_postgresql(chat_turns):
    config = SourceConfig.model_validate({
        "name": "chats", "kind": "chat",
        "sql": {"url_env": URL_ENV, "table": chat_turns, "timestamp_column": "sent_at", "batch_size": 2},
        "columns": {"id": "conversation_id", "created_at": "sent_at", "speaker": "role", "text": "message"},
        "speakers": {"customer": "USER", "agent": "AGENT", "bot": "BOT"},
    })
    batch = open_source(config, SEOUL).read(WINDOW)
    conversations = {c.conversation_id: c for c in batch.conversations}
    assert sorted(conversations) == ["c1", "c2"]
    assert conversations["c1"].turns == 4 and conversations["c1"].reached_human
    assert conversations["c2"].turns == 3 and conversations["c2"].record_date == date(2026, 10, 2)
    assert [(i.source_id, i.text) for i in batch.items] == [
        ("c1", "주문한 물건이 안 와요"), ("c1", "상담원 연결해 주세요"),
        ("c2", "환불이 아직 안 들어왔어요"), ("c2", "너무 늦네요"),
    ]
    assert batch.records_read == 7 and not batch.quarantine
    assert batch.items[1].location == f"{chat_turns}#c1#4"
