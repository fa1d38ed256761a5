"""Regular expressions, word tables and small pure helpers for the structured-identifier and address
detectors of :mod:`pipeline.text.pii.detectors`.

The expressions work on raw (normalised) text. Digit runs are bounded on both sides so a pattern never
matches the middle of a longer number, and a following unit (원, 개, 일, km ...) marks a quantity, price
or date rather than an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def wordset(words: str) -> frozenset[str]:
    """Whitespace-separated word list -> set (keeps long Korean lists compact and readable)."""
    return frozenset(words.split())


def luhn_ok(digits: str) -> bool:
    """Luhn checksum; separates real card numbers from other long digit runs."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# --------------------------------------------------------------------------------------------------
# Regular expressions for structured identifiers
# --------------------------------------------------------------------------------------------------

_DASH = "-‐‑–—−"
_LB = r"(?<![0-9])(?<![0-9][-.])"  # not glued to a preceding digit run
_RB = r"(?![0-9])(?![-.][0-9])"  # not continued by more digits
_SEP = rf"(?:[ \t]?[{_DASH}.][ \t]?|[ \t])"  # one separator between digit groups
_OSEP = f"(?:{_SEP})?"
_P82 = r"(?:\+|00)[ \t]?82[ \t-]?(?:\(0\)[ \t]?)?"  # +82 / 0082 country prefix

# Units after a number mean quantity/price/date, not an identifier ("1600-2000원", "테헤란로 3개").
_COUNT_UNIT = (
    r"(?:원|만|천|억|개|명|분|초|시|일|월|년|주|회|층|%|％|퍼|세|살|배|대|권|장|병|잔|박|달|위|"
    r"등|점|건|통|가지|마리|켤레|벌|팩|봉|인분|km|kg|mg|ml|cm|mm|g(?![A-Za-z])|m(?![A-Za-z])|ea|EA)"
)
_SPACED_UNIT = r"[ \t](?:원|만[ \t]?원|개|일|시간|분|명|년|%)(?![가-힣])"
_UNIT = rf"(?:{_COUNT_UNIT}|번(?!지)|차|{_SPACED_UNIT})"

MOBILE_RE = re.compile(
    rf"{_LB}(?:{_P82}0?1[016789]|\(01[016789]\)|01[016789]\)?)"
    rf"{_OSEP}(?:\d{{3,4}}|[*xX]{{3,4}}){_OSEP}(?:\d{{4}}|[*xX]{{4}}){_RB}"  # 010-****-5678 too
)
LANDLINE_RE = re.compile(
    rf"{_LB}(?:{_P82}(?:2|[3-6][1-5]|70)|(?P<p>\()?(?:02|0[3-6][1-5]|070|050[2-8]|080|060)(?(p)\)|\)?))"
    rf"{_OSEP}\d{{3,4}}{_OSEP}\d{{4}}{_RB}"
)
# 1588-1234 style nationwide business numbers: a separator is required, else too ambiguous.
BUSINESS_NUMBER_RE = re.compile(rf"{_LB}1[568]\d{{2}}{_SEP}\d{{4}}{_RB}(?!{_UNIT})")

RRN_RE = re.compile(
    rf"{_LB}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    rf"(?:[ \t]?[{_DASH}][ \t]?|[ \t])?[1-8*][\d*]{{6}}{_RB}"
)

# Front/back halves written apart ("앞자리 900101 뒷자리 1234567") count only next to an RRN word.
RRN_FRONT_RE = re.compile(rf"{_LB}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]){_RB}")
RRN_BACK_RE = re.compile(rf"{_LB}[1-8][\d*]{{6}}{_RB}")
RRN_CONTEXT_RE = re.compile(r"주민|등록번호|외국인|생년월일|뒷자리|앞자리")

_G4 = r"(?:\d{4}|[*xX#]{4})"
CARD_GROUPED_RE = re.compile(
    rf"{_LB}(?:{_G4}{_SEP}{_G4}{_SEP}{_G4}{_SEP}{_G4}(?:{_SEP}\d{{3}})?|\d{{4}}{_SEP}\d{{6}}{_SEP}\d{{4,5}}){_RB}"
)
DIGIT_RUN_RE = re.compile(rf"(?<![A-Za-z_])(?<![A-Za-z][-_]){_LB}\d{{10,19}}{_RB}")
CARD_CONTEXT_RE = re.compile(r"카드|card|CARD|신용|체크")

