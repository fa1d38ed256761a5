"""Where raw records come from: one reader class per transport, each yielding `RawRecord`s with a
location that says where the record was (file and line, table key, API page), so quarantine rows can
point at it. Readers know nothing of what a record means; the source kinds do.
"""

from __future__ import annotations

import csv
import glob
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from pipeline.ingest.values import plain_value
from pipeline.window import Window


class SourceReadError(RuntimeError):
    """The source as a whole cannot be read: the run must fail loudly for it, not write a partial window."""


@dataclass(frozen=True)
class RawRecord:
    """One record as its reader found it, with where it was (`location`) for quarantine rows to point at.

    A record the reader could not parse (a line that is not JSON, an API item that is not an object)
    still travels on, so that the source kind quarantines it instead of dropping it silently: it has no
    fields, `error` says why (the quarantine reason) and `raw` holds its text as read (the quarantine
    row's raw text). Parsed records have `error` and `raw` None.
    """

    location: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    raw: str | None = None

    @classmethod
    def unreadable(cls, location: str, error: str, raw: str) -> RawRecord:
        """A record that could not be parsed: why (`error`) and its text as read (`raw`)."""
        return cls(location, error=error, raw=raw)


RecordTest = Callable[[dict[str, str | None]], bool]
"""Whether a CSV row, as the header names its fields, looks like a record of the source (an id and a
date): what tells a record swallowed by an unclosed quote from a line of a multi-line text."""


def read_records(path_or_glob: str, file_format: str = "auto",
                 looks_like_record: RecordTest | None = None) -> Iterator[RawRecord]:
    """Yield raw records with their file and line, from every file the path or glob names."""
    paths = sorted(glob.glob(path_or_glob)) if glob.has_magic(path_or_glob) else [path_or_glob]
    if not paths:
        raise SourceReadError(f"no file matches {path_or_glob!r}")
    for path in paths:
        fmt = file_format if file_format != "auto" else _format_of(path)
        if not Path(path).is_file():
            raise SourceReadError(f"source file {path!r} does not exist")
        if fmt == "parquet":
            yield from _read_parquet(path)
        elif fmt == "jsonl":
            yield from _read_jsonl(path)
        else:
            yield from _read_csv(path, looks_like_record)


def _format_of(path: str) -> str:
    suffixes = Path(path).suffixes
    if ".parquet" in suffixes:
        return "parquet"
    if ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes:
        return "jsonl"
    if ".csv" in suffixes or ".tsv" in suffixes:
        return "csv"
    raise SourceReadError(f"cannot tell the format of {path!r}: set `format` in the source config")


