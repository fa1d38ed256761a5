"""Text normalisation before masking and analysis.

NFKC folds full-width digits and compatibility characters (so masking rules see `010` whatever
the keyboard typed), except Hangul compatibility jamo: NFKC would turn ㅋㅋ and ㅠㅠ into
conjoining jamo that neither Kiwi nor people read as laughter or tears. Markup and control
characters go, whitespace collapses, and elongations such as ㅋㅋㅋㅋㅋㅋ or !!!!!! shrink to
three repeats: enough to keep the emphasis as a signal, short enough not to dominate keywords
and token budgets.
"""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_COMPAT_JAMO = re.compile(r"([\u3131-\u318e]+)")
_CHAR_RUN = re.compile(r"(.)\1{3,}")
_PAIR_RUN = re.compile(r"(..)\1{3,}")

MAX_REPEAT = 3


def nfkc_keeping_jamo(text: str) -> str:
    parts = _COMPAT_JAMO.split(text)
    return "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts))


def normalize_text(text: str) -> str:
    text = nfkc_keeping_jamo(text)
    if "<" in text or "&" in text:
        text = html.unescape(_TAG.sub(" ", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _CHAR_RUN.sub(lambda m: m.group(1) * MAX_REPEAT, text)
    text = _PAIR_RUN.sub(lambda m: m.group(1) * MAX_REPEAT, text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


def normalize_name(name: str) -> str:
    """A product or store name as one key: an export from a Mac writes Hangul decomposed (NFD), a
    web form full-width letters or doubled spaces, and each would otherwise be a product of its own."""
    return " ".join(_CONTROL.sub("", nfkc_keeping_jamo(name)).split())
