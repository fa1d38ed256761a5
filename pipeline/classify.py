"""Run the NLP stages on any exported file, without sources, windows or a warehouse.

This is how an analyst tries sori on an export before wiring a source: one output row per input
row (or per sentence), in the format of the output file's extension.

The file streams: rows are read, classified and appended to the output a chunk at a time, so memory
stays flat however long the file is, and a crash keeps every chunk written before it. What can be
refused (the output format, the input file, its text and id columns) is refused by `TableWriter` and
`open_texts` before any model is loaded; this module imports no model code, so refusing is quick.

Topics: with a saved topic model (`topics.model_dir`) every chunk is assigned by it. Without one, a
model is fitted in memory on the first chunk's pain sentences alone, when there are at least
`topics.min_documents` of them, and assigns every later chunk; otherwise topics stay unassigned (-1)
for the whole file. Either way the same file, read in the same chunks, gets the same topics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.document import Document, FeedbackItem
from pipeline.inert import spreadsheet_safe
from pipeline.ingest.readers import RawRecord, SourceReadError, read_records
from pipeline.ingest.values import is_missing
from pipeline.text.normalize import escape_invisible

if TYPE_CHECKING:
    from pipeline.nlp import Pipeline

DEFAULT_CHUNK_ROWS = 2000

# Column types fixed up front, so that every chunk (and an empty output) has the same schema.
ROW_TYPES = {"id": "string", "sentiment": "string", "p_negative": "float64", "has_pain": "int64",
             "categories": "string", "touchpoints": "string", "topic_id": "Int64", "topic_label": "string",
             "severity": "Int64", "response_needed": "int64", "note": "string"}
SENTENCE_TYPES = {"id": "string", "sentence_index": "int64", "sentence": "string", "start_char": "int64",
                  "end_char": "int64", "sentiment": "string", "p_negative": "float64", "has_pain": "int64",
                  "pain_probability": "float64", "categories": "string", "category_score": "float64",
                  "touchpoints": "string", "topic_id": "Int64", "topic_label": "string", "severity": "Int64",
                  "response_needed": "int64"}
ROW_COLUMNS = list(ROW_TYPES)

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


class ClassifyError(ValueError):
    """The input or the output cannot be used: refused before any model is loaded."""


def open_texts(path: str, text_column: str, id_column: str | None) -> Iterator[tuple[str, str]]:
    """(id, text) per input row, read lazily. The file and its columns are checked now, on the first
    record that parses, so that a wrong name fails before any model loads.

    Ids default to the 1-based row number, as does the id of a row whose id cell is empty; a row that
    cannot be parsed, or has no text, gets an empty text (and the note "empty text")."""
    records = enumerate(read_records(path), start=1)
    head: list[tuple[int, RawRecord]] = []
    try:
        for number, record in records:
            head.append((number, record))
            if record.error is None:
                break
    except SourceReadError as exc:
        raise ClassifyError(str(exc)) from None
    if head and head[-1][1].error is None:
        columns = head[-1][1].fields
        for option, column in (("--text-column", text_column), ("--id-column", id_column)):
            if column is not None and column not in columns:
                raise ClassifyError(f"{option} {column!r} is not a column of {path}; its columns: "
                                    f"{', '.join(map(str, columns))}")
    return _texts(chain(head, records), text_column, id_column)


def _texts(records: Iterable[tuple[int, RawRecord]], text_column: str,
           id_column: str | None) -> Iterator[tuple[str, str]]:
    for number, record in records:
        # An id's invisible characters (NUL, bidi overrides) are written as escapes: seen, and kept apart.
        row_id = escape_invisible(_value(record.fields.get(id_column))) if id_column else ""
        yield row_id or str(number), _value(record.fields.get(text_column))


def _value(cell: Any) -> str:
    """A cell as text; empty for a missing or null one (None, NaN, NA or NaT from Parquet)."""
    return "" if is_missing(cell) else str(cell)


def classify_texts(rows: Sequence[tuple[str, str]], pipeline: Pipeline, fit_topics: bool = True,
                   first_position: int = 0) -> list[Document]:
    """Every stage over (id, text) rows. With `fit_topics`, a topic model is fitted on their pain
    sentences when none exists (kept in memory, never saved); without, topics are only assigned.
    `first_position` numbers the rows within the whole file, so their document ids stay distinct."""
    now = datetime.now(UTC)
    docs = [
        Document(item=FeedbackItem(source="file", kind="file", channel="file", source_id=row_id,
                                   created_at=now, record_date=now.date(), text=text,
                                   part=str(first_position + offset)))
        for offset, (row_id, text) in enumerate(rows)
    ]
    return pipeline.mine(docs, save_topics=False) if fit_topics else pipeline.run(docs)


def classify_file(rows: Iterable[tuple[str, str]], pipeline: Pipeline, writer: TableWriter,
                  sentences: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> tuple[int, int]:
    """Classifies `rows` `chunk_rows` at a time, appending each chunk's output rows to `writer` before
    the next is read; only the first chunk may fit a topic model (see the module docstring). Returns
    (input rows, output rows); an empty input still gets its header or schema."""
    to_frame = sentence_rows if sentences else document_rows
    read = written = 0
    iterator = iter(rows)
    while chunk := list(islice(iterator, chunk_rows)):
        frame = to_frame(classify_texts(chunk, pipeline, fit_topics=read == 0, first_position=read))
        writer.write(frame)
        read, written = read + len(chunk), written + len(frame)
    if read == 0:
        writer.write(to_frame([]))
    return read, written


def _keys(values: Sequence[str | None]) -> str:
    return ";".join(dict.fromkeys(v for v in values if v))


def document_rows(docs: Sequence[Document]) -> pd.DataFrame:
    records = []
    for doc in docs:
        pains = doc.pain_sentences
        main = max(pains, key=lambda s: s.severity_score or 0.0) if pains else None
        records.append({
            "id": doc.item.source_id,
            "sentiment": doc.sentiment if doc.sentences else "",
            "p_negative": doc.p_negative,
            "has_pain": int(bool(pains)),
            "categories": _keys([c for s in pains for c in s.categories]),
            "touchpoints": _keys([s.touchpoint for s in pains]),
            "topic_id": main.topic_id if main else None,
            "topic_label": main.topic_label if main else "",
            "severity": max((s.severity or 0 for s in pains), default=None),
            "response_needed": int(any(s.response_needed for s in pains)),
            "note": "" if doc.sentences else "empty text",
        })
    return pd.DataFrame.from_records(records, columns=ROW_COLUMNS).astype(ROW_TYPES)


def sentence_rows(docs: Sequence[Document]) -> pd.DataFrame:
    records = [
        {
            "id": doc.item.source_id, "sentence_index": s.index, "sentence": s.text,
            "start_char": s.start, "end_char": s.end, "sentiment": s.sentiment, "p_negative": s.p_negative,
            "has_pain": int(s.is_pain), "pain_probability": s.pain_probability,
            "categories": _keys(s.categories) if s.is_pain else "",
            "category_score": s.category_score if s.is_pain else None,
            "touchpoints": (s.touchpoint or "") if s.is_pain else "",
            "topic_id": s.topic_id, "topic_label": s.topic_label or "", "severity": s.severity,
            "response_needed": int(s.is_pain and s.response_needed),
        }
        for doc in docs
        for s in doc.sentences
    ]
    return pd.DataFrame.from_records(records, columns=list(SENTENCE_TYPES)).astype(SENTENCE_TYPES)


class TableWriter:
    """Appends frames to one output file as they come, in the format its extension names (refused at
    construction, before anything is read or loaded). CSV rows (spreadsheet-safe, `spreadsheet_safe`)
    and JSON lines are flushed after every frame; Parquet gets a row group per frame and its footer
    when the writer closes, also when classification fails part-way."""

    def __init__(self, out: str):
        self.path = Path(out)
        self.format = OUTPUT_FORMATS.get(self.path.suffix.lower())
        if self.format is None:
            raise ClassifyError(f"cannot tell the output format of {out!r}: use .csv, .jsonl or .parquet")
        self._file: IO[str] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._header = True

    def __enter__(self) -> TableWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format != "parquet":
            self._file = open(self.path, "w", encoding="utf-8", newline="")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.format == "parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self._parquet = self._parquet or pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
            return
        assert self._file is not None, "write inside `with TableWriter(...)`"
        if self.format == "csv":
            # RFC 4180's CRLF: with a bare "\n" terminator, a field holding a lone "\r" goes unquoted
            # and splits its row in every reader.
            spreadsheet_safe(frame).to_csv(self._file, index=False, header=self._header,
                                           lineterminator="\r\n")
        elif len(frame):
            self._file.write(frame.to_json(orient="records", lines=True, force_ascii=False))
        self._header = False
        self._file.flush()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._file is not None:
            self._file.close()
