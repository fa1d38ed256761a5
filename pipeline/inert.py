"""Data made inert where sori shows it to people: markdown (Prefect artifacts), chat messages (alert
webhooks), links and spreadsheet cells (every CSV sori writes).

Customer text, product names and the topic labels drawn from them may carry markup meant for a
renderer (`<img onerror=…>`, `<script>`, `[지금 클릭](javascript:…)`) or a formula meant for a
spreadsheet (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`, `@SUM(1,1)`). Each output format is made safe here,
once, and every writer of that format goes through it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pandas as pd

# Every character that can open inline markdown (emphasis, code, strike-through, links, images, raw
# HTML, entities) or end a table cell; a backslash makes CommonMark and GFM read each as itself.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]()<>!&|])")

# OWASP's list: a spreadsheet reads a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

WEB_SCHEMES = frozenset({"http", "https"})


def markdown_text(value: object) -> str:
    """`value` as literal inline markdown (a table cell, a phrase in a sentence): markup characters are
    backslash-escaped and line breaks become spaces, so it shows as written and can neither form a
    link, an image or HTML nor break out of its cell."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def chat_text(text: str) -> str:
    """`text` for a Slack-compatible webhook: `&`, `<` and `>` as the entities Slack asks for, so that
    customer text can form no link (`<javascript:…|클릭>`) and no mention (`<!channel>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_web_link(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host: the only links sori publishes, so no
    `javascript:`, `data:` or `file:` link ever reaches a page."""
    parts = urlsplit(url)
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


def spreadsheet_cell(value: object) -> object:
    """A string that a spreadsheet would run as a formula, prefixed with `'` so that it shows as text;
    anything else (numbers included) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` for CSV: the cells of text columns through `spreadsheet_cell`; numeric and
    date columns keep their values and types, so -0.5 stays a number."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(spreadsheet_cell)
    return safe
