"""What a raw field value means, whatever type its reader gave it.

CSV gives strings, JSON strings, numbers, objects and lists, Parquet and SQL typed values: integers,
floats, `Decimal`s, timestamps, numpy scalars and pandas' missing markers (None, NaN, NA, NaT). The
kinds read every value through these functions, so an integer id reads `101` whether it arrived as
`"101"`, `101`, `101.0` or `Decimal("101")`, and a missing value of any type is missing, never the text
`nan` or a timestamp that fails later.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA or NaT, numpy NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def plain_value(value: Any) -> Any:
    """A typed reader's value as plain Python: missing markers as None, numpy scalars as Python
    numbers, whole `Decimal`s as int (others as float), pandas timestamps as datetime, bytes as text
    (undecodable bytes replaced), UUIDs as text. What the kinds and the quarantine's JSON expect."""
    if type(value) is str:  # the common case (every CSV value), answered first
        return value
    if is_missing(value):
        return None
    if isinstance(value, np.datetime64):  # .item() of a nanosecond one is an int
        value = pd.Timestamp(value)
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        if value.is_nan():
            return None
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime(warn=False)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, UUID):
        return str(value)
    return value


def _number_text(value: int | float) -> str:
    """A whole float as an integer (`101.0` → `101`): typed columns with a null turn integers to floats."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def record_key(value: Any) -> str | None:
    """The id as text (`101`, never `101.0`), stripped; "" when missing; None when the value is no id
    at all (a JSON object or list, a timestamp)."""
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    return None


def text_value(value: Any) -> str | None:
    """A text field as text: "" when missing, a number as written (`5`, not `5.0`); None when the value
    is not text (a JSON object or list, a boolean, a timestamp), which is quarantined, never stored as
    Python's repr of it."""
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    return None


def describe(value: Any) -> str:
    """What a value that is not text is, for a quarantine reason."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list | tuple):
        return "a JSON list"
    return f"a {type(value).__name__}"


def number_value(value: Any) -> float | None:
    """A rating or score as a number ('４.５' reads 4.5), None when missing or not a number."""
    value = plain_value(value)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


_KOREAN_DATE = re.compile(
    r"^\s*(\d{4})\s*(?:년|[.\-/])\s*(\d{1,2})\s*(?:월|[.\-/])\s*(\d{1,2})\s*(?:일|\.)?"
    r"(?:\s*(오전|오후)?\s*(\d{1,2})\s*(?:시|:)\s*(\d{1,2})?\s*(?:분)?(?:\s*:?\s*(\d{1,2})\s*(?:초)?)?)?\s*$"
)


def parse_timestamp(value: Any, tz: ZoneInfo) -> datetime | None:
    """Parse ISO 8601 and the common Korean export formats; naive times are local to `tz`. A typed
    timestamp is taken as it is, a date as its midnight; None when missing, unparseable, or so near
    the ends of the calendar (year 1, 9999) that it has no local date in `tz`."""
    value = plain_value(value)
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        parsed_text = _parse_text(str(value).strip())
        if parsed_text is None:
            return None
        parsed = parsed_text
    parsed = parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed
    try:
        parsed.astimezone(tz)
    except OverflowError:
        return None
    return parsed


def _parse_text(text: str) -> datetime | None:
    if not text:
        return None
    match = _KOREAN_DATE.match(text)
    if not match:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    year, month, day, ampm, hour, minute, second = match.groups()
    hour_value = int(hour or 0)
    if ampm == "오후" and hour_value < 12:
        hour_value += 12
    if ampm == "오전" and hour_value == 12:
        hour_value = 0
    try:
        return datetime(int(year), int(month), int(day), hour_value, int(minute or 0), int(second or 0))
    except ValueError:
        return None