_CODE_LB = r"(?<![A-Za-z])(?<![A-Za-z][-_])"  # not the numeric tail of a code like 1AA-1707-231958
ACCOUNT_HYPHEN_RE = re.compile(rf"{_CODE_LB}{_LB}\d{{2,6}}(?:[{_DASH}]\d{{2,7}}){{1,4}}{_RB}(?!{_UNIT})")
ACCOUNT_SPACE_RE = re.compile(rf"{_CODE_LB}{_LB}\d{{2,6}}(?:[ \t]\d{{2,7}}){{1,4}}{_RB}(?!{_UNIT})")
# Group-length shapes used by Korean banks (국민 6-2-6, 신한 3-3-6, 우리 4-3-6, 하나 3-6-5, 농협 3-4-4-2,
# 기업 3-6-2-3, 카카오뱅크 4-2-7, ...): masked even without a bank word nearby.
STRONG_ACCOUNT_SHAPES = frozenset(
    tuple(int(n) for n in shape.split("-"))
    for shape in wordset("6-2-6 3-2-4-3 3-3-6 3-2-6 4-3-6 3-6-5 3-4-4-2 3-6-2-3 4-2-7 3-6-3 3-2-7 4-2-6")
)
BANK_CONTEXT_RE = re.compile(
    r"국민(?!신문고|연금|권익|건강|청원|카드|의|이|을|들|적|께)|KB|kb|신한|우리|하나|농협|NH|nh|기업|IBK|ibk|"
    r"카카오|카뱅|토스|케이뱅크|케뱅|SC|제일|씨티|새마을|신협|우체국|수협|부산|대구|경남|광주|전북|제주|산업|저축|은행|계좌|입금|송금|이체|예금주|환불|뱅크"
)
REFERENCE_LABEL_RE = re.compile(
    r"(?:주문|송장|운송장|접수|예약|문의|승인|거래|영수증|쿠폰|상품|모델|회원|고객|배송|반품|교환|티켓)"
    r"[ \t]?(?:번호|넘버|no\.?|NO\.?|#)[ \t]*(?:는|은|이|가|:|：|#)?[ \t]*$|운송장[ \t]*:?[ \t]*$|"
    r"(?:order|Order|ORDER)[ \t]?(?:no\.?|number|#)?[ \t]*:?[ \t]*$"
)

# Phone numbers read out digit by digit: Sino-Korean number words (공/영/빵 = 0, 일 = 1 … 구 = 9), mixed
# with digits or not, or digits written apart ("0 1 0 2 6 …"). A run must start with a zero; which
# runs are phone numbers is decided on their digits (:data:`PHONE_DIGITS_RE`).
DIGIT_WORDS: dict[str, str] = {
    "공": "0", "영": "0", "빵": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6",
    "륙": "6", "칠": "7", "팔": "8", "구": "9",
}
_DIGIT_UNIT = f"[0-9{''.join(DIGIT_WORDS)}]"
SPELLED_NUMBER_RE = re.compile(
    rf"(?<![0-9A-Za-z{''.join(DIGIT_WORDS)}])(?<![0-9][{_DASH}.])(?:0|[공영빵])(?:{_SEP}?{_DIGIT_UNIT}){{8,}}"
)
DIGIT_GROUP_RE = re.compile(f"{_DIGIT_UNIT}+")
# The digits of a Korean phone number: mobile, Seoul, regional, internet and safe (050x) numbers.
PHONE_DIGITS_RE = re.compile(r"01[016789]\d{7,8}|02\d{7,8}|0[3-6][1-5]\d{7,8}|070\d{8}|050[2-8]\d{8}")