def decode_bytes(data: bytes, path: str) -> str:
    """UTF-8 (with or without BOM) first; otherwise detect, since Korean exports are often CP949."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise SourceReadError(f"cannot detect the text encoding of {path!r}") from None
        return str(best)


def _read_parquet(path: str) -> Iterator[RawRecord]:
    """Rows with the file's own types, batch by batch: an integer column with a null stays integer
    (pandas would make it float, `101.0` and `nan`) and a null timestamp is None, not NaT."""
    row_number = 0
    for batch in pq.ParquetFile(path).iter_batches():
        for row in batch.to_pylist():
            row_number += 1
            yield RawRecord(f"{path}#row{row_number}", {key: plain_value(v) for key, v in row.items()})


SWALLOWED = "unclosed quote: the quoted field opened here runs over lines that are records of their own"


def _read_csv(path: str, looks_like_record: RecordTest | None = None) -> Iterator[RawRecord]:
    """Records with the line each starts on, every physical line accounted for.

    A quoted field may hold line breaks (a review of several lines), but a quote that never closes
    would swallow every following line into one field. So a record spanning lines whose later lines
    parse on their own as records of the file (the header's width, and an id and a date by
    `looks_like_record`) is not one record: its first line is handed on as unreadable and reading
    starts again on the next line. Without `looks_like_record` spanning records are kept whole: the
    width alone cannot tell a swallowed record from a text line with commas in a narrow file.
    A malformed record (a field over the csv module's size limit) is handed on the same way, and a
    row with more non-empty fields than the header is unreadable rather than silently cut."""
    text = decode_bytes(Path(path).read_bytes(), path)
    dialect = {"delimiter": "\t" if path.endswith((".tsv", ".tsv.gz")) else ","}
    # The physical lines exactly as the csv module counts them (\r, \n or \r\n), so line numbers agree.
    lines = list(io.StringIO(text, newline=""))
    header_reader = csv.reader(lines, **dialect)
    header = next(header_reader, None)
    if not header:
        raise SourceReadError(f"{path!r} has no header row")
    start: int | None = header_reader.line_num
    while start is not None and start < len(lines):
        reader, done, restart = csv.reader(itertools.islice(lines, start, None), **dialect), start, None
        while restart is None:
            first = done
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                restart = first + 1
                yield RawRecord.unreadable(f"{path}:{first + 1}", f"CSV: {exc}", lines[first].rstrip("\r\n"))
                continue
            done = start + reader.line_num
            if not row:
                continue
            if looks_like_record and done - first > 1 and any(
                    _is_record(line, header, dialect, looks_like_record) for line in lines[first + 1 : done]):
                restart = first + 1
                yield RawRecord.unreadable(f"{path}:{first + 1}", SWALLOWED, lines[first].rstrip("\r\n"))
                continue
            yield _csv_record(f"{path}:{first + 1}", header, row, lines[first:done])
        start = restart


def _is_record(line: str, header: list[str], dialect: dict[str, str], looks_like_record: RecordTest) -> bool:
    try:
        fields = next(csv.reader([line], **dialect), [])
    except csv.Error:
        return False
    return len(fields) == len(header) and looks_like_record(dict(zip(header, fields, strict=True)))


def _csv_record(location: str, header: list[str], row: list[str], lines: list[str]) -> RawRecord:
    """A row as the header names it; missing trailing fields are None, as csv.DictReader gives them."""
    if len(row) > len(header) and any(value.strip() for value in row[len(header):]):
        reason = f"row has {len(row)} fields; the header has {len(header)}"
        return RawRecord.unreadable(location, reason, "".join(lines).rstrip("\r\n"))
    fields: dict[str, Any] = dict.fromkeys(header)
    fields.update(zip(header, row, strict=False))
    return RawRecord(location, fields)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _read_jsonl(path: str) -> Iterator[RawRecord]:
    """One JSON object per line. Lines end at \n, \r\n or \r, which JSON never holds raw inside a
    string; not at U+2028 or U+0085, which it may, and where `str.splitlines` would cut the record."""
    text = decode_bytes(Path(path).read_bytes(), path)
    for line_number, line in enumerate(_LINE_END.split(text), start=1):
        if not line.strip():
            continue
        location = f"{path}:{line_number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRecord.unreadable(location, f"invalid JSON: {exc.msg}", line)
            continue
        if not isinstance(value, dict):
            yield RawRecord.unreadable(location, "JSON line is not an object", line)
            continue
        yield RawRecord(location, value)


class RecordReader(Protocol):
    def records(
        self, window: Window | None, tz: ZoneInfo, since: datetime | None = None
    ) -> Iterator[RawRecord]:
        """Records that may fall in the window (a backfill or nightly run) or, with `since` and no
        window, that changed after `since` (an incremental pull). A superset is allowed, never a
        subset: the source kind filters exactly."""
        ...


class FileReader:
    """CSV, JSONL or Parquet files named by a path or glob; every record is read, the kind filters."""

    def __init__(self, path: str, file_format: str = "auto", looks_like_record: RecordTest | None = None):
        self.path = path
        self.file_format = file_format
        self.looks_like_record = looks_like_record

    def records(
        self, window: Window | None, tz: ZoneInfo, since: datetime | None = None
    ) -> Iterator[RawRecord]:
        """Files are always read whole: a file has no index to narrow by window or `since`."""
        return read_records(self.path, self.file_format, self.looks_like_record)
