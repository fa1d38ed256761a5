"""Roughening clean sentences the way customers type: end marks, slang, typos, lost spaces, ㅋㅋ, emoji.

The word lists live in ``templates/noise.yaml``; the keyboard neighbours below are fixed by Hangul.
Every function draws from the caller's RNG in a fixed order, so the same seed gives the same text.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .hangul import is_syllable
from .tables import NOISE

# 두벌식 neighbours of initial consonants (ㅂㅈㄷㄱㅅ, ㅁㄴㅇㄹㅎ) and vowels (ㅐㅔ, ㅏㅓ, ㅗㅓ, ㅜㅡ).
_NEAR_LEAD = {7: 12, 12: 3, 3: 0, 0: 9, 9: 0, 6: 2, 2: 11, 11: 5, 5: 18}
_NEAR_VOWEL = {1: 5, 5: 1, 0: 4, 4: 0, 8: 4, 13: 18, 18: 13}


def _swap_pairs(text: str, rng: random.Random, pairs: Sequence[Sequence[str]], p: float) -> str:
    """Replace some spellings with misspellings or slang."""
    for right, wrong in pairs:
        if right in text and rng.random() < p:
            text = text.replace(right, wrong, 1)
    return text


def _jamo_typo(text: str, rng: random.Random) -> str:
    """One fast-typing slip in a syllable: lost final, neighbouring key, rarely a doubled or lost syllable."""
    spots = [i for i, ch in enumerate(text) if is_syllable(ch)]
    if not spots:
        return text
    i = rng.choice(spots)
    code = ord(text[i]) - 0xAC00
    lead, vowel, final = code // 588, (code % 588) // 28, code % 28
    ops = {"final": 4.0 if final else 0.0, "vowel": 3.0 if vowel in _NEAR_VOWEL else 0.0}
    ops |= {"lead": 2.0 if lead in _NEAR_LEAD else 0.0, "double": 0.5, "drop": 0.6 if len(spots) > 5 else 0.0}
    op = rng.choices(list(ops), weights=list(ops.values()))[0]
    if op == "double":
        return text[: i + 1] + text[i] + text[i + 1 :]
    if op == "drop":
        return text[:i] + text[i + 1 :]
    if op == "final":
        final = 19 if final == 20 else 0  # ㅆ -> ㅅ, otherwise the final is lost
    elif op == "vowel":
        vowel = _NEAR_VOWEL[vowel]
    else:
        lead = _NEAR_LEAD[lead]
    return text[:i] + chr(0xAC00 + lead * 588 + vowel * 28 + final) + text[i + 1 :]


def _drop_spaces(text: str, rng: random.Random, p: float) -> str:
    """Remove each space with probability p (띄어쓰기 없음)."""
    return "".join(ch for ch in text if ch != " " or rng.random() >= p)


def _elongate(text: str, rng: random.Random) -> str:
    """Stretch punctuation or the last syllable: !!!, ???, ..., 요오."""
    if text.endswith("!"):
        return text + "!" * rng.randint(1, 3)
    if text.endswith("?"):
        return text + rng.choice(("?", "??", "?!"))
    if text.endswith("."):
        return text + rng.choice(("..", "...", "."))
    if text.endswith("요"):
        return text + rng.choice(("오", "옹", "~", "~~"))
    return text + rng.choice(("...", "!!!", "~", "!!"))


def finish(sentence: str, mood: str, rng: random.Random, polite: bool) -> str:
    """Add an end mark unless the sentence already has one or runs on (…는데)."""
    if not sentence or sentence[-1] in "?!.~ㅋㅎㅠㅜㅡ^;" or sentence.endswith("데"):
        return sentence
    marks = NOISE.end_marks[mood]
    if polite and mood != "pos":
        marks = marks + (".", ".")
    return sentence + rng.choice(marks)


def roughen(sentence: str, mood: str, rng: random.Random, polite: bool, mess: float) -> str:
    """A clean sentence as a writer of the given messiness (0 tidy .. 1 careless) and mood types it."""
    text = finish(sentence, mood, rng, polite)
    runs_on = text.endswith("데")
    if rng.random() < mess:
        text = _swap_pairs(text, rng, NOISE.slang, 0.5)
    if rng.random() < mess:
        text = _swap_pairs(text, rng, NOISE.typos, 0.5)
    for _ in range(2):
        if rng.random() < mess * 0.22:
            text = _jamo_typo(text, rng)
    if rng.random() < mess * 0.8:
        text = _drop_spaces(text, rng, min(1.0, 0.25 + mess))
    if runs_on:
        return text
    if rng.random() < mess * 0.6:
        text = _elongate(text, rng)
    if rng.random() < 0.12 + 0.45 * mess:
        text += rng.choice(("", " ")) + rng.choice(NOISE.tails[mood])
    if rng.random() < 0.07 + 0.3 * mess:
        text += rng.choice(("", " ")) + rng.choice(NOISE.emoji[mood]) * rng.choice((1, 1, 2, 3))
    return text
