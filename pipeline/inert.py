"""Data made inert where sori shows it to people: markdown (Prefect artifacts), chat messages (alert
webhooks) and links.

Customer text, product names and the topic labels drawn from them may carry markup meant for a
renderer (`<img onerror=…>`, `<script>`, `[지금 클릭](javascript:…)`). Each output format is made safe
here, once, and every writer of that format goes through it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Every character that can open inline markdown (emphasis, code, strike-through, links, images, raw
# HTML, entities) or end a table cell; a backslash makes CommonMark and GFM read each as itself.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]()<>!&|])")

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
