"""Source kinds: reviews, survey responses and chat logs, read by date window with the user's column
names mapped by the config.

A source turns raw records (from any reader: files, SQL, HTTP) into `FeedbackItem`s and, for anything
it cannot use, `QuarantineRecord`s that say where the record was and why: nothing read is silently
dropped. Each kind is one class with one job (what a mapped record means); reading and date
handling are shared.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline.config import SourceConfig
from pipeline.document import MAX_KEY_LENGTH, Conversation, FeedbackItem, SurveyResponse
from pipeline.ingest.conversations import summarise_conversation
from pipeline.ingest.http_reader import HttpReader
from pipeline.ingest.readers import FileReader, RawRecord, RecordReader, SourceReadError
from pipeline.ingest.sql_reader import SqlReader
from pipeline.text.normalize import normalize_name
from pipeline.window import Window


@dataclass
class QuarantineRecord:
    source: str
    location: str
    reason: str
    raw: str


@dataclass
class SourceBatch:
    """What one source yielded for one window (or, incrementally, since its watermark), with the
    counts that reconcile it.

    `record_ids` are the keys of every record read (a review, a response, a conversation), so an
    incremental write can replace exactly those records; `watermark` is the latest last-modified time
    seen, stored only once the batch is committed.
    """

    source: str
    items: list[FeedbackItem] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    responses: list[SurveyResponse] = field(default_factory=list)
    quarantine: list[QuarantineRecord] = field(default_factory=list)
    records_read: int = 0
    incremental: bool = False
    record_ids: set[str] = field(default_factory=set)
    watermark: datetime | None = None


_KOREAN_DATE = re.compile(
    r"^\s*(\d{4})\s*(?:년|[.\-/])\s*(\d{1,2})\s*(?:월|[.\-/])\s*(\d{1,2})\s*(?:일|\.)?"
    r"(?:\s*(오전|오후)?\s*(\d{1,2})\s*(?:시|:)\s*(\d{1,2})?\s*(?:분)?(?:\s*:?\s*(\d{1,2})\s*(?:초)?)?)?\s*$"
)


def parse_timestamp(value: Any, tz: ZoneInfo) -> datetime | None:
    """Parse ISO 8601 and the common Korean export formats; naive times are local to `tz`."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            return None
        match = _KOREAN_DATE.match(text)
        if match:
            year, month, day, ampm, hour, minute, second = match.groups()
            hour_value = int(hour or 0)
            if ampm == "오후" and hour_value < 12:
                hour_value += 12
            if ampm == "오전" and hour_value == 12:
                hour_value = 0
            try:
                parsed = datetime(
                    int(year), int(month), int(day), hour_value, int(minute or 0), int(second or 0)
                )
            except ValueError:
                return None
        else:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


