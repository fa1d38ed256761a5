"""Personal-data (PII) masking for Korean customer text.

Every review, survey answer and chat turn goes through :class:`PiiMasker` before anything is stored, so
that the warehouse never holds a phone number, e-mail, resident registration number (주민번호), card
number, bank account, street-address number or a customer's / agent's name. Each detection is replaced
by a typed placeholder (:data:`PLACEHOLDERS`); downstream code recognises these exact strings, e.g. to
keep ``[이름]`` out of keyword lists.

Design
------
* Structured identifiers (phone, e-mail, RRN, card, account, URL query tokens) are found with regular
  expressions over the raw text; Kiwi's ``W_EMAIL`` / ``W_URL`` tags are added as extra candidates.
* Names and addresses need language knowledge, so they use Kiwi tokens. A name is a 2-4 syllable
  Hangul chunk right next to an anchor: before an honorific/title (고객님, 상담원, 님, 씨, 팀장 ...),
  before a turn-initial self-introduction ("안녕하세요 김민수입니다"), or after a label ("제 이름은",
  "예금주", "수령인"). It must start with a family name (or be a two-syllable dictionary proper noun
  before 님/씨: "민수님"), and Kiwi must read it as a proper noun or an unknown word; chunks Kiwi knows
  as common nouns (배송기사님, 상담원님, 고객님) never are names. Unknown chunks must also be spelled
  with common given-name syllables, which keeps internet slang and typos out (남사친님, 로딩중이에요).
  A road/lot-number candidate is kept only when Kiwi reads the "-로/-길/-동/-리" as part of a place
  name (테헤란로, 역삼동) and not as the particle "로" ("택배로 2개"), or a district (강남구) precedes it.
* Overlapping detections resolve to the longest span; ties go to the more specific kind
  (email > url > rrn > card > phone > account > address > name).
* Order / tracking / reference numbers are *kept*: a digit run right after a label such as 주문번호,
  송장번호, 운송장, 접수번호, 예약번호, 승인번호 is exempt from the RRN, account and bare-digit card
  detectors (phone numbers and grouped card numbers are still masked there). Shapes like
  ``20261021-000123`` (a date + sequence) are not phone/RRN shapes anyway.
* Masking is idempotent by construction: placeholders are protected from every detector, and the
  masker re-runs on its own output (only for texts where something was masked) until nothing new is
  found, because replacing a value can change Kiwi's analysis of the words around it.
* Input is expected to be normalised first (:func:`pipeline.text.normalize.normalize_text`: NFKC folds
  full-width digits, so ``０１０`` arrives as ``010``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import kiwipiepy

from pipeline.text.korean import shared_kiwi

__all__ = ["KINDS", "PLACEHOLDERS", "PLACEHOLDER_RE", "MaskSpan", "Masked", "PiiMasker", "luhn_ok"]

#: Every kind the masker knows, in the order used for documentation and defaults.
KINDS: tuple[str, ...] = ("phone", "email", "rrn", "card", "account", "address", "name", "url")

#: Stable placeholder strings; downstream code matches on these exact values.
PLACEHOLDERS: dict[str, str] = {
    "phone": "[전화번호]",
    "email": "[이메일]",
    "rrn": "[주민번호]",
    "card": "[카드번호]",
    "account": "[계좌번호]",
    "address": "[주소]",
    "name": "[이름]",
    "url": "[URL]",
}

#: Matches any placeholder, e.g. to skip them when extracting keywords.
PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))

def _wordset(words: str) -> frozenset[str]:
    """Whitespace-separated word list -> set (keeps long Korean lists compact and readable)."""
    return frozenset(words.split())


# Ties between equally long spans go to the more specific detector.
_PRIORITY = {"email": 8, "url": 7, "rrn": 6, "card": 5, "phone": 4, "account": 3, "address": 2, "name": 1}
_MAX_PASSES = 4  # masking until nothing new is found; two passes are the most seen in practice


@dataclass(frozen=True)
class MaskSpan:
    """One masked region, with offsets into the ORIGINAL text (so callers can audit what was hidden)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Masked:
    """Result of masking one text: the safe text plus where and what was masked."""

    text: str
    spans: list[MaskSpan] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        """Distinct kinds masked, in order of first appearance (cheap per-text PII statistics)."""
        return list(dict.fromkeys(s.kind for s in self.spans))


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
_UNIT_ATTACHED = (
    r"(?:원|만|천|억|개|명|분|초|시|일|월|년|주|회|번(?!지)|차|층|%|％|퍼|세|살|배|대|권|장|병|잔|박|달|위|"
    r"등|점|건|통|가지|마리|켤레|벌|팩|봉|인분|km|kg|mg|ml|cm|mm|g(?![A-Za-z])|m(?![A-Za-z])|ea|EA)"
)
_UNIT = rf"(?:{_UNIT_ATTACHED}|[ \t](?:원|만[ \t]?원|개|일|시간|분|명|년|%)(?![가-힣]))"

