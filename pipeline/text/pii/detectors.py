"""Regex-first detectors for the structured kinds (phone, e-mail, RRN, card, account, car plate, URL query)
and for street and building addresses.

Each detector takes the raw text and returns ``(start, end, kind)`` candidates; :class:`PiiMasker
<pipeline.text.pii.masker.PiiMasker>` resolves overlaps between them. ``ctx`` is the same text with
placeholders blanked out (same offsets), so context words are searched without reading a placeholder as
one; ``refs`` are order/tracking/reference numbers, which the RRN, account and bare-digit card detectors
leave alone.
"""

from __future__ import annotations

import re

from pipeline.text.pii.patterns import (
    ACCOUNT_HYPHEN_RE,
    ACCOUNT_SPACE_RE,
    ADDRESS_CONTEXT_RE,
    APARTMENT_UNIT_RE,
    BANK_CONTEXT_RE,
    BREAK_RE,
    BUILDING_NUMBER_RE,
    BUILDING_PARTS_RE,
    BUILDING_WORD_RE,
    BUNJI_RE,
    BUSINESS_NUMBER_RE,
    CARD_CONTEXT_RE,
    CARD_GROUPED_RE,
    COURT_CONTEXT_RE,
    DIGIT_GROUP_RE,
    DIGIT_RUN_RE,
    DIGIT_WORDS,
    DISTRICT_SUFFIXES,
    EMAIL_RE,
    LANDLINE_RE,
    LODGING_WORD_RE,
    LOT_RE,
    METRO_NAMES,
    MOBILE_RE,
    OPAQUE_VALUE_RE,
    PHONE_DIGITS_RE,
    PLATE_RE,
    REFERENCE_LABEL_RE,
    ROAD_RE,
    ROOM_NUMBER_RE,
    RRN_BACK_RE,
    RRN_CONTEXT_RE,
    RRN_FRONT_RE,
    RRN_RE,
    SENSITIVE_KEY_RE,
    SPELLED_NUMBER_RE,
    STRONG_ACCOUNT_SHAPES,
    URL_RE,
    context_around,
    digits_only,
    is_yyyymmdd,
    luhn_ok,
    overlaps_any,
)
from pipeline.text.pii.tokens import KiwiTokens

#: A half-open character range ``(start, end)``.
Span = tuple[int, int]
#: A detection before overlap resolution: ``(start, end, kind)``.
Candidate = tuple[int, int, str]


def find_urls(text: str, toks: KiwiTokens) -> list[Span]:
    """Spans of every URL, from the regex and from Kiwi's ``W_URL`` tag, sorted and de-duplicated."""
    found = {(m.start(), m.end()) for m in URL_RE.finditer(text)}
    found |= {(s, e) for s, e, tag, _ in toks.toks if tag == "W_URL"}
    return sorted(found)


def find_sensitive_url_queries(text: str, urls: list[Span]) -> list[Candidate]:
    """Plain URLs are kept; a query string/fragment carrying tokens, ids or contact data is masked."""
    out = []
    for s, e in urls:
        url = text[s:e].rstrip(".,)!?")
        q = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
        if q < 0:
            continue
        sensitive = False
        for part in re.split(r"[&;#?]", url[q + 1 :]):
            key, _, value = part.partition("=")
            if (value and SENSITIVE_KEY_RE.search(key)) or OPAQUE_VALUE_RE.fullmatch(value or key):
                sensitive = True
                break
            if value and (EMAIL_RE.search(value) or MOBILE_RE.search(value)):
                sensitive = True
                break
        if sensitive:
            out.append((s + q + 1, s + len(url), "url"))
    return out


def find_emails(text: str, toks: KiwiTokens) -> list[Candidate]:
    """E-mail addresses (also "골뱅이"/"(at)" spellings and bare portal domains), plus Kiwi's ``W_EMAIL``."""
    out = [(m.start(), m.end(), "email") for m in EMAIL_RE.finditer(text)]
    out += [(s, e, "email") for s, e, tag, _ in toks.toks if tag == "W_EMAIL"]
    return out


def find_phones(text: str) -> list[Candidate]:
    """Mobile, landline and nationwide business numbers that still carry at least four digits, and phone
    numbers read out digit by digit (:func:`find_spelled_phones`)."""
    out = []
    for rx in (MOBILE_RE, LANDLINE_RE, BUSINESS_NUMBER_RE):
        for m in rx.finditer(text):
            if sum(ch.isdigit() for ch in m.group()) >= 4:  # "010-****-****" has no data left
                out.append((m.start(), m.end(), "phone"))
    return out + find_spelled_phones(text)