class Source:
    """Base of the source kinds: takes raw records from a reader (files, SQL, HTTP), checks the
    common fields, filters the window, and leaves what a record means to the kind."""

    def __init__(self, config: SourceConfig, tz: ZoneInfo, reader: RecordReader | None = None):
        self.config = config
        self.tz = tz
        self.reader = reader or open_reader(config)

    @property
    def supports_incremental(self) -> bool:
        """Databases and APIs with a last-modified column can pull only what changed; files cannot."""
        return self.config.columns.updated_at is not None and self.config.path is None

    def read(self, window: Window | None, since: datetime | None = None) -> SourceBatch:
        """A window of record dates, or (window None) everything modified after `since`."""
        batch = SourceBatch(source=self.config.name, incremental=window is None)
        try:
            records = list(self.reader.records(window, self.tz, since))
        except SourceReadError:
            raise
        except (OSError, csv.Error, ValueError) as exc:
            raise SourceReadError(f"source {self.config.name!r} cannot be read: {exc}") from exc
        self._check_columns(records)
        self.collect(records, window, batch)
        batch.watermark = self._watermark(records)
        return batch

    def _watermark(self, records: list[RawRecord]) -> datetime | None:
        column = self.config.columns.updated_at
        if not column:
            return None
        times = [t for r in records if (t := parse_timestamp(r.fields.get(column), self.tz)) is not None]
        return max(times, default=None)

    def _check_columns(self, records: list[RawRecord]) -> None:
        wanted = {c for c in self.required_columns() if c}
        good = [r for r in records if r.error is None]
        if good and not wanted <= set().union(*(r.fields.keys() for r in good)):
            missing = wanted - set().union(*(r.fields.keys() for r in good))
            raise SourceReadError(
                f"source {self.config.name!r}: columns {sorted(missing)} not found in {self.config.path}; "
                "map them under `columns:` in the config"
            )

    def required_columns(self) -> list[str | None]:
        columns = self.config.columns
        return [columns.id, columns.created_at, columns.text]

    def collect(self, records: list[RawRecord], window: Window | None, batch: SourceBatch) -> None:
        columns = self.config.columns
        last_of_id = {str(r.fields.get(columns.id)).strip(): r.location for r in records}
        for record in records:
            created_at, reason = self._common_checks(record)
            newer = last_of_id.get(str(record.fields.get(columns.id)).strip())
            if not reason and newer != record.location:
                reason = f"duplicate id: superseded by {newer}"
            if reason:
                batch.records_read += 1
                batch.quarantine.append(self._quarantine(record, reason))
                continue
            assert created_at is not None
            day = created_at.astimezone(self.tz).date()
            if window is not None and not window.contains(day):
                continue
            batch.records_read += 1
            batch.record_ids.add(str(record.fields[columns.id]).strip())
            items, reason = self.to_items(record, str(record.fields[columns.id]).strip(), created_at, day,
                                          batch)
            if reason:
                batch.quarantine.append(self._quarantine(record, reason))
            batch.items.extend(items)

    def _common_checks(self, record: RawRecord) -> tuple[datetime | None, str | None]:
        if record.error is not None:
            return None, record.error
        fields = record.fields
        record_id = fields.get(self.config.columns.id)
        if record_id is None or not str(record_id).strip():
            return None, "missing id"
        if len(str(record_id).strip()) > MAX_KEY_LENGTH:
            return None, f"id longer than {MAX_KEY_LENGTH} characters"
        if len(self.product(record) or "") > MAX_KEY_LENGTH:
            return None, f"product name longer than {MAX_KEY_LENGTH} characters"
        raw_time = fields.get(self.config.columns.created_at)
        created_at = parse_timestamp(raw_time, self.tz)
        if created_at is None:
            return None, "missing date" if not str(raw_time or "").strip() else "unparseable date"
        return created_at, None

    def _quarantine(self, record: RawRecord, reason: str) -> QuarantineRecord:
        raw = record.raw
        if raw is None:
            raw = json.dumps(record.fields, ensure_ascii=False, default=str)
        return QuarantineRecord(self.config.name, record.location, reason, raw)

    def item(self, record: RawRecord, source_id: str, created_at: datetime, day: date, text: str,
             **extra: Any) -> FeedbackItem:
        return FeedbackItem(
            source=self.config.name,
            kind=self.config.kind,
            channel=self.config.channel_name,
            source_id=source_id,
            created_at=created_at,
            record_date=day,
            text=text,
            location=record.location,
            **extra,
        )

    def to_items(self, record: RawRecord, source_id: str, created_at: datetime, day: date,
                 batch: SourceBatch) -> tuple[list[FeedbackItem], str | None]:
        raise NotImplementedError

    def product(self, record: RawRecord) -> str | None:
        """The product or store the record is about, when the source maps one."""
        column = self.config.columns.product
        return normalize_name(_text(record.fields.get(column))) or None if column else None


_WORD = re.compile(r"[^\W_]")


def text_problem(text: str) -> str | None:
    """Why a text cannot be mined, or None: it must contain at least one letter or digit."""
    if not text.strip():
        return "empty text"
    if not _WORD.search(text):
        return "no words: emoji or symbols only"
    return None


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return None if pd.isna(number) else number


class ReviewSource(Source):
    def required_columns(self) -> list[str | None]:
        return [*super().required_columns(), self.config.columns.rating]

    def to_items(self, record: RawRecord, source_id: str, created_at: datetime, day: date,
                 batch: SourceBatch) -> tuple[list[FeedbackItem], str | None]:
        columns = self.config.columns
        text = _text(record.fields.get(columns.text))
        if problem := text_problem(text):
            return [], problem
        rating = _number(record.fields.get(columns.rating)) if columns.rating else None
        if columns.rating and (rating is None or not 1 <= rating <= 5):
            return [], f"rating {record.fields.get(columns.rating)!r} is not in 1–5"
        return [self.item(record, source_id, created_at, day, text, rating=rating,
                          product=self.product(record))], None


