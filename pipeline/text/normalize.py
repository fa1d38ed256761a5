"""Text normalisation before masking and analysis, and the invisible characters no stored value keeps.

NFKC folds full-width digits and compatibility characters (so masking rules see `010` whatever
the keyboard typed), except Hangul compatibility jamo: NFKC would turn ㅋㅋ and ㅠㅠ into
conjoining jamo that neither Kiwi nor people read as laughter or tears. Markup and invisible
characters go, whitespace collapses, and elongations such as ㅋㅋㅋㅋㅋㅋ or !!!!!! shrink to
three repeats: enough to keep the emphasis as a signal, short enough not to dominate keywords
and token budgets.

Stored text is inert: markup is removed after entities are decoded, not before, so `&lt;script&gt;`
can never come out as a live `<script>` (see `_without_markup`).
"""

from __future__ import annotations

import html
import re
import unicodedata

# Every control (Cc, but tab, CR and LF, which are whitespace), format (Cf: zero-width characters,
# bidirectional embeddings, overrides and isolates, the BOM, soft hyphen, tag characters), surrogate (Cs:
# a lone half of a pair, which no UTF-8 database can store) and line or paragraph separator code point.
# PostgreSQL refuses NUL in text; the rest are invisible and can disguise what a text or key shows.
# tests/text/test_normalize.py checks this list against the Unicode database.
INVISIBLE_CHARACTERS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")
_INVISIBLE_OR_BREAK = re.compile(f"[{INVISIBLE_CHARACTERS}\t\n\r]")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
# What an HTML parser would still open as a tag once tags are gone (an unclosed `<img …`): `<` right
# before an ASCII letter, or before `/` and one. `<!` and `<?` open only comments, which run no code.
_TAG_OPEN = re.compile(r"<(?=/?[a-zA-Z])")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_COMPAT_JAMO = re.compile(r"([\u3131-\u318e]+)")
_CHAR_RUN = re.compile(r"(.)\1{3,}")
_PAIR_RUN = re.compile(r"(..)\1{3,}")

MAX_REPEAT = 3


def nfkc_keeping_jamo(text: str) -> str:
    parts = _COMPAT_JAMO.split(text)
    return "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts))


def strip_invisible(text: str) -> str:
    """The text without invisible characters (`INVISIBLE_CHARACTERS`); tabs and line breaks stay.

    What every text read from a source goes through before it is kept, since a database may refuse
    them (NUL) and a reader cannot see them (bidirectional overrides)."""
    return _INVISIBLE.sub("", text)


def invisible_in(text: str) -> str | None:
    """The first invisible character of a key (an id), tabs and line breaks included, or None: a key
    is quarantined rather than altered, since a changed key would name another record."""
    match = _INVISIBLE_OR_BREAK.search(text)
    return match.group() if match else None


def escape_invisible(text: str) -> str:
    """Invisible characters written as Python escapes (`\\x00`, `\\u202e`): what a quarantine row's
    location shows, so that two locations differing only by one of them stay apart."""
    return _INVISIBLE.sub(lambda match: ascii(match.group())[1:-1], text)


def _without_markup(text: str) -> str:
    """Tags removed, entities decoded once, and tags removed again, so that an escaped tag cannot come
    out live; then any `<` an HTML parser would still open as a tag (an unclosed `<img …`) gets a space
    after it.

    Tags are stripped rather than entities kept escaped because models read this text: `&quot;` or
    `&nbsp;` is noise to them, and web exports are full of both. Decoding only once leaves
    double-escaped text (`&amp;lt;`) as harmless entities. Only ASCII letters open a tag, as in
    HTML, so Korean brackets (`<상품명>`) and emoticons (`<3`) are kept as written."""
    text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return _TAG_OPEN.sub("< ", _TAG.sub(" ", text))


def normalize_text(text: str) -> str:
    """The text models read and the warehouse stores (once masked): width folded, markup and invisible
    characters removed, whitespace and elongations collapsed."""
    text = nfkc_keeping_jamo(text)
    if "<" in text or "&" in text:
        text = _without_markup(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_invisible(text)
    text = _CHAR_RUN.sub(lambda m: m.group(1) * MAX_REPEAT, text)
    text = _PAIR_RUN.sub(lambda m: m.group(1) * MAX_REPEAT, text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


def normalize_name(name: str) -> str:
    """A product or store name as one key: an export from a Mac writes Hangul decomposed (NFD), a
    web form full-width letters or doubled spaces, and each would otherwise be a product of its own."""
    return " ".join(strip_invisible(nfkc_keeping_jamo(name)).split())
