"""Masking a raw record as a whole, for the quarantine table: every column it kept, mapped or not.

A quarantined record is stored as read (a JSON object of all its columns, or the line that could not
be parsed), so any column can hold personal data, not only the text the source maps. Free text alone
does not reveal a name in a column of its own: "김민수" in an ``author`` column has no title or label
next to it. So a record is masked field by field:

* a field whose column name says what it holds (이름, 작성자, author, 연락처, phone, 주소, address ...)
  is replaced whole by that kind's placeholder;
* a field that is nothing but a person's full name is a name, unless its column names a product, a store
  or a brand (홍삼정 is a product);
* every other field is masked as text, and the names found anywhere in the record are masked wherever
  else they are mentioned in it (the text column, the quarantine reason).

A line that could not be parsed has no column names; its comma-, tab-, semicolon- or pipe-separated
cells are checked for whole names the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.text.normalize import nfkc_keeping_jamo
from pipeline.text.pii.masker import PLACEHOLDERS, PiiMasker

# Column names that say what a field holds (English ones as their last word: customer_name, userName,
# cust_nm, tel_no); a product's, store's or file's name is no person's (_NOT_A_PERSON_RE).
_LAST = r"(?:^|[_\- ])"
_COLUMN_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("name", re.compile(
        rf"name$|{_LAST}(?:nm|author|writer|reviewer|nick|customer|buyer|recipient|receiver|sender|agent|"
        r"payer)$|이름|성명|성함|작성자|고객명|닉네임|예금주|수령인|수취인|주문자|예약자|신청자|입금자|담당자|"
        r"상담원|상담사|보내는[ _]?(?:분|사람)|받는[ _]?(?:분|사람)",
        re.IGNORECASE,
    )),
    ("phone", re.compile(
        rf"phone|mobile|{_LAST}(?:tel|hp|cell)(?:_?no)?$|전화|연락처|휴대폰|핸드폰", re.IGNORECASE
    )),
    ("email", re.compile(r"e-?mail|메일", re.IGNORECASE)),
    ("address", re.compile(rf"address|{_LAST}addr$|주소|배송지", re.IGNORECASE)),
)
_NOT_A_PERSON_RE = re.compile(
    r"product|item|goods|store|shop|brand|file|app|상품|제품|매장|가게|브랜드|파일|앱", re.IGNORECASE
)
_CELL_SPLIT_RE = re.compile(r"[,\t;|]")
_CELL_TRIM = " \"'"


#: Where a value sits in a parsed record: the keys and list indexes leading to it (``()`` for a line).
Path = tuple[str | int, ...]


@dataclass
class _Record:
    """One raw record while it is masked: the parsed JSON (None for a line), the values replaced whole,
    the texts still to mask, and the names known to be in it."""

    parsed: Any
    replaced: dict[Path, str] = field(default_factory=dict)
    texts: dict[Path, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)


def mask_raw_records(masker: PiiMasker, raws: Sequence[str], reasons: Sequence[str]) -> list[tuple[str, str]]:
    """``(raw_masked, reason_masked)`` per record: the record with every field masked (see the module
    docstring) and its quarantine reason with the record's personal data masked (a reason may quote a
    field: "unknown speaker '김민수'"). Width is folded first, as :class:`PiiMasker` does for text."""
    if len(raws) != len(reasons):
        raise ValueError("one reason per record")
    records = [_parse(masker, nfkc_keeping_jamo(raw)) for raw in raws]
    jobs = [(i, path) for i, rec in enumerate(records) for path in rec.texts]
    texts = [records[i].texts[path] for i, path in jobs]
    masked = masker.mask_many(texts, [set(records[i].names) for i, _ in jobs])
    grown: set[int] = set()
    for (i, path), text, out in zip(jobs, texts, masked, strict=True):
        found = {text[s.start : s.end] for s in out.spans if s.kind == "name"} - records[i].names
        if found:
            records[i].names |= found
            grown.add(i)
        records[i].texts[path] = out.text
    # A name found in one field (the text: "제 이름은 김민수") may be mentioned in another.
    again = [(i, path) for i, path in jobs if i in grown]
    redone = masker.mask_many(
        [records[i].texts[path] for i, path in again], [records[i].names for i, _ in again]
    )
    for (i, path), out in zip(again, redone, strict=True):
        records[i].texts[path] = out.text
    masked_reasons = masker.mask_many(list(reasons), [rec.names for rec in records])
    return [(_render(rec), reason.text) for rec, reason in zip(records, masked_reasons, strict=True)]


def _parse(masker: PiiMasker, raw: str) -> _Record:
    """The record's values to replace whole and texts to mask, and the names it shows on its own."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        cells = (cell.strip(_CELL_TRIM) for cell in _CELL_SPLIT_RE.split(raw))
        return _Record(None, texts={(): raw}, names={cell for cell in cells if masker.whole_name(cell)})
    record = _Record(parsed)
    _collect(masker, record, parsed, "", ())
    return record


def _collect(masker: PiiMasker, record: _Record, value: Any, column: str, path: Path) -> None:
    """Walk a parsed value; ``column`` is the name of the nearest key above it."""
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(masker, record, item, str(key), (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(masker, record, item, column, (*path, index))
    elif value is not None and value != "":
        kind = _column_kind(column)
        person_column = kind == "name" or (kind is None and not _NOT_A_PERSON_RE.search(column))
        if isinstance(value, str) and person_column and masker.whole_name(value):
            record.names.add(value.strip())
        if kind is not None:
            record.replaced[path] = PLACEHOLDERS[kind]
        elif isinstance(value, str):
            record.texts[path] = value


def _render(record: _Record) -> str:
    if record.parsed is None:
        return record.texts[()]
    for path, value in [*record.replaced.items(), *record.texts.items()]:
        container = record.parsed
        for step in path[:-1]:
            container = container[step]
        container[path[-1]] = value
    return json.dumps(record.parsed, ensure_ascii=False)


def _column_kind(column: str) -> str | None:
    """The kind of personal data a column's name says it holds, or None."""
    if _NOT_A_PERSON_RE.search(column):
        return None
    return next((kind for kind, rx in _COLUMN_KINDS if rx.search(column)), None)


