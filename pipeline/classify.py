"""Run the NLP stages on any exported file, without sources, windows or a warehouse.

This is how an analyst tries sori on an export before wiring a source: one output row per input
row (or per sentence), in the format of the output file's extension.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipeline.document import Document, FeedbackItem
from pipeline.inert import spreadsheet_safe
from pipeline.ingest.readers import read_records
from pipeline.nlp import Pipeline

ROW_COLUMNS = ["id", "sentiment", "p_negative", "has_pain", "categories", "touchpoints", "topic_id",
               "topic_label", "severity", "response_needed", "note"]


def read_texts(path: str, text_column: str, id_column: str | None) -> list[tuple[str, str]]:
    """(id, text) per input row; ids default to the 1-based row number."""
    rows = []
    for number, record in enumerate(read_records(path), start=1):
        if record.error is not None:
            rows.append((str(number), ""))
            continue
        if text_column not in record.fields:
            raise KeyError(f"column {text_column!r} not in {path}; columns: {sorted(record.fields)}")
        value = record.fields.get(id_column) if id_column else number
        text = record.fields.get(text_column)
        rows.append((str(value), "" if text is None or pd.isna(text) else str(text)))
    return rows


def classify_texts(rows: Sequence[tuple[str, str]], pipeline: Pipeline) -> list[Document]:
    now = datetime.now(UTC)
    items = [
        FeedbackItem(source="file", kind="file", channel="file", source_id=row_id, created_at=now,
                     record_date=now.date(), text=text, part=str(position))
        for position, (row_id, text) in enumerate(rows)
    ]
    return pipeline(items, save_topics=False)


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
    return pd.DataFrame.from_records(records, columns=ROW_COLUMNS).astype({"topic_id": "Int64",
                                                                            "severity": "Int64"})


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
    return pd.DataFrame.from_records(records).astype({"topic_id": "Int64", "severity": "Int64"})


def write_table(frame: pd.DataFrame, out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix in (".jsonl", ".json"):
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".csv":
        # RFC 4180's CRLF: with a bare "\n" terminator, a field holding a lone "\r" goes unquoted and
        # splits its row in every reader.
        spreadsheet_safe(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")
    else:
        raise ValueError(f"cannot tell the output format of {out!r}: use .csv, .jsonl or .parquet")