def find_spelled_phones(text: str) -> list[Candidate]:
    """Phone numbers in number words, alone or mixed with digits ("공일공-육삼이일-팔팔사칠", "공일공 6321
    8847"), and digits written apart ("0 1 0 2 6 7 3 9 9 0 1").

    A run of digits and number words that starts with a zero is cut back, group by group, to its longest
    prefix that is a phone number, so the words after it stay ("… 팔팔사칠 이사 갔어요"). It must be
    grouped as one: one group, area code / 3-4 / 4, or one digit per group (after an optional area
    code), so a number word after a phone number is not read as its last digit ("031-123-4567 이곳").
    A run of ordinary words cannot qualify: it would need nine or more number syllables in a row that
    spell a Korean area code. Digit-only runs count only when written apart; grouped digits are left to
    MOBILE_RE and LANDLINE_RE, which know units and boundaries.
    """
    out = []
    for m in SPELLED_NUMBER_RE.finditer(text):
        groups = [(g.start(), g.end()) for g in DIGIT_GROUP_RE.finditer(text, m.start(), m.end())]
        for k in range(len(groups), 0, -1):
            end = _phone_end(text, groups[:k])
            if end is not None:
                out.append((m.start(), end, "phone"))
                break
    return out


def _phone_end(text: str, groups: list[Span]) -> int | None:
    """Where the phone number these digit groups spell ends, or None when they spell none. The last
    group may carry a particle or copula "이" ("…팔팔사칠이 맞아요", "…사칠이에요")."""
    *head, (last_start, last_end) = groups
    ends = [last_end]
    if text[last_end - 1] == "이" and last_end - 1 > last_start:
        ends.append(last_end - 1)
    for end in ends:
        parts = [text[s:e] for s, e in head] + [text[last_start:end]]
        digits = "".join(DIGIT_WORDS.get(ch, ch) for part in parts for ch in part)
        if not PHONE_DIGITS_RE.fullmatch(digits):
            continue
        area = 2 if digits.startswith("02") else 4 if digits.startswith("050") else 3
        sizes = [len(part) for part in parts]
        apart = len(parts) >= 5 and all(size == 1 for size in sizes[1:])
        grouped = len(parts) == 1 or (len(parts) == 3 and sizes[0] == area and sizes[1:] in ([3, 4], [4, 4]))
        spelled = any(ch in DIGIT_WORDS for part in parts for ch in part)
        if apart or (grouped and spelled):
            return end
    return None


def find_plates(text: str, ctx: str) -> list[Candidate]:
    """Car number plates: 2-3 digits, a syllable of the plate set, 4 digits (12가 3456, 123허4567), unless
    a court word precedes them: then they are a case number (대법원 선고 96도2753)."""
    return [
        (m.start(), m.end(), "plate")
        for m in PLATE_RE.finditer(text)
        if not COURT_CONTEXT_RE.search(context_around(ctx, m.start(), m.end(), 20, 0))
    ]


def find_reference_numbers(ctx: str) -> list[Span]:
    """Digit runs labelled as order/tracking/reference numbers: kept, not treated as RRN/account."""
    out = []
    for m in re.finditer(r"[A-Za-z]{0,4}\d[\d\-]*\d", ctx):
        if REFERENCE_LABEL_RE.search(ctx, max(0, m.start() - 12), m.start()):
            out.append((m.start(), m.end()))
    return out


def find_rrns(text: str, ctx: str, refs: list[Span]) -> list[Candidate]:
    """Resident registration numbers, whole or as halves next to an RRN word; ``refs`` are exempt."""
    out = []
    for m in RRN_RE.finditer(text):
        s, e = m.start(), m.end()
        if overlaps_any(s, e, refs):
            continue
        if e - s == 13 and m.group().isdigit():
            # A bare 13-digit run next to a bank word is an account (우리 1002123456789), not an RRN.
            window = context_around(ctx, s, e, 25, 15)
            if BANK_CONTEXT_RE.search(window) and not RRN_CONTEXT_RE.search(window):
                continue
        out.append((s, e, "rrn"))
    for rx in (RRN_FRONT_RE, RRN_BACK_RE):
        for m in rx.finditer(text):
            s, e = m.start(), m.end()
            if not overlaps_any(s, e, refs) and RRN_CONTEXT_RE.search(context_around(ctx, s, e, 30, 0)):
                out.append((s, e, "rrn"))
    return out


def find_cards(text: str, ctx: str, skip: list[Span]) -> list[Candidate]:
    """Grouped 4-4-4-4 (also partly starred) always; bare 13-19 digit runs when Luhn-valid or next
    to a card word, unless they are reference numbers or part of a URL (news ids, timestamps)."""
    out = []
    for m in CARD_GROUPED_RE.finditer(text):
        if sum(ch.isdigit() for ch in m.group()) >= 4:
            out.append((m.start(), m.end(), "card"))
    for m in DIGIT_RUN_RE.finditer(text):
        d = m.group()
        if overlaps_any(m.start(), m.end(), skip) or not 13 <= len(d) <= 19:
            continue
        near_card = CARD_CONTEXT_RE.search(context_around(ctx, m.start(), m.end(), 20, 0)) is not None
        if luhn_ok(d) or (near_card and 14 <= len(d) <= 16):
            out.append((m.start(), m.end(), "card"))
    return out


