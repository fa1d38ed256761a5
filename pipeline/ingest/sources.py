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
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.config import SourceConfig
from pipeline.document import MAX_KEY_LENGTH, Conversation, FeedbackItem, SurveyResponse
from pipeline.ingest.conversations import summarise_conversation
from pipeline.ingest.http_reader import HttpReader
from pipeline.ingest.readers import FileReader, RawRecord, RecordReader, RecordTest, SourceReadError
from pipeline.ingest.sql_reader import SqlReader
from pipeline.ingest.values import (
    describe,
    number_value,
    parse_timestamp,
    record_key,
    text_value,
)
from pipeline.text.normalize import (
    escape_invisible,
    invisible_in,
    normalize_name,
    normalize_text,
    strip_invisible,
)
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


@dataclass
class _Checked:
    """A record as the source judged it before any window: its id ("" when unusable), its time (None
    when unusable) and why it cannot be used (None when it can)."""

    record: RawRecord
    key: str
    created_at: datetime | None
    reason: str | None


class Source:
    """Base of the source kinds: takes raw records from a reader (files, SQL, HTTP), checks the
    common fields, filters the window, and leaves what a record means to the kind.

    Every record read is counted by exactly one window, so windows never count one twice: by its own
    local date when it has a usable one, a chat turn by its conversation's; otherwise by the date of
    the nearest record read before it that has one (after it, at the start of a read), since exports
    are written in time order and a bad line belongs with its neighbours. A window read in which no
    record has a usable date fails the source: nothing tells which window its records belong to,
    and a whole source without dates is misconfigured, not a bad record.
    """

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
        self.collect([self._check(record) for record in records], window, batch)
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

    def collect(self, checked: list[_Checked], window: Window | None, batch: SourceBatch) -> None:
        """Each id's last valid version is loaded; its other valid versions are superseded by it, and
        an invalid version is quarantined for what is wrong with it, never taking a valid one down."""
        winners = {c.key: c for c in checked if c.reason is None}
        for check, day in zip(checked, self._counting_days(checked, window, {}), strict=True):
            if window is not None and not window.contains(day):
                continue
            batch.records_read += 1
            winner = winners.get(check.key)
            reason = check.reason
            if reason is None and winner is not None and winner is not check:
                reason = f"duplicate id: superseded by {winner.record.location}"
            if reason:
                batch.quarantine.append(self._quarantine(check.record, reason))
                continue
            assert check.created_at is not None
            batch.record_ids.add(check.key)
            batch.items.extend(self.to_items(check.record, check.key, check.created_at,
                                             self._day(check.created_at), batch))

    def _day(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def _counting_days(self, checked: list[_Checked], window: Window | None,
                       by_key: dict[str, date]) -> list[date | None]:
        """The date each record is counted by (see the class docstring); `by_key` gives the date of
        the group a key belongs to (a chat conversation's)."""
        own = [by_key.get(c.key) or (self._day(c.created_at) if c.created_at else None) for c in checked]
        days, previous = list(own), None
        for index, day in enumerate(own):
            days[index] = previous = day or previous
        following = None
        for index in range(len(own) - 1, -1, -1):
            following = own[index] or following
            days[index] = days[index] or following
        if window is not None and checked and following is None:
            first = checked[0]
            raise SourceReadError(
                f"source {self.config.name!r}: none of the {len(checked)} records read has a usable date "
                f"in column {self.config.columns.created_at!r} (the first, at "
                f"{escape_invisible(first.record.location)}: {first.reason}), so no window can count them"
            )
        return days

    def _check(self, record: RawRecord) -> _Checked:
        """The record's id and time, and the first thing that makes it unusable."""
        if record.error is not None:
            return _Checked(record, "", None, record.error)
        columns = self.config.columns
        raw_id, raw_time = record.fields.get(columns.id), record.fields.get(columns.created_at)
        key = record_key(raw_id)
        created_at = parse_timestamp(raw_time, self.tz)
        reason = _key_problem(raw_id, key) or self._product_problem(record)
        if not reason and created_at is None:
            reason = "missing date" if _blank(raw_time) else "unparseable date"
        return _Checked(record, key or "", created_at, reason or self.problem(record))

    def _product_problem(self, record: RawRecord) -> str | None:
        column = self.config.columns.product
        if not column:
            return None
        value = record.fields.get(column)
        if text_value(value) is None:
            return f"product is {describe(value)}, not a string"
        if len(self.product(record) or "") > MAX_KEY_LENGTH:
            return f"product name longer than {MAX_KEY_LENGTH} characters"
        return None

    def problem(self, record: RawRecord) -> str | None:
        """What makes the record unusable for this kind, once its id and date are good; None if nothing."""
        raise NotImplementedError

    def _quarantine(self, record: RawRecord, reason: str) -> QuarantineRecord:
        """The record as read, without invisible characters (the reason names any that matter), and its
        location with them escaped, so that no database refuses the row and no key changes."""
        raw = record.raw
        if raw is None:
            fields = {k: strip_invisible(v) if isinstance(v, str) else v for k, v in record.fields.items()}
            raw = json.dumps(fields, ensure_ascii=False, default=str)
        return QuarantineRecord(self.config.name, escape_invisible(record.location), escape_invisible(reason),
                                strip_invisible(raw))

    def item(self, record: RawRecord, source_id: str, created_at: datetime, day: date, text: str,
             **extra: Any) -> FeedbackItem:
        return FeedbackItem(
            source=self.config.name,
            kind=self.config.kind,
            channel=self.config.channel_name,
            source_id=source_id,
            created_at=created_at,
            record_date=day,
            text=strip_invisible(text),
            location=record.location,
            **extra,
        )

    def to_items(self, record: RawRecord, source_id: str, created_at: datetime, day: date,
                 batch: SourceBatch) -> list[FeedbackItem]:
        """The texts to mine of a record that passed `problem`."""
        raise NotImplementedError

    def product(self, record: RawRecord) -> str | None:
        """The product or store the record is about, when the source maps one."""
        column = self.config.columns.product
        return normalize_name(text_value(record.fields.get(column)) or "") or None if column else None


def _key_problem(raw: Any, key: str | None) -> str | None:
    if key is None:
        return f"id is {describe(raw)}, not a string or a number"
    if not key:
        return "missing id"
    if len(key) > MAX_KEY_LENGTH:
        return f"id longer than {MAX_KEY_LENGTH} characters"
    if (invisible := invisible_in(key)) is not None:
        return f"id contains the control or invisible character U+{ord(invisible):04X}"
    return None


def _blank(value: Any) -> bool:
    text = text_value(value)
    return text is not None and not text.strip()


_WORD = re.compile(r"[^\W_]")


def text_problem(text: str) -> str | None:
    """Why a text cannot be mined, or None: once normalised (markup, entities and invisible characters
    gone, as the models will read it), it must contain at least one letter or digit."""
    text = normalize_text(text)
    if not text:
        return "empty text"
    if not _WORD.search(text):
        return "no words: emoji or symbols only"
    return None


def _text_field_problem(value: Any, what: str = "text") -> str | None:
    text = text_value(value)
    if text is None:
        return f"{what} is {describe(value)}, not a string"
    return text_problem(text)


class ReviewSource(Source):
    def required_columns(self) -> list[str | None]:
        return [*super().required_columns(), self.config.columns.rating]

    def problem(self, record: RawRecord) -> str | None:
        columns = self.config.columns
        if problem := _text_field_problem(record.fields.get(columns.text)):
            return problem
        rating = number_value(record.fields.get(columns.rating)) if columns.rating else None
        if columns.rating and (rating is None or not 1 <= rating <= 5):
            return f"rating {record.fields.get(columns.rating)!r} is not in 1–5"
        return None

    def to_items(self, record: RawRecord, source_id: str, created_at: datetime, day: date,
                 batch: SourceBatch) -> list[FeedbackItem]:
        columns = self.config.columns
        rating = number_value(record.fields.get(columns.rating)) if columns.rating else None
        text = text_value(record.fields.get(columns.text)) or ""
        return [self.item(record, source_id, created_at, day, text, rating=rating,
                          product=self.product(record))]


class SurveySource(Source):
    """Each free-text answer is mined on its own and keeps its question; every response, answered
    or not, is kept for NPS. A response without a score keeps its answers, with the score null."""

    def required_columns(self) -> list[str | None]:
        columns = self.config.columns
        return [columns.id, columns.created_at, columns.nps]

    def _nps(self, record: RawRecord) -> int | None:
        column = self.config.columns.nps
        nps = number_value(record.fields.get(column)) if column else None
        return None if nps is None else int(nps)

    def problem(self, record: RawRecord) -> str | None:
        column = self.config.columns.nps
        if column and not _blank(value := record.fields.get(column)):
            nps = number_value(value)
            if nps is None or not 0 <= nps <= 10 or nps != int(nps):
                return f"NPS score {value!r} is not a whole number in 0–10"
        for answer in self.config.answers:
            if text_value(value := record.fields.get(answer)) is None:
                return f"answer {answer!r} is {describe(value)}, not a string"
        return None

    def to_items(self, record: RawRecord, source_id: str, created_at: datetime, day: date,
                 batch: SourceBatch) -> list[FeedbackItem]:
        nps, product = self._nps(record), self.product(record)
        items = [
            self.item(record, source_id, created_at, day, text, part=column, question=question, nps=nps,
                      product=product)
            for column, question in self.config.answers.items()
            if not text_problem(text := text_value(record.fields.get(column)) or "")
        ]
        batch.responses.append(SurveyResponse(self.config.name, source_id, created_at, day, nps, len(items),
                                              product))
        return items


Turn = tuple[datetime, str, str, RawRecord]
"""A chat turn: its time, its speaker's role, its text and the record it came from."""


class ChatSource(Source):
    """Customer turns are mined; the conversation's shape is kept as evidence of its own. A turn
    exported twice (same conversation, speaker, time and text) is one turn: the copy is quarantined."""

    def required_columns(self) -> list[str | None]:
        return [*super().required_columns(), self.config.columns.speaker]

    @cached_property
    def _roles(self) -> dict[str, str]:
        """The source's speaker values and the roles they stand for."""
        return {value: role for role, value in self.config.speakers.items()} or {
            role: role for role in ("customer", "agent", "bot")
        }

    def _speaker(self, record: RawRecord) -> str | None:
        return self._roles.get((text_value(record.fields.get(self.config.columns.speaker)) or "").strip())

    def problem(self, record: RawRecord) -> str | None:
        columns = self.config.columns
        if self._speaker(record) is None:
            return f"unknown speaker {record.fields.get(columns.speaker)!r}"
        value = record.fields.get(columns.text)
        return f"text is {describe(value)}, not a string" if text_value(value) is None else None

    def collect(self, checked: list[_Checked], window: Window | None, batch: SourceBatch) -> None:
        turns: dict[str, list[Turn]] = {}
        copies: dict[int, str] = {}
        firsts: dict[tuple[str, datetime, str, str], str] = {}
        for check in checked:
            if check.reason is not None:
                continue
            assert check.created_at is not None
            turn = (check.created_at, self._speaker(check.record) or "",
                    text_value(check.record.fields.get(self.config.columns.text)) or "", check.record)
            same = (check.key, *turn[:3])
            if same in firsts:
                copies[id(check)] = f"duplicate turn: the same as {firsts[same]}"
                continue
            firsts[same] = check.record.location
            turns.setdefault(check.key, []).append(turn)
        started = {key: self._day(min(at for at, *_ in group)) for key, group in turns.items()}
        for check, day in zip(checked, self._counting_days(checked, window, started), strict=True):
            if window is not None and not window.contains(day):
                continue
            batch.records_read += 1
            if reason := check.reason or copies.get(id(check)):
                batch.quarantine.append(self._quarantine(check.record, reason))
        for conversation_id, group in sorted(turns.items()):
            if window is None or window.contains(started[conversation_id]):
                self._conversation(conversation_id, started[conversation_id], group, batch)

    def _conversation(self, conversation_id: str, day: date, turns: list[Turn], batch: SourceBatch) -> None:
        turns = sorted(turns, key=lambda turn: turn[0])
        batch.record_ids.add(conversation_id)
        batch.conversations.append(summarise_conversation(
            self.config.name, conversation_id, day, [(at, speaker, text) for at, speaker, text, _ in turns]))
        product = next(filter(None, (self.product(record) for *_, record in turns)), None)
        for position, (created_at, speaker, text, record) in enumerate(turns):
            if speaker != "customer":
                continue
            if problem := text_problem(text):
                batch.quarantine.append(self._quarantine(record, problem))
                continue
            batch.items.append(self.item(record, conversation_id, created_at, day, text,
                                         part=f"turn{position}", conversation_id=conversation_id,
                                         product=product))


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
    return FileReader(config.path, config.format, _looks_like_record(config))


def _looks_like_record(config: SourceConfig) -> RecordTest:
    """A CSV line that has a usable id and date in the source's columns: what an unclosed quote's
    swallowed lines look like, and a line of a multi-line text almost never does."""
    columns = config.columns

    def looks_like_record(fields: dict[str, str | None]) -> bool:
        return bool(record_key(fields.get(columns.id))) and \
            parse_timestamp(fields.get(columns.created_at), _ANY_ZONE) is not None

    return looks_like_record


_ANY_ZONE = ZoneInfo("UTC")


def open_source(config: SourceConfig, tz: ZoneInfo, reader: RecordReader | None = None) -> Source:
    return SOURCE_CLASSES[config.kind](config, tz, reader)