_MOBILE_RE = re.compile(
    rf"{_LB}(?:{_P82}0?1[016789]|\(01[016789]\)|01[016789]\)?)"
    rf"{_OSEP}(?:\d{{3,4}}|[*xX]{{3,4}}){_OSEP}(?:\d{{4}}|[*xX]{{4}}){_RB}"  # 010-****-5678 too
)
_LANDLINE_RE = re.compile(
    rf"{_LB}(?:{_P82}(?:2|[3-6][1-5]|70)|(?P<p>\()?(?:02|0[3-6][1-5]|070|050[2-8]|080|060)(?(p)\)|\)?))"
    rf"{_OSEP}\d{{3,4}}{_OSEP}\d{{4}}{_RB}"
)
# 1588-1234 style nationwide business numbers: a separator is required, else too ambiguous.
_BIZ_RE = re.compile(rf"{_LB}1[568]\d{{2}}{_SEP}\d{{4}}{_RB}(?!{_UNIT})")

_RRN_RE = re.compile(
    rf"{_LB}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    rf"(?:[ \t]?[{_DASH}][ \t]?|[ \t])?[1-8*][\d*]{{6}}{_RB}"
)

# Front/back halves written apart ("앞자리 900101 뒷자리 1234567") count only next to an RRN word.
_RRN_FRONT_RE = re.compile(rf"{_LB}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]){_RB}")
_RRN_BACK_RE = re.compile(rf"{_LB}[1-8][\d*]{{6}}{_RB}")
_RRN_CONTEXT_RE = re.compile(r"주민|등록번호|외국인|생년월일|뒷자리|앞자리")

_G4 = r"(?:\d{4}|[*xX#]{4})"
_CARD_GROUPED_RE = re.compile(
    rf"{_LB}(?:{_G4}{_SEP}{_G4}{_SEP}{_G4}{_SEP}{_G4}(?:{_SEP}\d{{3}})?|\d{{4}}{_SEP}\d{{6}}{_SEP}\d{{4,5}}){_RB}"
)
_DIGIT_RUN_RE = re.compile(rf"(?<![A-Za-z_])(?<![A-Za-z][-_]){_LB}\d{{10,19}}{_RB}")
_CARD_CONTEXT_RE = re.compile(r"카드|card|CARD|신용|체크")

_CODE_LB = r"(?<![A-Za-z])(?<![A-Za-z][-_])"  # not the numeric tail of a code like 1AA-1707-231958
_ACCT_HYPHEN_RE = re.compile(rf"{_CODE_LB}{_LB}\d{{2,6}}(?:[{_DASH}]\d{{2,7}}){{1,4}}{_RB}(?!{_UNIT})")
_ACCT_SPACE_RE = re.compile(rf"{_CODE_LB}{_LB}\d{{2,6}}(?:[ \t]\d{{2,7}}){{1,4}}{_RB}(?!{_UNIT})")
# Group-length shapes used by Korean banks (국민 6-2-6, 신한 3-3-6, 우리 4-3-6, 하나 3-6-5, 농협 3-4-4-2,
# 기업 3-6-2-3, 카카오뱅크 4-2-7, ...): masked even without a bank word nearby.
_STRONG_ACCOUNT_SHAPES = frozenset(
    tuple(int(n) for n in shape.split("-"))
    for shape in _wordset("6-2-6 3-2-4-3 3-3-6 3-2-6 4-3-6 3-6-5 3-4-4-2 3-6-2-3 4-2-7 3-6-3 3-2-7 4-2-6")
)
_BANK_CONTEXT_RE = re.compile(
    r"국민(?!신문고|연금|권익|건강|청원|카드|의|이|을|들|적|께)|KB|kb|신한|우리|하나|농협|NH|nh|기업|IBK|ibk|"
    r"카카오|카뱅|토스|케이뱅크|케뱅|SC|제일|씨티|새마을|신협|우체국|수협|부산|대구|경남|광주|전북|제주|산업|저축|은행|계좌|입금|송금|이체|예금주|환불|뱅크"
)
_REFERENCE_LABEL_RE = re.compile(
    r"(?:주문|송장|운송장|접수|예약|문의|승인|거래|영수증|쿠폰|상품|모델|회원|고객|배송|반품|교환|티켓)"
    r"[ \t]?(?:번호|넘버|no\.?|NO\.?|#)[ \t]*(?:는|은|이|가|:|：|#)?[ \t]*$|운송장[ \t]*:?[ \t]*$|"
    r"(?:order|Order|ORDER)[ \t]?(?:no\.?|number|#)?[ \t]*:?[ \t]*$"
)

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*"
    r"(?:[ \t]?(?:@|＠|골뱅이|\(at\)|\[at\])[ \t]?)"
    r"(?:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}|(?:naver|daum|hanmail|gmail|kakao|nate|hotmail|"
    r"icloud|outlook|yahoo)(?![A-Za-z0-9.]))"
)
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'가-힣ㄱ-ㅎㅏ-ㅣ]+")
_SENSITIVE_KEY_RE = re.compile(
    r"token|auth|key|sess|sid|uid|user|member|mem_?no|email|mail|phone|tel|mobile|hp|name|otp|pw|pass|"
    r"sig|secret|ticket|jwt|code|cert|login|acct|account|birth|ssn",
    re.IGNORECASE,
)
_OPAQUE_VALUE_RE = re.compile(r"(?=[A-Za-z0-9_\-%.]*\d)(?=[A-Za-z0-9_\-%.]*[A-Za-z])[A-Za-z0-9_\-%.]{16,}")

# --------------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------------