class SurveySource(Source):
    """Each free-text answer is mined on its own and keeps its question; every response, answered
    or not, is kept for NPS."""

    def required_columns(self) -> list[str | None]:
        columns = self.config.columns
        return [columns.id, columns.created_at, columns.nps]

    def to_items(self, record: RawRecord, source_id: str, created_at: datetime, day: date,
                 batch: SourceBatch) -> tuple[list[FeedbackItem], str | None]:
        nps_column = self.config.columns.nps
        nps = _number(record.fields.get(nps_column)) if nps_column else None
        if nps_column and (nps is None or not 0 <= nps <= 10 or nps != int(nps)):
            return [], f"NPS score {record.fields.get(nps_column)!r} is not a whole number in 0–10"
        product = self.product(record)
        items = [
            self.item(record, source_id, created_at, day, text, part=column, question=question,
                      nps=None if nps is None else int(nps), product=product)
            for column, question in self.config.answers.items()
            if not text_problem(text := _text(record.fields.get(column)))
        ]
        batch.responses.append(SurveyResponse(self.config.name, source_id, created_at, day,
                                             None if nps is None else int(nps), len(items), product))
        return items, None


class ChatSource(Source):
    """Customer turns are mined; the conversation's shape is kept as evidence of its own."""

    def required_columns(self) -> list[str | None]:
        return [*super().required_columns(), self.config.columns.speaker]

    def collect(self, records: list[RawRecord], window: Window | None, batch: SourceBatch) -> None:
        columns = self.config.columns
        speakers = {value: role for role, value in self.config.speakers.items()} or {
            role: role for role in ("customer", "agent", "bot")
        }
        turns: dict[str, list[tuple[datetime, str, str, RawRecord]]] = {}
        for record in records:
            created_at, reason = self._common_checks(record)
            speaker = speakers.get(_text(record.fields.get(columns.speaker)).strip())
            if not reason and speaker is None:
                reason = f"unknown speaker {record.fields.get(columns.speaker)!r}"
            if reason:
                batch.records_read += 1
                batch.quarantine.append(self._quarantine(record, reason))
                continue
            assert created_at is not None and speaker is not None
            conversation_id = str(record.fields[columns.id]).strip()
            text = _text(record.fields.get(columns.text))
            turns.setdefault(conversation_id, []).append((created_at, speaker, text, record))
        for conversation_id, conversation_turns in sorted(turns.items()):
            conversation_turns.sort(key=lambda turn: turn[0])
            started_at = conversation_turns[0][0]
            day = started_at.astimezone(self.tz).date()
            if window is not None and not window.contains(day):
                continue
            batch.records_read += len(conversation_turns)
            batch.record_ids.add(conversation_id)
            batch.conversations.append(
                summarise_conversation(
                    self.config.name, conversation_id, day,
                    [(at, speaker, text) for at, speaker, text, _ in conversation_turns],
                )
            )
            product = next(filter(None, (self.product(record) for *_, record in conversation_turns)), None)
            for position, (created_at, speaker, text, record) in enumerate(conversation_turns):
                if speaker != "customer":
                    continue
                if problem := text_problem(text):
                    batch.quarantine.append(self._quarantine(record, problem))
                    continue
                batch.items.append(
                    self.item(record, conversation_id, created_at, day, text, part=f"turn{position}",
                              conversation_id=conversation_id, product=product)
                )


SOURCE_CLASSES: dict[str, type[Source]] = {
    "review": ReviewSource,
    "survey": SurveySource,
    "chat": ChatSource,
}


def open_reader(config: SourceConfig) -> RecordReader:
    """The reader for the one transport the source config names."""
    if config.sql is not None:
        return SqlReader(config.sql, config.columns, name=config.name,
                         group_by=config.columns.id if config.kind == "chat" else None)
    if config.http is not None:
        return HttpReader(config.http, name=config.name)
    assert config.path is not None  # the config allows exactly one transport
    return FileReader(config.path, config.format)


def open_source(config: SourceConfig, tz: ZoneInfo, reader: RecordReader | None = None) -> Source:
    return SOURCE_CLASSES[config.kind](config, tz, reader)