def find_accounts(text: str, ctx: str, refs: list[Span]) -> list[Candidate]:
    """Bank account numbers: a known bank group shape, or 10-14 digits next to a bank word; ``refs`` are
    exempt, and so are runs led by a YYYYMMDD date."""
    out = []

    def near_bank(s: int, e: int) -> bool:
        return BANK_CONTEXT_RE.search(context_around(ctx, s, e, 25, 15)) is not None

    for rx, shaped in ((ACCOUNT_HYPHEN_RE, True), (ACCOUNT_SPACE_RE, False), (DIGIT_RUN_RE, False)):
        for m in rx.finditer(text):
            s, e = m.start(), m.end()
            if overlaps_any(s, e, refs):
                continue
            groups = tuple(len(g) for g in re.findall(r"\d+", m.group()))
            # A leading YYYYMMDD is a timestamped order/transaction id (20261021-000123), not an account.
            if not 10 <= sum(groups) <= 14 or (groups[0] >= 8 and is_yyyymmdd(digits_only(m.group())[:8])):
                continue
            if (shaped and groups in STRONG_ACCOUNT_SHAPES) or near_bank(s, e):
                out.append((s, e, "account"))
    return out


def find_addresses(text: str, ctx: str, toks: KiwiTokens) -> list[Candidate]:
    """Street/lot numbers, 번지, apartment 동/호 parts and a building's wing/floor/unit parts (the place or
    building name itself is kept).

    A road or lot number counts when Kiwi reads the "-로/-길/-동/-리" as part of a place name rather than
    a particle, or a district precedes it; a bare 동/호 number needs an address word nearby; wing/floor/
    unit parts need a building's name before them or an address word nearby, and never follow a hotel's.
    """
    out: list[Candidate] = []
    districts = _district_ends(text, toks)

    def district_near(pos: int) -> bool:
        return any(0 <= pos - e <= 40 and not BREAK_RE.search(text, e, pos) for e in districts)

    for m in ROAD_RE.finditer(text):
        road_end = m.end("road")
        tok = toks.at(road_end - 1)
        if tok is not None and tok[2][0] in "MV":  # 그대로 (adverb), 보내로 ...
            continue
        particle = tok is not None and tok[2][0] in "JE"
        named = tok is not None and (tok[2] == "NNP" or tok[3])
        shaped = re.search(r"(?:대로|번길|\d길)$", m.group("road")) is not None
        if (not particle and (named or shaped)) or district_near(m.start("road")):
            out.append((m.start("num"), m.end("num"), "address"))
    for m in LOT_RE.finditer(text):
        if m.start("num") == m.end("dong") and not re.search(r"-|번지", m.group("num")):
            continue  # "디즈레일리23": a glued plain number is not a lot number
        tok = toks.at(m.end("dong") - 1)
        named = tok is not None and (tok[2] == "NNP" or tok[3]) and tok[2][0] not in "JE"
        if named or (district_near(m.start("dong")) and tok is not None and tok[2][0] not in "JEV"):
            out.append((m.start("num"), m.end("num"), "address"))
    for rx in (BUNJI_RE, APARTMENT_UNIT_RE):
        out += [(m.start(), m.end(), "address") for m in rx.finditer(text)]
    for m in BUILDING_PARTS_RE.finditer(text):
        building = _building_before(text, toks, m.start())
        around = context_around(ctx, m.start(), m.end(), 40, 12)
        if building is not False and (building or ADDRESS_CONTEXT_RE.search(around)):
            out.append((m.start(), m.end(), "address"))
    for rx in (ROOM_NUMBER_RE, BUILDING_NUMBER_RE):
        for m in rx.finditer(text):
            s = m.start()
            around = context_around(ctx, s, m.end(), 40, 12)
            if ADDRESS_CONTEXT_RE.search(around) or any(0 <= s - e <= 15 for _, e, _k in out):
                out.append((s, m.end(), "address"))
    return out


def _building_before(text: str, toks: KiwiTokens, pos: int) -> bool | None:
    """Is the word right before ``pos`` a building's name (True), a hotel's or a hotel wing's (False: a
    guest's room is not an address), or neither (None)?

    A building's name ends like one (한빛빌딩, 래미안아파트) or is a proper noun or unknown word to Kiwi
    (에이치스퀘어, 판교테크노밸리).
    """
    end = pos - 1 if pos > 0 and text[pos - 1] in " \t" else pos
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:end]
    if not word:
        return None
    if LODGING_WORD_RE.search(word):
        return False
    tok = toks.at(end - 1)
    named = tok is not None and tok[1] == end and (tok[2] == "NNP" or tok[3])
    return True if named or BUILDING_WORD_RE.search(word) else None


def _district_ends(text: str, toks: KiwiTokens) -> list[int]:
    """End offsets of administrative place names (서울시, 강남구, 역삼동, 서울) in the text."""
    out = []
    for s, e, tag, oov in toks.toks:
        if (tag == "NNP" or oov) and e - s >= 2:
            form = text[s:e]
            if form.endswith(DISTRICT_SUFFIXES) or form in METRO_NAMES or form.endswith(("특별시", "광역시")):
                out.append(e)
    return out