# Car plates: two or three digits, one Hangul syllable of the plate set, four digits (12가 3456,
# 123허4567). A unit after the last group means a quantity ("50주 1000원"); 제 before it an issue or
# notice number ("제77호 2016.").
PLATE_SYLLABLES = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
PLATE_RE = re.compile(
    rf"(?<![0-9A-Za-z])(?<![0-9][{_DASH}.,:])(?<!제)(?<!제 )\d{{2,3}}[ \t]?[{PLATE_SYLLABLES}][ \t]?\d{{4}}"
    rf"(?![0-9])(?![.,:][0-9])(?!{_COUNT_UNIT}|{_SPACED_UNIT})"  # "12가 3456번 차량" is still a plate
)
# Court case numbers have the plate's shape (선고 96도2753): after these words a plate is a case number.
COURT_CONTEXT_RE = re.compile(r"선고|판결|판례|법원|대법|고법|지법|헌재|사건|결정")

EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*"
    r"(?:[ \t]?(?:@|＠|골뱅이|\(at\)|\[at\])[ \t]?)"
    r"(?:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}|(?:naver|daum|hanmail|gmail|kakao|nate|hotmail|"
    r"icloud|outlook|yahoo)(?![A-Za-z0-9.]))"
)
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'가-힣ㄱ-ㅎㅏ-ㅣ]+")
SENSITIVE_KEY_RE = re.compile(
    r"token|auth|key|sess|sid|uid|user|member|mem_?no|email|mail|phone|tel|mobile|hp|name|otp|pw|pass|"
    r"sig|secret|ticket|jwt|code|cert|login|acct|account|birth|ssn",
    re.IGNORECASE,
)
OPAQUE_VALUE_RE = re.compile(r"(?=[A-Za-z0-9_\-%.]*\d)(?=[A-Za-z0-9_\-%.]*[A-Za-z])[A-Za-z0-9_\-%.]{16,}")

# --------------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------------

