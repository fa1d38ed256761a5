"""Finding customers' and agents' names in Korean text, for :class:`pipeline.text.pii.masker.PiiMasker`.

A name is a 2-4 syllable Hangul chunk right next to an anchor: before an honorific/title (고객님, 상담원,
님, 씨, 팀장 ...), before a turn-initial self-introduction ("안녕하세요 김민수입니다"), after a label ("제
이름은", "예금주", "수령인"), or right before a phone number or e-mail. It must start with a family name
(or be a two-syllable dictionary proper noun before 님/씨: "민수님"), and Kiwi must read it as a proper
noun or an unknown word; chunks Kiwi knows as common nouns (배송기사님, 상담원님, 고객님) never are names.
Unknown chunks must also be spelled with common given-name syllables, which keeps internet slang and
typos out (남사친님, 로딩중이에요).

Once a name is found, its other mentions in the same text are names too, bare or with a particle
(:meth:`NameFinder.mentions`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import kiwipiepy

from pipeline.text.pii.patterns import EMAIL_RE, LANDLINE_RE, MOBILE_RE, wordset
from pipeline.text.pii.tokens import KiwiTokens, TokenInfo

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
_COMPOUND_SURNAMES = wordset("남궁 황보 제갈 선우 독고 사공 서문 동방")
# Proper nouns that precede titles/copulas in customer text but are places, couriers, banks or brands.
_NAME_STOP = wordset(
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
_NIM_WORDS = tuple(wordset("손님 하느님 하나님 임금님 부처님 형님 누님 사모님 따님 아드님 햇님 달님"))
# A bare "…입니다/…이에요" is a self-introduction only at the start of a turn or after a greeting/role.
_INTRO_LEAD_RE = re.compile(
    r"(?:^|[.!?~^,\n]|저는|전|제가|나는|난|저|네|예|안녕하세요|안녕하십니까|반갑습니다|상담원|상담사|담당자|"
    r"매니저|팀장|기사|고객센터|ㅎㅇ|하이)[ \t]*$"
)
TITLE_RE = re.compile(
    r"고객님|회원님|상담원|상담사|기사님|매니저|선생님|간호사|주무관|이사장|본부장|위원장|대통령|변호사|전도사|"
    r"팀장|과장|대리|부장|실장|차장|주임|점장|원장|사장|대표|교수|회장|소장|국장|청장|장관|총장|의원|후보|기자|"
    r"작가|감독|선수|박사|목사|장로|집사|권사|신부|수녀|스님|단장|선장|총리|교장|교감|약사|강사|코치|고객|기사|"
    r"선생|님|씨"
)
_SOFT_TITLES = frozenset({"님", "씨"})  # given names alone ("민수님") are allowed before these
SELF_INTRODUCTION_RE = re.compile(
    r"입니다|이에요|예요|이구요|이고요|이라고[ \t]?합니다|라고[ \t]?합니다|이라고[ \t]?해요|라고[ \t]?해요|"
    r"이라고요|라고요"
)
NAME_LABEL_RE = re.compile(
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
# What may follow another mention of a name found in the same text: a hypocoristic 이 (지훈이가), a title,
# then up to two particles or a copula ("민수가", "김민수한테도", "지훈이는", "홍길동이에요").
_PARTICLE = (
    r"(?:가|이|은|는|을|를|의|도|만|께|께서|에게|에게서|한테|한테서|랑|이랑|하고|와|과|요|야|여|고|로|으로|"
    r"처럼|보다|까지|부터|에요|예요|이에요|입니다|이었|였|라고|이라고)"
)
_MENTION_TAIL_RE = re.compile(rf"이?(?:님|씨)?{_PARTICLE}{{0,2}}")


# Bounds the per-masker memo of "is this chunk one dictionary word" look-ups.
_WORD_CACHE_LIMIT = 50_000


class NameFinder:
    """Name detection over Kiwi tokens; keeps a memo of Kiwi's reading of candidate chunks on their own."""

    def __init__(self, kiwi: kiwipiepy.Kiwi) -> None:
        self._kiwi = kiwi
        self._word_cache: dict[str, bool] = {}

    def find(self, text: str, toks: KiwiTokens) -> list[tuple[int, int, str]]:
        """``(start, end, "name")`` candidates in ``text``; ``toks`` is Kiwi's analysis of that text."""
        out: list[tuple[int, int, str]] = []
        # Backward: a name immediately before a title/honorific or a self-introduction copula.
        title_ends = {m.end() for m in TITLE_RE.finditer(text) if len(m.group()) > 1}
        for rx, is_title in ((TITLE_RE, True), (SELF_INTRODUCTION_RE, False)):
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
        for rx in (MOBILE_RE, LANDLINE_RE, EMAIL_RE):
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
        for m in NAME_LABEL_RE.finditer(text):
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

    def mentions(self, text: str, names: Iterable[str]) -> list[tuple[int, int, str]]:
        """Every mention in ``text`` of names already found: the full name, and the given name alone
        (민수가, 지훈이는), unless the form is also an ordinary word (하늘, 보람; 조국 "homeland"). A
        mention starts a word and is bare or followed by a particle, copula or title, so "민수용" or
        "하늘색" are not mentions.

        Once a name is known, its other mentions need no anchor of their own: "김민수 고객님 ...
        민수가 다시 전화" names the same person twice.
        """
        forms: set[str] = set()
        for name in names:
            given = name[2:] if name[:2] in _COMPOUND_SURNAMES else name[1:]
            candidates = [name, given] if len(name) >= 3 and len(given) >= 2 else [name]
            forms.update(form for form in candidates if not self._dictionary_word(form))
        out: list[tuple[int, int, str]] = []
        for form in sorted(forms, key=len, reverse=True):
            for m in re.finditer(re.escape(form), text):
                s, e = m.start(), m.end()
                if s > 0 and "가" <= text[s - 1] <= "힣":
                    continue
                word_end = _HANGUL_RE.match(text, e)
                if word_end is None or _MENTION_TAIL_RE.fullmatch(text, e, word_end.end()):
                    out.append((s, e, "name"))
        return out

    def whole_name(self, value: str) -> bool:
        """Is ``value`` (a field of a record, say) nothing but a person's full name (김민수, 남궁민수)?"""
        value = value.strip()
        if not 2 <= len(value) <= 4:
            return False
        toks = KiwiTokens(value, self._kiwi.tokenize(value))
        return self._name_ok(value, toks, 0, len(value), allow_split=True)

    def _dictionary_word(self, cand: str) -> bool:
        """Kiwi, reading the chunk on its own, finds one ordinary dictionary word (여자, 임대, 정비소).

        Used for chunks that Kiwi glued into an unknown word in context ("여자상담원"); a split into
        several pieces (한지+민, 이/수/민) is inconclusive, since that is how Kiwi reads unknown names.
        """
        hit = self._word_cache.get(cand)
        if hit is None:
            toks = self._kiwi.tokenize(cand)
            hit = len(toks) == 1 and not toks[0].oov and toks[0].tag != "NNP" and toks[0].len == len(cand)
            if len(self._word_cache) < _WORD_CACHE_LIMIT:
                self._word_cache[cand] = hit
        return hit

    def _name_ok(
        self,
        text: str,
        toks: KiwiTokens,
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
    """Spelled only with common given-name syllables."""
    return all(ch in _GIVEN_SYLLABLES for ch in syllables)


def _after_ending(toks: KiwiTokens, pos: int) -> bool:
    """A chunk glued to the previous word may start a name only after an ending or particle
    (안녕하세요김민수입니다), never in the middle of a word (필리피노 선생님 is not 리피노)."""
    prev = toks.at(pos - 1)
    return pos in toks.starts and prev is not None and prev[1] == pos and prev[2][:1] in "EJ"


def _split_name(cand: str, inner: list[TokenInfo], s: int, e: int) -> bool:
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