# After a building/lot number: nothing Hangul but a particle or copula ("테헤란로 123에", not "10공구"),
# and no thousands separator or range ("5,000만원", "387~388").
_ADDR_TAIL = r"(?![,~∼]\d)(?=$|[^가-힣]|에|으로|이|은|는|을|를|요|입니다|이에요|이고|이며|의|까지|쪽|근처|앞)"
_ADDR_NUM = r"(?:산[ \t]?)?\d{1,5}(?:-\d{1,4})?"
_ROAD_RE = re.compile(
    rf"(?P<road>[가-힣]{{1,12}}?(?:[ \t]?\d{{1,4}}(?:번)?)?(?:로|길))"
    rf"[ \t]?(?P<num>{_ADDR_NUM}(?:[ \t]?번지)?)"
    rf"(?![0-9])(?!-\d)(?!{_UNIT})(?![ \t]?[동호가])(?!번?길|로)(?![.)][가-힣0-9]){_ADDR_TAIL}"
)
_LOT_RE = re.compile(
    rf"(?P<dong>[가-힣]{{1,6}}(?:동|리))[ \t]?"
    rf"(?P<num>(?:산[ \t]?)?(?:\d{{1,5}}-\d{{1,4}}|\d{{2,5}})(?:[ \t]?번지)?)"
    rf"(?![0-9])(?!-\d)(?!{_UNIT})(?![ \t]?[동호가])(?![.)][가-힣0-9]){_ADDR_TAIL}"
)
# "맛집 1번지"/"유머1번지" are idioms: a bare 번지 needs two digits or a lot-hyphen and a space before.
_BUNJI_RE = re.compile(r"(?<![0-9가-힣\-])(?:산[ \t]?)?(?:\d{1,5}-\d{1,4}|\d{2,5})[ \t]?번지")
_APT_RE = re.compile(
    r"(?<![0-9\-])(?:\d{1,4}|(?<![A-Za-z])[A-Za-z])[ \t]?동[ \t]?\d{1,5}[ \t]?호(?:실)?|"
    r"(?<![0-9\-])(?<!제)(?<!제 )(?!19\d\d-|20\d\d-)\d{2,4}-\d{2,5}호(?:실)?"
)
_HO_RE = re.compile(r"(?<![0-9\-])(?<!제)(?<!제 )\d{3,5}[ \t]?호(?:실)?(?![선점기차관텔수환칭])")
_DONG_ALONE_RE = re.compile(r"(?<![0-9\-])\d{2,4}[ \t]?동(?![가-힣])")
_ADDR_CONTEXT_RE = re.compile(
    r"아파트|빌라|오피스텔|맨션|빌딩|타워|하우스|주택|원룸|투룸|기숙사|주소|배송지|현관|단지|자이|래미안|푸르지오|"
    r"힐스테이트|e편한|아이파크|더샵|롯데캐슬|배달|배송|택배|문[ \t]?앞|호수"
)
_DISTRICT_SUFFIXES = ("시", "도", "구", "군", "읍", "면", "동")
_METRO = _wordset("서울 부산 대구 인천 광주 대전 울산 세종 경기 제주 강원")
_ADDR_MERGE_GAP_RE = re.compile(r"[ \t,]*")

# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------

_SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄변채원천방공현"
    "함염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용예경봉태목형계피두감음빈온범좌갈단견"
    "당팽승빙엽판"
)
# Syllables common in Korean given names. Chunks Kiwi does not know as a proper noun must be spelled
# with these to count as a name: this keeps slang and typos (남사친, 로딩중, 제직자) unmasked.
_GIVEN_SYLLABLES = frozenset(
    "가각갑강건걸겸경계고곤공관광교구국군권규균근금기길나낙난남노누늘다단달담대덕도돈동두득라란람랑래량려련"
    "렬령례로록론룡루류륜률륭름리린림마만매면명모목몽무문미민바박반발방배백범법벽별병보복본봄봉부분비빈빛사산"
    "삼상새샘서석선설섭성세소솔송수숙순술숭슬승시식신실심아안애야양언엄여연열염엽영예오옥온완왕요용우욱운울"
    "웅원월위유육윤율융은을음응의이익인일임자장재전정제조종주준중지진찬창채천철청초총추춘충치칠태택평표풍필"
    "하학한함해행향헌혁현형혜호홍화환활황회효후훈휘흠흥희"
)
_COMPOUND_SURNAMES = _wordset("남궁 황보 제갈 선우 독고 사공 서문 동방")
# Proper nouns that precede titles/copulas in customer text but are places, couriers, banks or brands.
_NAME_STOP = _wordset(
    """
    서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 충북 충남 전북 전남 경북 경남 제주 제주도 서귀포
    강남 강북 강서 강동 송파 서초 마포 용산 양천 구로 금천 영등포 동작 관악 서대문 은평 종로 중구 성동 광진
    동대문 중랑 성북 도봉 노원 성남 수원 고양 용인 김포 김해 구미 하남 안산 안양 부천 남양주 시흥 오산
    이천 안성 구리 양주 여주 원주 강릉 천안 전주 목포 여수 경주 진주 양산 김천 문경 안동 정읍 남원 공주
    제천 태백 홍천 진천 마산 일산 분당 판교 동탄 송도 성수 홍대 신촌 명동 이태원 강남역 해운대 한국 대한
    한진 로젠 우체국 대한통운 경동 합동 천일 일양 건영 대신 한샘 현대 기아 삼성 신세계 롯데 이마트
    하이마트 홈플러스 하나 우리 신한 국민 농협 기업 카카오 네이버 쿠팡 배민 요기요 지마켓 옥션 무신사
    올리브영 다이소 코스트코 스타벅스 애플 구글 유플러스 정관장 오뚜기 남양 동원 조선 한솔 한화 한빛
    신라 고려 이케아 노브랜드 정부 국세청 고객 회원 상담 본인 담당 저희 당신 여기 거기 저기 오늘 내일 어제
    백화점 전자 마트 한전 환우 성도 예수 부처 주님 신도 교우 학우 전우 동지 형제 자매 여자 남자 임대 정의당
    서구 동구 남구 북구 중구
    """
)
# Chunks ending like an institution or a place (서울대, 정의당, 공제회, 고양시, 예천군) are not names;
# 서초구/서초동/경기도 are caught by their stem being in _NAME_STOP.
_NON_NAME_ENDINGS = frozenset("대당회청처위관점시군읍면")
_INSTITUTION_SUFFIXES = frozenset("실소팀부점과국청원사장처반층관센터서측님씨분들차선기")
# Words that end in 님 without being "<name>님".
_NIM_WORDS = tuple(_wordset("손님 하느님 하나님 임금님 부처님 형님 누님 사모님 따님 아드님 햇님 달님"))
# A bare "…입니다/…이에요" is a self-introduction only at the start of a turn or after a greeting/role.
_INTRO_LEAD_RE = re.compile(
    r"(?:^|[.!?~^,\n]|저는|전|제가|나는|난|저|네|예|안녕하세요|안녕하십니까|반갑습니다|상담원|상담사|담당자|"
    r"매니저|팀장|기사|고객센터|ㅎㅇ|하이)[ \t]*$"
)
_TITLE_RE = re.compile(
    r"고객님|회원님|상담원|상담사|기사님|매니저|선생님|간호사|주무관|이사장|본부장|위원장|대통령|변호사|전도사|"
    r"팀장|과장|대리|부장|실장|차장|주임|점장|원장|사장|대표|교수|회장|소장|국장|청장|장관|총장|의원|후보|기자|"
    r"작가|감독|선수|박사|목사|장로|집사|권사|신부|수녀|스님|단장|선장|총리|교장|교감|약사|강사|코치|고객|기사|"
    r"선생|님|씨"
)
_SOFT_TITLES = frozenset({"님", "씨"})  # given names alone ("민수님") are allowed before these
_INTRO_RE = re.compile(
    r"입니다|이에요|예요|이구요|이고요|이라고[ \t]?합니다|라고[ \t]?합니다|이라고[ \t]?해요|라고[ \t]?해요|"
    r"이라고요|라고요"
)
_TRIGGER_RE = re.compile(
    r"(?:제[ \t]?)?(?:이름|성함|예금주|수령인|수취인|받는[ \t]?(?:분|사람)|주문자|예약자|신청자|"
    r"보내는[ \t]?(?:분|사람)|담당자|입금자|상담원|상담사|매니저|팀장|과장|대리|기사님|기사)"
    r"(?:명|은요|는요|은|는|이|가|님은|님)?[ \t]*[:：]?[ \t]*"
)
# What may follow a name in the forward (label-first) direction.
_NAME_TAIL_RE = re.compile(
    r"(?:입니다|입니당|이에요|예요|이구요|이고요|이고|고요|구요|이요|요|이라고|라고|이며|이랑|랑|으로|로|님|씨|"
    r"고객|이가|가|은|는|을|를|의|께|에게|한테|이십니다|십니다|임|이여|이야|야|이구|고)"
)
_HANGUL_RE = re.compile(r"[가-힣]+")
# Texts without any of these cannot produce a Kiwi-dependent detection.
_NEEDS_TOKENS_RE = re.compile(
    "|".join(["[0-9@]", "www", "http", _TITLE_RE.pattern, _INTRO_RE.pattern, _TRIGGER_RE.pattern])
)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


class _Tokens:
    """Kiwi tokens of one text, indexed for the lookups the name/address rules need."""

    __slots__ = ("toks", "starts", "ends", "cover")

    def __init__(self, text: str, tokens: Iterable[kiwipiepy.Token] | None) -> None:
        self.toks: list[tuple[int, int, str, bool]] = []
        self.starts: set[int] = set()
        self.ends: set[int] = set()
        self.cover: list[int] = [-1] * len(text)
        for tok in tokens or ():
            start, end = tok.start, tok.end
            idx = len(self.toks)
            self.toks.append((start, end, tok.tag, bool(tok.oov)))
            self.starts.add(start)
            self.ends.add(end)
            for i in range(start, min(end, len(text))):
                if self.cover[i] < 0:
                    self.cover[i] = idx

    def at(self, pos: int) -> tuple[int, int, str, bool] | None:
        """Token covering character ``pos``."""
        if 0 <= pos < len(self.cover) and self.cover[pos] >= 0:
            return self.toks[self.cover[pos]]
        return None

    def inside_oov(self, pos: int) -> bool:
        tok = self.at(pos)
        return tok is not None and tok[3] and tok[0] < pos

    def within(self, start: int, end: int) -> list[tuple[int, int, str, bool]]:
        """Tokens overlapping [start, end)."""
        seen: dict[int, None] = {}
        for i in range(start, min(end, len(self.cover))):
            if self.cover[i] >= 0:
                seen.setdefault(self.cover[i])
        return [self.toks[i] for i in seen]


