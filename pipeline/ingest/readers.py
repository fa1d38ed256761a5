"""Where raw records come from: one reader class per transport, each yielding `RawRecord`s with a
location that says where the record was (file and line, table key, API page), so quarantine rows can
point at it. Readers know nothing of what a record means; the source kinds do.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pandas as pd
from charset_normalizer import from_bytes

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


def read_records(path_or_glob: str, file_format: str = "auto") -> Iterator[RawRecord]:
    """Yield raw records with their file and line, from every file the path or glob names."""
    paths = sorted(glob.glob(path_or_glob)) if glob.has_magic(path_or_glob) else [path_or_glob]
    if not paths:
        raise SourceReadError(f"no file matches {path_or_glob!r}")
    for path in paths:
        fmt = file_format if file_format != "auto" else _format_of(path)
        if not Path(path).is_file():
            raise SourceReadError(f"source file {path!r} does not exist")
        if fmt == "parquet":
            frame = pd.read_parquet(path)
            for row_number, row in enumerate(frame.to_dict(orient="records"), start=1):
                yield RawRecord(f"{path}#row{row_number}", row)
        elif fmt == "jsonl":
            yield from _read_jsonl(path)
        else:
            yield from _read_csv(path)


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


def _read_csv(path: str) -> Iterator[RawRecord]:
    text = decode_bytes(Path(path).read_bytes(), path)
    delimiter = "\t" if path.endswith((".tsv", ".tsv.gz")) else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise SourceReadError(f"{path!r} has no header row")
    line = 1
    for row in reader:
        yield RawRecord(f"{path}:{line + 1}", dict(row))
        line = reader.line_num


def _read_jsonl(path: str) -> Iterator[RawRecord]:
    text = decode_bytes(Path(path).read_bytes(), path)
    for line_number, line in enumerate(text.splitlines(), start=1):
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

    def __init__(self, path: str, file_format: str = "auto"):
        self.path = path
        self.file_format = file_format

    def records(
        self, window: Window | None, tz: ZoneInfo, since: datetime | None = None
    ) -> Iterator[RawRecord]:
        """Files are always read whole: a file has no index to narrow by window or `since`."""
        return read_records(self.path, self.file_format)
