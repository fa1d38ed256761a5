"""Korean grammar the templates need: particles after a filled slot, the polite register, durations."""

from __future__ import annotations

import re

# {slot} or {slot:josa}: a filler, optionally followed by the particle that fits it.
SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")

_JOSA = {
    "이": ("이", "가"),
    "은": ("은", "는"),
    "을": ("을", "를"),
    "과": ("과", "와"),
    "으로": ("으로", "로"),
    "이나": ("이나", "나"),
    "이에요": ("이에요", "예요"),
    "이라": ("이라", "라"),
    "이요": ("이요", "요"),
}
_DIGIT_FINAL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
_LATIN_FINAL = {"L": 8, "M": 16, "N": 4, "R": 8}


def is_syllable(ch: str) -> bool:
    """True for a precomposed Hangul syllable."""
    return "\uac00" <= ch <= "\ud7a3"


def _final_consonant(word: str) -> int:
    """Index of the last sound's final consonant (0 = none), as Korean particles need it."""
    for ch in reversed(word.strip()):
        if is_syllable(ch):
            return (ord(ch) - 0xAC00) % 28
        if ch.isdigit():
            return _DIGIT_FINAL[ch]
        if ch.isalpha():
            return _LATIN_FINAL.get(ch.upper(), 0)
    return 0


def attach_josa(word: str, josa: str) -> str:
    """The particle form (이/가, 으로/로, ...) that fits after ``word``."""
    with_final, without = _JOSA[josa]
    final = _final_consonant(word)
    if josa == "으로" and final == 8:  # ㄹ takes 로
        return without
    return with_final if final else without


def with_josa(word: str, josa: str | None) -> str:
    """``word`` followed by the fitting form of ``josa`` (if any)."""
    return word + (attach_josa(word, josa) if josa else "")


def is_polite(text: str) -> bool:
    """Whether a sentence ends in a polite (존댓말) ending."""
    core = text.rstrip()
    while core and not is_syllable(core[-1]):
        core = core[:-1]
    return core.endswith(("요", "다", "죠", "까"))


def format_minutes(minutes: int) -> str:
    """Korean duration: 35분, 1시간, 1시간 20분."""
    if minutes < 60:
        return f"{minutes}분"
    hours, rest = divmod(minutes, 60)
    return f"{hours}시간" + (f" {rest}분" if rest else "")