def _overlaps(a0: int, a1: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(a0 < b1 and b0 < a1 for b0, b1 in spans)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Text with the given spans replaced by spaces (same length), for context look-ups."""
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


_BREAK_RE = re.compile(r"\n|[.!?。][ \t]")


def _around(ctx: str, s: int, e: int, before: int, after: int) -> str:
    """Context words on both sides of ``ctx[s:e]``, not reaching past a line or sentence break."""
    left = ctx[max(0, s - before) : s]
    right = ctx[e : e + after]
    breaks = list(_BREAK_RE.finditer(left))
    if breaks:
        left = left[breaks[-1].end() :]
    cut = _BREAK_RE.search(right)
    if cut:
        right = right[: cut.start()]
    return left + " " + right


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def _valid_date8(d: str) -> bool:
    return len(d) == 8 and d[:2] in ("19", "20") and "01" <= d[4:6] <= "12" and "01" <= d[6:8] <= "31"


# --------------------------------------------------------------------------------------------------
# The masker
# --------------------------------------------------------------------------------------------------


class PiiMasker:
    """Masks personal data in Korean customer text with typed placeholders (see module docstring)."""

    def __init__(self, kiwi: kiwipiepy.Kiwi | None = None, kinds: Iterable[str] | None = None) -> None:
        """``kinds`` limits which detectors run (default: all of :data:`KINDS`). Without ``kiwi`` the
        process-wide :func:`pipeline.text.korean.shared_kiwi` is used, so no second model is loaded."""
        selected = tuple(KINDS if kinds is None else dict.fromkeys(kinds))
        unknown = [k for k in selected if k not in PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown PII kinds {unknown}; choose from {list(KINDS)}")
        self.kinds: frozenset[str] = frozenset(selected)
        # Kiwi is only needed for names and addresses; skip loading it otherwise.
        self._needs_kiwi = bool(self.kinds & {"name", "address"})
        self._kiwi: kiwipiepy.Kiwi | None = None
        if self._needs_kiwi:
            self._kiwi = kiwi if kiwi is not None else shared_kiwi()
        self._word_cache: dict[str, bool] = {}

    # -- public API ---------------------------------------------------------------------------------

    def mask(self, text: str) -> Masked:
        """Mask one text; spans point into ``text``."""
        return self.mask_many([text])[0]

    def mask_many(self, texts: Sequence[str]) -> list[Masked]:
        """Mask a batch; Kiwi analyses the whole batch in one call, which is several times faster."""
        texts = list(texts)
        spans: list[list[MaskSpan]] = [[] for _ in texts]
        current = list(texts)
        todo = list(range(len(texts)))
        for _ in range(_MAX_PASSES):
            if not todo:
                break
            tokens = self._tokenize([current[i] for i in todo])
            still: list[int] = []
            for i, toks in zip(todo, tokens, strict=True):
                found = self._detect(current[i], toks)
                if not found:
                    continue
                spans[i] = sorted(spans[i] + self._to_original(found, spans[i]), key=lambda s: s.start)
                current[i] = self._apply(texts[i], spans[i])
                still.append(i)
            todo = still
        return [Masked(current[i], spans[i]) for i in range(len(texts))]

    # -- internals ----------------------------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> list[_Tokens]:
        """Kiwi tokens, computed only for texts where a name or address rule could fire (Kiwi is ~90%
        of the cost; texts with no digit and no title/introduction anchor skip it)."""
        if self._kiwi is None:
            return [_Tokens(t, None) for t in texts]
        need = [i for i, t in enumerate(texts) if _NEEDS_TOKENS_RE.search(t)]
        analysed = dict(zip(need, self._kiwi.tokenize([texts[i] for i in need]), strict=True))
        return [_Tokens(t, analysed.get(i)) for i, t in enumerate(texts)]

    @staticmethod
    def _apply(text: str, spans: list[MaskSpan]) -> str:
        out: list[str] = []
        pos = 0
        for sp in spans:
            out.append(text[pos : sp.start])
            out.append(PLACEHOLDERS[sp.kind])
            pos = sp.end
        out.append(text[pos:])
        return "".join(out)

    @staticmethod
    def _to_original(found: list[MaskSpan], applied: list[MaskSpan]) -> list[MaskSpan]:
        """Map spans found in already-masked text back to offsets in the original text."""
        if not applied:
            return found

        def back(pos: int) -> int:
            shift = 0
            for sp in applied:
                cur_start = sp.start + shift
                if pos <= cur_start:
                    break
                shift += len(PLACEHOLDERS[sp.kind]) - (sp.end - sp.start)
            return pos - shift

        return [MaskSpan(s.kind, back(s.start), back(s.end)) for s in found]

    def _detect(self, text: str, toks: _Tokens) -> list[MaskSpan]:
        if not text:
            return []
        protected = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)]
        ctx = _blank(text, protected) if protected else text
        cands: list[tuple[int, int, str]] = []
        k = self.kinds
        urls = self._urls(text, toks)
        if "email" in k:
            cands += self._emails(text, toks)
        if "url" in k:
            cands += self._url_queries(text, urls)
        if "phone" in k:
            cands += self._phones(text)
        refs = self._reference_numbers(ctx)
        if "rrn" in k:
            cands += self._rrns(text, ctx, refs)
        if "card" in k:
            cands += self._cards(text, ctx, refs + urls)
        soft_block = protected + [(s, e) for s, e in urls]
        if "account" in k:
            cands += [c for c in self._accounts(text, ctx, refs) if not _overlaps(c[0], c[1], soft_block)]
        if "address" in k:
            cands += [c for c in self._addresses(text, ctx, toks) if not _overlaps(c[0], c[1], soft_block)]
        if "name" in k:
            cands += [c for c in self._names(text, toks) if not _overlaps(c[0], c[1], soft_block)]
        cands = [c for c in cands if c[1] > c[0] and not _overlaps(c[0], c[1], protected)]
        return self._resolve(text, cands)

    @staticmethod
    def _finditer(rx: re.Pattern[str], text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in rx.finditer(text)]

    @staticmethod
    def _resolve(text: str, cands: list[tuple[int, int, str]]) -> list[MaskSpan]:
        """Longest span wins; equal lengths go to the more specific kind; adjacent address parts merge."""
        chosen: list[tuple[int, int, str]] = []
        for s, e, kind in sorted(cands, key=lambda c: (c[0] - c[1], -_PRIORITY[c[2]], c[0])):
            if not _overlaps(s, e, ((a, b) for a, b, _ in chosen)):
                chosen.append((s, e, kind))
        chosen.sort()
        merged: list[tuple[int, int, str]] = []
        for s, e, kind in chosen:
            if merged and kind == "address" and merged[-1][2] == "address":
                ps, pe, _ = merged[-1]
                gap = _ADDR_MERGE_GAP_RE.fullmatch(text, pe, s)
                if gap is not None:
                    merged[-1] = (ps, e, kind)
                    continue
            merged.append((s, e, kind))
        return [MaskSpan(kind, s, e) for s, e, kind in merged]

    # -- structured identifiers ---------------------------------------------------------------------

    @staticmethod
    def _urls(text: str, toks: _Tokens) -> list[tuple[int, int]]:
        found = {(m.start(), m.end()) for m in _URL_RE.finditer(text)}
        found |= {(s, e) for s, e, tag, _ in toks.toks if tag == "W_URL"}
        return sorted(found)

    @staticmethod
    def _url_queries(text: str, urls: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
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
                if (value and _SENSITIVE_KEY_RE.search(key)) or _OPAQUE_VALUE_RE.fullmatch(value or key):
                    sensitive = True
                    break
                if value and (_EMAIL_RE.search(value) or _MOBILE_RE.search(value)):
                    sensitive = True
                    break
            if sensitive:
                out.append((s + q + 1, s + len(url), "url"))
        return out

    @staticmethod
    def _emails(text: str, toks: _Tokens) -> list[tuple[int, int, str]]:
        out = [(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text)]
        out += [(s, e, "email") for s, e, tag, _ in toks.toks if tag == "W_EMAIL"]
        return out

    @staticmethod
    def _phones(text: str) -> list[tuple[int, int, str]]:
        out = []
        for rx in (_MOBILE_RE, _LANDLINE_RE, _BIZ_RE):
            for m in rx.finditer(text):
                if sum(ch.isdigit() for ch in m.group()) >= 4:  # "010-****-****" has no data left
                    out.append((m.start(), m.end(), "phone"))
        return out

    @staticmethod
    def _reference_numbers(ctx: str) -> list[tuple[int, int]]:
        """Digit runs labelled as order/tracking/reference numbers: kept, not treated as RRN/account."""
        out = []
        for m in re.finditer(r"[A-Za-z]{0,4}\d[\d\-]*\d", ctx):
            if _REFERENCE_LABEL_RE.search(ctx, max(0, m.start() - 12), m.start()):
                out.append((m.start(), m.end()))
        return out

    @staticmethod
    def _rrns(text: str, ctx: str, refs: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        out = []
        for m in _RRN_RE.finditer(text):
            s, e = m.start(), m.end()
            if _overlaps(s, e, refs):
                continue
            if e - s == 13 and m.group().isdigit():
                # A bare 13-digit run next to a bank word is an account (우리 1002123456789), not an RRN.
                window = _around(ctx, s, e, 25, 15)
                if _BANK_CONTEXT_RE.search(window) and not _RRN_CONTEXT_RE.search(window):
                    continue
            out.append((s, e, "rrn"))
        for rx in (_RRN_FRONT_RE, _RRN_BACK_RE):
            for m in rx.finditer(text):
                s, e = m.start(), m.end()
                if not _overlaps(s, e, refs) and _RRN_CONTEXT_RE.search(_around(ctx, s, e, 30, 0)):
                    out.append((s, e, "rrn"))
        return out

    @staticmethod
    def _cards(text: str, ctx: str, skip: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        """Grouped 4-4-4-4 (also partly starred) always; bare 13-19 digit runs when Luhn-valid or next
        to a card word, unless they are reference numbers or part of a URL (news ids, timestamps)."""
        out = []
        for m in _CARD_GROUPED_RE.finditer(text):
            if sum(ch.isdigit() for ch in m.group()) >= 4:
                out.append((m.start(), m.end(), "card"))
        for m in _DIGIT_RUN_RE.finditer(text):
            d = m.group()
            if _overlaps(m.start(), m.end(), skip) or not 13 <= len(d) <= 19:
                continue
            near_card = _CARD_CONTEXT_RE.search(_around(ctx, m.start(), m.end(), 20, 0)) is not None
            if luhn_ok(d) or (near_card and 14 <= len(d) <= 16):
                out.append((m.start(), m.end(), "card"))
        return out

    @staticmethod
    def _accounts(text: str, ctx: str, refs: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        out = []

        def near_bank(s: int, e: int) -> bool:
            return _BANK_CONTEXT_RE.search(_around(ctx, s, e, 25, 15)) is not None

        for rx, shaped in ((_ACCT_HYPHEN_RE, True), (_ACCT_SPACE_RE, False), (_DIGIT_RUN_RE, False)):
            for m in rx.finditer(text):
                s, e = m.start(), m.end()
                if _overlaps(s, e, refs):
                    continue
                groups = tuple(len(g) for g in re.findall(r"\d+", m.group()))
                # A leading YYYYMMDD is a timestamped order/transaction id (20261021-000123), not an account.
                if not 10 <= sum(groups) <= 14 or (groups[0] >= 8 and _valid_date8(_digits(m.group())[:8])):
                    continue
                if (shaped and groups in _STRONG_ACCOUNT_SHAPES) or near_bank(s, e):
                    out.append((s, e, "account"))
        return out

    # -- addresses ----------------------------------------------------------------------------------

    def _addresses(self, text: str, ctx: str, toks: _Tokens) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        districts = _district_ends(text, toks)

        def district_near(pos: int) -> bool:
            return any(0 <= pos - e <= 40 and not _BREAK_RE.search(text, e, pos) for e in districts)

        for m in _ROAD_RE.finditer(text):
            road_end = m.end("road")
            tok = toks.at(road_end - 1)
            if tok is not None and tok[2][0] in "MV":  # 그대로 (adverb), 보내로 ...
                continue
            particle = tok is not None and tok[2][0] in "JE"
            named = tok is not None and (tok[2] == "NNP" or tok[3])
            shaped = re.search(r"(?:대로|번길|\d길)$", m.group("road")) is not None
            if (not particle and (named or shaped)) or district_near(m.start("road")):
                out.append((m.start("num"), m.end("num"), "address"))
        for m in _LOT_RE.finditer(text):
            if m.start("num") == m.end("dong") and not re.search(r"-|번지", m.group("num")):
                continue  # "디즈레일리23": a glued plain number is not a lot number
            tok = toks.at(m.end("dong") - 1)
            named = tok is not None and (tok[2] == "NNP" or tok[3]) and tok[2][0] not in "JE"
            if named or (district_near(m.start("dong")) and tok is not None and tok[2][0] not in "JEV"):
                out.append((m.start("num"), m.end("num"), "address"))
        out += [(s, e, "address") for s, e in self._finditer(_BUNJI_RE, text)]
        out += [(s, e, "address") for s, e in self._finditer(_APT_RE, text)]
        for rx in (_HO_RE, _DONG_ALONE_RE):
            for m in rx.finditer(text):
                s = m.start()
                around = _around(ctx, s, m.end(), 40, 12)
                if _ADDR_CONTEXT_RE.search(around) or any(0 <= s - e <= 15 for _, e, _k in out):
                    out.append((s, m.end(), "address"))
        return out

    # -- names --------------------------------------------------------------------------------------

    def _names(self, text: str, toks: _Tokens) -> list[tuple[int, int, str]]:
        out: list[tuple[int, int, str]] = []
        # Backward: a name immediately before a title/honorific or a self-introduction copula.
        title_ends = {m.end() for m in _TITLE_RE.finditer(text) if len(m.group()) > 1}
        for rx, is_title in ((_TITLE_RE, True), (_INTRO_RE, False)):
            for m in rx.finditer(text):
                p, q = m.start(), m.end()
                if is_title and p in title_ends:  # the 님 of 회장님/상담원님 belongs to the title
                    continue
                if not (p in toks.starts or toks.inside_oov(p)):
                    continue
                if is_title and not (q in toks.ends or toks.inside_oov(q - 1) or q == len(text)):
                    continue
                if is_title and text.endswith(_NIM_WORDS, 0, q):
                    continue
                end = p - 1 if p > 0 and text[p - 1] in " \t" else p
                if end <= 0 or not ("가" <= text[end - 1] <= "힣"):
                    continue
                run_start = end
                while run_start > 0 and "가" <= text[run_start - 1] <= "힣":
                    run_start -= 1
                soft = is_title and m.group() in _SOFT_TITLES and end == p
                for length in (4, 3, 2) if is_title else (4, 3):
                    s = end - length
                    if s < run_start or not (s == run_start or _after_ending(toks, s)):
                        continue
                    if not is_title and not _INTRO_LEAD_RE.search(text, max(0, s - 12), s):
                        continue
                    if self._name_ok(text, toks, s, end, allow_given=soft, allow_split=is_title):
                        out.append((s, end, "name"))
                        break
        # Contact details: a name written right before a phone number or an e-mail ("황경수, 010…").
        for rx in (_MOBILE_RE, _LANDLINE_RE, _EMAIL_RE):
            for m in rx.finditer(text):
                end = m.start()
                while end > 0 and text[end - 1] in " \t,/:":
                    end -= 1
                start = end
                while start > 0 and "가" <= text[start - 1] <= "힣":
                    start -= 1
                at_word_start = start == 0 or not text[start - 1].isalnum()
                if 2 <= end - start <= 4 and at_word_start and self._name_ok(text, toks, start, end):
                    out.append((start, end, "name"))
        # Forward: a name right after a label ("제 이름은 …", "예금주 …", "상담원 …").
        for m in _TRIGGER_RE.finditer(text):
            s = m.end()
            if s >= len(text) or not ("가" <= text[s] <= "힣"):
                continue
            run = _HANGUL_RE.match(text, s)
            assert run is not None
            run_end = run.end()
            best: tuple[int, int] | None = None
            for length in (4, 3, 2):
                e = s + length
                if e > run_end:
                    continue
                nxt = toks.at(e)
                clean = e == run_end or (e in toks.starts and nxt is not None and nxt[2][:1] in "JEVX")
                tail_ok = clean or _NAME_TAIL_RE.match(text, e) is not None
                if not tail_ok:
                    continue
                if self._name_ok(text, toks, s, e, allow_given=True, allow_cross=not clean):
                    if clean:
                        best = (s, e)
                        break
                    best = best or (s, e)
            if best is not None:
                out.append((best[0], best[1], "name"))
        return out

    def _dictionary_word(self, cand: str) -> bool:
        """Kiwi, reading the chunk on its own, finds one ordinary dictionary word (여자, 임대, 정비소).

        Used for chunks that Kiwi glued into an unknown word in context ("여자상담원"); a split into
        several pieces (한지+민, 이/수/민) is inconclusive, since that is how Kiwi reads unknown names.
        """
        hit = self._word_cache.get(cand)
        if hit is None:
            toks = self._kiwi.tokenize(cand) if self._kiwi is not None else []
            hit = len(toks) == 1 and not toks[0].oov and toks[0].tag != "NNP" and toks[0].len == len(cand)
            if len(self._word_cache) < 50_000:
                self._word_cache[cand] = hit
        return hit

    def _name_ok(
        self,
        text: str,
        toks: _Tokens,
        s: int,
        e: int,
        *,
        allow_given: bool = False,
        allow_cross: bool = False,
        allow_split: bool = False,
    ) -> bool:
        """Is text[s:e] plausibly a person's name according to its shape and Kiwi's analysis?"""
        cand = text[s:e]
        if not 2 <= len(cand) <= 4 or not all("가" <= ch <= "힣" for ch in cand) or cand in _NAME_STOP:
            return False
        if cand[-1] in _NON_NAME_ENDINGS or (cand[-1] in "구동도" and cand[:-1] in _NAME_STOP):
            return False
        inner = toks.within(s, e)
        if not inner:
            return False
        split = allow_split and _split_name(cand, inner, s, e)
        if not split:
            has_proper = False
            for ts, te, tag, oov in inner:
                crosses = ts < s or te > e
                if crosses and not oov and not allow_cross:
                    return False
                functional = tag[0] in "JEVM" or tag in ("IC", "NP", "NR", "XR") or tag.startswith("W_")
                if functional and not crosses:
                    return False
                if tag == "NNP" or oov:
                    has_proper = True
            if not has_proper:
                return False
        # Kiwi's dictionary knows this exact chunk as a proper noun (김민수, 민수): trust it.
        known = len(inner) == 1 and inner[0] == (s, e, "NNP", False)
        if not known and not split and self._dictionary_word(cand):
            return False
        if cand[:2] in _COMPOUND_SURNAMES:
            return 3 <= len(cand) <= 4 and (known or _given_ok(cand[2:]))
        if cand[0] in _SURNAMES and len(cand) <= 3:
            return known or _given_ok(cand[1:])
        # A given name alone ("민수님"): a two-syllable dictionary proper noun spelled like a name.
        return allow_given and known and len(cand) == 2 and _given_ok(cand)


def _given_ok(syllables: str) -> bool:
    return all(ch in _GIVEN_SYLLABLES for ch in syllables)


def _after_ending(toks: _Tokens, pos: int) -> bool:
    """A chunk glued to the previous word may start a name only after an ending or particle
    (안녕하세요김민수입니다), never in the middle of a word (필리피노 선생님 is not 리피노)."""
    prev = toks.at(pos - 1)
    return pos in toks.starts and prev is not None and prev[1] == pos and prev[2][:1] in "EJ"


def _split_name(cand: str, inner: list[tuple[int, int, str, bool]], s: int, e: int) -> bool:
    """Kiwi sometimes splits an unknown 3-syllable name into common nouns (한지민 → 한지+민) or into
    three one-syllable pieces (이수진 → 이/MM 수/NNB 진/XPN), depending on the surrounding text.

    Accept that only before a title, when the pieces tile the chunk exactly; a noun split must not end
    in an institutional suffix (정비+소, 민원+실, 전산+팀 stay unmasked).
    """
    if len(cand) != 3 or cand[0] not in _SURNAMES or len(inner) < 2:
        return False
    if inner[0][0] != s or inner[-1][1] != e:
        return False
    if all(t[2] == "NNG" for t in inner):
        return inner[-1][1] - inner[-1][0] == 1 and cand[-1] not in _INSTITUTION_SUFFIXES
    return len(inner) == 3 and all(t[2][0] not in "JE" and not t[2].startswith("W_") for t in inner)


def _district_ends(text: str, toks: _Tokens) -> list[int]:
    """End offsets of administrative place names (서울시, 강남구, 역삼동, 서울) in the text."""
    out = []
    for s, e, tag, oov in toks.toks:
        if (tag == "NNP" or oov) and e - s >= 2:
            form = text[s:e]
            if form.endswith(_DISTRICT_SUFFIXES) or form in _METRO or form.endswith(("특별시", "광역시")):
                out.append(e)
    return out