# After a building/lot number: nothing Hangul but a particle or copula ("테헤란로 123에", not "10공구"),
# and no thousands separator or range ("5,000만원", "387~388").
_ADDR_TAIL = r"(?![,~∼]\d)(?=$|[^가-힣]|에|으로|이|은|는|을|를|요|입니다|이에요|이고|이며|의|까지|쪽|근처|앞)"
_ADDR_NUM = r"(?:산[ \t]?)?\d{1,5}(?:-\d{1,4})?"
ROAD_RE = re.compile(
    rf"(?P<road>[가-힣]{{1,12}}?(?:[ \t]?\d{{1,4}}(?:번)?)?(?:로|길))"
    rf"[ \t]?(?P<num>{_ADDR_NUM}(?:[ \t]?번지)?)"
    rf"(?![0-9])(?!-\d)(?!{_UNIT})(?![ \t]?[동호가])(?!번?길|로)(?![.)][가-힣0-9]){_ADDR_TAIL}"
)
LOT_RE = re.compile(
    rf"(?P<dong>[가-힣]{{1,6}}(?:동|리))[ \t]?"
    rf"(?P<num>(?:산[ \t]?)?(?:\d{{1,5}}-\d{{1,4}}|\d{{2,5}})(?:[ \t]?번지)?)"
    rf"(?![0-9])(?!-\d)(?!{_UNIT})(?![ \t]?[동호가])(?![.)][가-힣0-9]){_ADDR_TAIL}"
)
# "맛집 1번지"/"유머1번지" are idioms: a bare 번지 needs two digits or a lot-hyphen and a space before.
BUNJI_RE = re.compile(r"(?<![0-9가-힣\-])(?:산[ \t]?)?(?:\d{1,5}-\d{1,4}|\d{2,5})[ \t]?번지")
APARTMENT_UNIT_RE = re.compile(
    r"(?<![0-9\-])(?:\d{1,4}|(?<![A-Za-z])[A-Za-z])[ \t]?동[ \t]?\d{1,5}[ \t]?호(?:실)?|"
    r"(?<![0-9\-])(?<!제)(?<!제 )(?!19\d\d-|20\d\d-)\d{2,4}-\d{2,5}호(?:실)?"
)
ROOM_NUMBER_RE = re.compile(r"(?<![0-9\-])(?<!제)(?<!제 )\d{3,5}[ \t]?호(?:실)?(?![선점기차관텔수환칭])")
BUILDING_NUMBER_RE = re.compile(r"(?<![0-9\-])\d{2,4}[ \t]?동(?![가-힣])")
# A building's wing, floor and unit after its name ("에이치스퀘어 N동 7층", "한빛빌딩 3층 301호"): a wing
# and a floor, or a floor and a unit. A floor alone is kept: shops, lounges and observation decks are
# described by floor ("롯데월드타워 118층", "호텔 2층 식당"). Wing and unit alone are APARTMENT_UNIT_RE's.
_WING = r"(?:(?<![A-Za-z])[A-Za-z]|(?<![0-9\-])\d{1,4})[ \t]?동"
_FLOOR = r"(?:지하[ \t]?|(?<![A-Za-z])[Bb])?\d{1,3}[ \t]?층"
_UNIT_NUMBER = r"\d{1,5}[ \t]?호(?:실)?"
BUILDING_PARTS_RE = re.compile(
    rf"(?:{_WING}[ \t]?{_FLOOR}(?:[ \t]?{_UNIT_NUMBER})?|(?<![0-9]){_FLOOR}[ \t]?{_UNIT_NUMBER})(?![0-9])"
)
# How a building's name ends: offices, flats and shopping blocks.
BUILDING_WORD_RE = re.compile(
    r"(?:빌딩|타워|스퀘어|센터|프라자|플라자|오피스텔|오피스|아파트|빌라|맨션|하이츠|캐슬|팰리스|밸리|시티|상가|"
    r"타운|트윈|테라스|주택|자이|래미안|푸르지오|힐스테이트|아이파크|더샵)$"
)
# Lodging: a guest's room or floor in a hotel is not where the guest lives.
LODGING_WORD_RE = re.compile(r"(?:호텔|리조트|모텔|펜션|콘도|호스텔|게스트하우스|스테이|본관|신관|별관)$")
ADDRESS_CONTEXT_RE = re.compile(
    r"아파트|빌라|오피스텔|맨션|빌딩|타워|하우스|주택|원룸|투룸|기숙사|주소|배송지|현관|단지|자이|래미안|푸르지오|"
    r"힐스테이트|e편한|아이파크|더샵|롯데캐슬|배달|배송|택배|문[ \t]?앞|호수"
)
DISTRICT_SUFFIXES = ("시", "도", "구", "군", "읍", "면", "동")
METRO_NAMES = wordset("서울 부산 대구 인천 광주 대전 울산 세종 경기 제주 강원")
ADDRESS_MERGE_GAP_RE = re.compile(r"[ \t,]*")
# Context look-ups and address parts do not reach across a line or sentence break.
BREAK_RE = re.compile(r"\n|[.!?。][ \t]")


# --------------------------------------------------------------------------------------------------
# Span and context helpers
# --------------------------------------------------------------------------------------------------


def overlaps_any(a0: int, a1: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Does ``[a0, a1)`` overlap any of the half-open ``spans``?"""
    return any(a0 < b1 and b0 < a1 for b0, b1 in spans)


def blank_out(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Text with the given spans replaced by spaces (same length), for context look-ups."""
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def context_around(ctx: str, s: int, e: int, before: int, after: int) -> str:
    """Context words on both sides of ``ctx[s:e]``, not reaching past a line or sentence break."""
    left = ctx[max(0, s - before) : s]
    right = ctx[e : e + after]
    breaks = list(BREAK_RE.finditer(left))
    if breaks:
        left = left[breaks[-1].end() :]
    cut = BREAK_RE.search(right)
    if cut:
        right = right[: cut.start()]
    return left + " " + right


def digits_only(s: str) -> str:
    """The digits of ``s``, separators dropped."""
    return "".join(ch for ch in s if ch.isdigit())


def is_yyyymmdd(d: str) -> bool:
    """Is ``d`` a plausible YYYYMMDD date (19xx/20xx, month 01-12, day 01-31)?"""
    return len(d) == 8 and d[:2] in ("19", "20") and "01" <= d[4:6] <= "12" and "01" <= d[6:8] <= "31"
