"""Which language a text is in, by script: cheap, deterministic and enough to flag non-Korean
feedback (kept and mined, but marked so BI can filter it)."""

from __future__ import annotations

import unicodedata
from collections import Counter

MIN_LETTERS = 2
HANGUL_SHARE_FOR_KOREAN = 0.3


def script_of(char: str) -> str | None:
    if not char.isalpha():
        return None
    code = ord(char)
    if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
        return "han"
    name = unicodedata.name(char, "")
    if name.startswith("LATIN"):
        return "latin"
    return "other"


def detect_language(text: str) -> str:
    """ko, ja, zh, en (any Latin script), other, or und when there are too few letters."""
    scripts = Counter(s for s in map(script_of, text) if s)
    letters = sum(scripts.values())
    if letters < MIN_LETTERS:
        return "und"
    if scripts["hangul"] / letters >= HANGUL_SHARE_FOR_KOREAN:
        return "ko"
    if scripts["kana"]:
        return "ja"
    if scripts["han"] >= scripts["latin"] and scripts["han"]:
        return "zh"
    if scripts["latin"] >= scripts["other"]:
        return "en"
    return "other"
