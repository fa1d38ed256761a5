"""Korean analysis with Kiwi: sentences with offsets, keywords from morphemes, and the respaced text
the models read where a sentence runs its words together.

Keywords are nouns, roots, foreign words and verb/adjective stems (as dictionary forms, 늦다), plus
the negations that flip a complaint's meaning (안, 못, 아니다, 않다, 없다): a stop-word list that drops
those would turn "안 와요" into "오다". Typed masks such as [전화번호] are never keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import Any

from kiwipiepy import Kiwi

from pipeline.document import Sentence

NEGATIONS = frozenset({"안", "못", "아니다", "않다", "없다", "말다"})
# Connective endings (Kiwi EC) that set what follows against what came before:
# "다 좋은데 | 음질이 별로예요", "싸긴 하지만 | 금방 고장 나요". Kiwi writes the ㄴ of "-ㄴ데" as the
# final-consonant jamo, and often reads "-는데" as a modifier ending plus the bound noun 데 instead.
JAMO_N = "\u11ab"  # ᆫ
CONTRASTIVE_ENDINGS = frozenset(
    {"는데", "은데", JAMO_N + "데", "는데도", "은데도", JAMO_N + "데도", "지만", "으나"}
)
_PLACE_PARTICLES = ("JKS", "JKO", "JKB", "JKG", "VCP")  # "갈 데가 없다": 데 as "place"

STOPWORDS = frozenset(
    {
        # generic nouns and pronouns that say nothing about what hurts
        "것", "거", "수", "등", "때", "곳", "점", "데", "뭐", "이거", "그거", "저거", "여기", "거기", "저기",
        "이것", "그것", "저것", "나", "저", "제", "우리", "저희", "너", "자기", "분", "쪽", "번", "개", "중",
        "정도", "이번", "다음", "하나", "부분", "경우", "이유", "생각", "느낌", "얘기", "말", "진짜", "정말",
        # light verbs and adjectives that only carry grammar
        "하다", "있다", "같다", "이다", "보다", "주다", "싶다", "드리다",
        "그렇다", "이렇다", "어떻다", "많다", "좋다", "나다", "알다", "모르다", "쓰다", "들다", "시키다",
        # fillers of online Korean
        "ㅋㅋ", "ㅋㅋㅋ", "ㅎㅎ", "ㅎㅎㅎ", "ㅠㅠ", "ㅠㅠㅠ", "ㅜㅜ", "ㅜㅜㅜ",
    }
)
assert not NEGATIONS & STOPWORDS, "negations must never be stop words"

_NOUN_TAGS = frozenset({"NNG", "NNP", "XR", "SL", "SH"})
_PREDICATE_TAGS = frozenset({"VV", "VA", "VV-R", "VV-I", "VA-R", "VA-I", "VX", "VCN"})
_PLACEHOLDER = re.compile(r"\[[가-힣A-Za-z]{2,6}\]")
_WORD = re.compile("[가-힣]{2,}")

# Longer "sentences" (run-on text with no punctuation) are cut at spaces into pieces of about this
# many characters, so no part of a long text is truncated away by a model's token limit.
MAX_SENTENCE_CHARS = 300
# The models read a sentence respaced when Kiwi sets at least this many spaces per character in it.
RESPACE_MIN_SHARE = 0.1


@lru_cache(maxsize=1)
def shared_kiwi() -> Kiwi:
    """Kiwi takes seconds and hundreds of MB to load: one instance per process."""
    return Kiwi()


def morphemes_of(tokens: Iterable[Any]) -> list[str]:
    """Kiwi tokens as `form/tag` strings: what the lexical sentiment view (models/lexical.py) reads."""
    return [f"{t.form}/{t.tag}" for t in tokens]


def keyword_of(form: str, tag: str) -> str | None:
    """The keyword form of one morpheme, or None when it is not a keyword."""
    base_tag = tag.split("-")[0]
    if tag in _NOUN_TAGS:
        word = form.lower() if tag == "SL" else form
    elif form in ("안", "못") and base_tag == "MAG":
        word = form
    elif tag in _PREDICATE_TAGS or base_tag in ("VV", "VA"):
        word = form + "다"
        if tag == "VX" and word not in NEGATIONS:
            return None
    else:
        return None
    if word in NEGATIONS:
        return word
    if word in STOPWORDS or (len(word) < 2 and tag != "SL"):
        return None
    return word


def keywords_from_tokens(tokens: Sequence[Any], masked: Sequence[tuple[int, int]] = ()) -> list[str]:
    words = []
    for token in tokens:
        if _inside(token.start, masked):
            continue
        word = keyword_of(token.form, token.tag)
        if word:
            words.append(word)
    return words


class KoreanAnalyzer:
    """Splits masked texts into sentences with character offsets, keywords and a spacing-free form."""

    def __init__(self, kiwi: Kiwi | None = None):
        self.kiwi = kiwi or shared_kiwi()

    def sentences(self, texts: Sequence[str]) -> list[list[Sentence]]:
        results = self.kiwi.split_into_sents(list(texts), return_tokens=True)
        split = [self._to_sentences(text, sents) for text, sents in zip(texts, results, strict=True)]
        every = [sentence for group in split for sentence in group]
        for sentence, spaced in zip(every, self.respaced([s.text for s in every]), strict=True):
            sentence.spaced = spaced
        return split

    def respaced(self, texts: Sequence[str]) -> list[str]:
        """Kiwi's spacing of each text that runs its words together ("맘에들지않아요" → "맘에 들지 않아요"),
        "" for the others: what the models read instead of the text as written.

        The sentiment adapter and the encoder learned from spaced text, and many customers write without
        spaces. A text counts as run together when Kiwi sets at least one space per ten characters in it
        (RESPACE_MIN_SHARE); well-spaced texts are read as written, since Kiwi would respace most of them
        ("직원분들이" → "직원 분들이") for no gain. Figures: docs/evaluation.md#run-together-sentences;
        decision: docs/decisions/0006-respace-run-together-text.md.
        """
        spaced = list(self.kiwi.space(list(texts))) if texts else []
        return [new if new.count(" ") - old.count(" ") >= RESPACE_MIN_SHARE * len(old) else ""
                for old, new in zip(texts, spaced, strict=True)]

    def model_texts(self, texts: Sequence[str]) -> list[str]:
        """What the models read of each text, as `Sentence.model_text` for a sentence: for texts read
        back from the warehouse (a topic refit embeds stored pain sentences)."""
        return [spaced or text for text, spaced in zip(texts, self.respaced(texts), strict=True)]

    def _to_sentences(self, text: str, kiwi_sentences: Sequence[Any]) -> list[Sentence]:
        masked = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        sentences = []
        for kiwi_sentence in kiwi_sentences:
            for start, end in _pieces(text, kiwi_sentence.start, kiwi_sentence.end):
                tokens = [t for t in kiwi_sentence.tokens if start <= t.start < end]
                offsets = compact_offsets(text[start:end])
                forms = [" " if _inside(t.start, masked) else compact(t.form) for t in tokens]
                sentences.append(
                    Sentence(
                        index=len(sentences),
                        start=start,
                        end=end,
                        text=text[start:end],
                        keywords=keywords_from_tokens(tokens, masked),
                        compact=_blanked(compact(text[start:end]),
                                         [(offsets[max(a, start) - start], offsets[min(b, end) - start])
                                          for a, b in masked if a < end and b > start]),
                        morpheme_starts=frozenset(offsets[t.start - start] for t in tokens),
                        noun_spans=tuple((offsets[t.start - start], offsets[min(t.end, end) - start])
                                         for t in tokens if t.tag.startswith("NN")),
                        lemmas="".join(forms),
                        lemma_bounds=frozenset(accumulate((len(f) for f in forms), initial=0)),
                        morphemes=tuple(morphemes_of(tokens)),
                        contrast_tail=contrast_tail(text, tokens, end),
                        **denials(text, tokens, start, end),
                    )
                )
        return sentences

    def keywords(self, text: str) -> list[str]:
        """Keyword tokens of a whole text: the tokenizer BERTopic's vectorizer uses."""
        masked = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        return keywords_from_tokens(self.kiwi.tokenize(text), masked)


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _blanked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with each span overwritten by spaces, which no spacing-free rule can match: a PII mask
    ("[카드번호]", "[전화번호]") is not the customer's word for a card or a phone call."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Stripped (start, end) spans covering text[start:end], none much longer than the limit."""
    pieces = []
    while start < end:
        while start < end and text[start].isspace():
            start += 1
        stop = end
        if stop - start > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
            stop = cut if cut > start else start + MAX_SENTENCE_CHARS
        piece_end = stop
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        if piece_end > start:
            pieces.append((start, piece_end))
        start = stop
    return pieces


def contrast_cuts(tokens: Sequence[Any]) -> list[int]:
    """Offsets just after each contrastive ending among the tokens."""
    cuts = []
    for i, token in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.tag == "EC" and token.form in CONTRASTIVE_ENDINGS:
            cuts.append(token.end)
        elif (token.form == "데" and token.tag == "NNB" and i and tokens[i - 1].tag == "ETM"
              and not (after and after.tag.startswith(_PLACE_PARTICLES))):
            cuts.append(after.end if after and after.tag == "JX" and after.form == "도" else token.end)
    return cuts


def contrast_tail(text: str, tokens: Sequence[Any], end: int) -> str:
    """What a sentence says after its last contrastive ending, up to `end`; "" when there is none or
    it holds no Korean word."""
    cuts = [cut for cut in contrast_cuts(tokens) if cut < end]
    tail = text[max(cuts):end].strip(" ,.~") if cuts else ""
    return tail if _WORD.search(tail) else ""


def compact(text: str) -> str:
    """Spacing-free lower-case form: Korean spacing is unreliable, so rules match on this."""
    return re.sub(r"\s+", "", text).lower()


def compact_offsets(text: str) -> list[int]:
    """For each position of `text` (and its end), the matching offset in `compact(text)`."""
    offsets, position = [], 0
    for char in text:
        offsets.append(position)
        if not char.isspace():
            position += len(char.lower())
    offsets.append(position)
    return offsets


def contains_word(sentence: Sentence, phrase: str) -> bool:
    """Whether `phrase` (spacing-free) occurs in the sentence where a word can begin: at a morpheme's
    start, or as the tail of a compound noun; or as whole morphemes of its dictionary forms, so "어렵"
    finds 어려워요 and "멈추" 멈췄어요.

    Rules match the spacing-free form because Korean spacing is unreliable, but a plain substring
    test finds "무안" in "너무 안 좋아요", "방이" in "냉방이" and "금이" in "입금이". A sentence built
    without Kiwi has no morphemes and matches anywhere.
    """
    at = sentence.compact.find(phrase)
    if at < 0 or not sentence.morpheme_starts:
        return at >= 0 or _in_lemmas(sentence, phrase)
    while at >= 0:
        end = at + len(phrase)
        if at in sentence.morpheme_starts or any(start < at and stop == end
                                                 for start, stop in sentence.noun_spans):
            return True
        at = sentence.compact.find(phrase, at + 1)
    return _in_lemmas(sentence, phrase)


def _in_lemmas(sentence: Sentence, phrase: str) -> bool:
    """Whether `phrase` spans whole morphemes of the dictionary forms: "나이" is not in 나 + 이거."""
    at = sentence.lemmas.find(phrase)
    while at >= 0:
        if at in sentence.lemma_bounds and at + len(phrase) in sentence.lemma_bounds:
            return True
        at = sentence.lemmas.find(phrase, at + 1)
    return False


def has_content(sentence: Sentence) -> bool:
    """A Korean word of two syllables or more: an emoji, "네..." or an order number says nothing."""
    return _WORD.search(sentence.text) is not None


# What a customer says is absent when nothing is wrong ("불만 없습니다", "아쉬운 점은 없었어요",
# "한 번도 실망한 적이 없어요"), as Kiwi forms: nouns, roots and stems.
_ABSENT_PROBLEMS = frozenset({
    "불만", "불편", "문제", "단점", "흠", "흠잡", "아쉽", "아쉬움", "불만족", "불평", "개선", "개선점",
    "실망", "결점", "하자", "고장", "오류", "에러", "버그", "지적", "보완", "트러블", "이상", "탈",
    # the things that hurt, whose absence is praise ("소음이 전혀 없어요", "광고 없이 깔끔해요")
    "소음", "냄새", "악취", "먼지", "곰팡이", "벌레", "얼룩", "흠집", "이물질", "잡음", "광고", "렉", "끊김",
    "지연", "불량", "파손", "누락", "결함", "오작동", "부작용", "스트레스", "부담", "걱정",
})
# What happens when something goes wrong, negated with 안/못: "고장 안 났어요", "오류가 안 떠요",
# "렉 안 걸려요", "문제 안 생겨요", "불편함은 못 느꼈어요".
_PROBLEM_EVENTS = frozenset({"나", "생기", "뜨", "걸리", "느끼"})
# Connective endings after which a denied problem is a clause of its own ("소음 없고", "광고가 없어서").
# Not a condition ("없으면"), a concession ("없어도") or a purpose ("없게 해 주세요").
_CLAUSE_ENDINGS = frozenset({"고", "어서", "아서", "서", "어", "아", "며", "으며", "지만", "으나"}
                            | CONTRASTIVE_ENDINGS)
# Faults negated with -지 않다 ("나쁘진 않네요", "전혀 불편하지 않았어요").
_DENIED_FAULTS = frozenset({
    "나쁘", "불편", "비싸", "느리", "어렵", "복잡", "불친절", "시끄럽", "더럽", "좁", "아쉽", "실망", "불만",
})
# Words that may stand beside them without saying anything of their own ("특별히", "큰", "한 번도",
# "개선할 부분은 없는 것 같아요"). Not "아직" or "지금": "아직 없어요" says something is missing.
_DENIAL_FILLERS = frozenset({
    "특별히", "딱히", "별로", "전혀", "아무", "아무런", "그다지", "크게", "별다르", "크", "한", "번", "적",
    "점", "데", "부분", "것", "거", "하나", "다른", "따로", "사항", "딱", "정말", "진짜", "단", "가지", "개",
    "같",
})
# Before a denied problem word and part of what is denied: 아무 탈, 배송 지연, 앱 오류, 직원분들.
_NOUN_PHRASE = ("MM", "NN", "XSN", "XPN")
# Between a denial and the word it negates: 실망한 적, 불편함은, 불편하지, 개선할 점.
_DENIAL_GLUE = frozenset({"NNB", "MM", "ETN", "ETM", "XSA", "XSV", "XSN"})
_CONTENT_TAGS = ("NN", "NR", "NP", "VV", "VA", "VX", "VC", "XR", "MAG", "MM", "SL", "SH", "SN")


def says_nothing_is_wrong(tokens: Sequence[Any]) -> bool:
    """Whether a sentence's Kiwi tokens only deny a problem: the last predicate is 없다 after nothing
    but problem words ("개선할 점은 없습니다", "특별히 없어요") or 않다 after a fault ("나쁘진 않네요").

    The answer "nothing to improve" is no pain point, yet it reads as negative and carries a negation.
    Anything else in the sentence keeps it out: "답변이 없어요" (what is missing is the complaint),
    "맛도 없습니다", "문제가 없었으면 좋겠어요" (a wish), "불만은 없는데 배송이 느려요".
    """
    content = [t for t in tokens if t.tag.startswith(_CONTENT_TAGS)]
    last = max((i for i, t in enumerate(content) if t.form in ("없", "않")), default=None)
    if last is None or any(t.form not in ("것", "거", "같") for t in content[last + 1:]):
        return False
    if any(t.tag == "EC" and t.start > content[last].start for t in tokens):  # "없으면", "없어서"
        return False
    before = [t for t in content[:last] if not (t.form == "별" and t.tag == "MM")]
    words = {t.form for t in before} - _DENIAL_FILLERS
    if content[last].form == "없":
        return words <= _ABSENT_PROBLEMS
    return bool(words) and words <= _DENIED_FAULTS


def denied_problems(tokens: Sequence[Any]) -> list[tuple[int, int]]:
    """Character spans of the clauses that deny a problem inside a longer sentence: "오류 없이 | 잘
    돌아가요", "냄새도 안 나고 | 깨끗해요", "광고가 없어서 | 좋아요", "직원분들이 불친절하지 않았어요".

    Praise by denial reads as a complaint to the models: the embedding lies near 오류 complaints and the
    negation is a complaint cue, so the complaint head flagged "오류 없이 잘 돌아가요" (reliability),
    "광고가 없어서 좋아요" (ads) and "소음이 전혀 없어요" (quality). The pain detector judges what the
    sentence says besides (`Sentence.undenied`); a sentence that says nothing besides denies a problem.
    Only problems count as denied: "답변이 없어서 답답해요" says what is missing.
    """
    spans = []
    for i, token in enumerate(tokens):
        span = None
        if token.form == "없이" and token.tag == "MAG":
            span = _denied_before(tokens, i, i, _ABSENT_PROBLEMS)
        elif token.form == "없" and token.tag.startswith("VA"):
            end = _clause_end(tokens, i)
            span = None if end is None else _denied_before(tokens, i, end, _ABSENT_PROBLEMS)
        elif token.form == "않" and token.tag.startswith("VX"):
            j = i - 1
            while j >= 0 and tokens[j].tag == "JX":  # "느리지도 않고", "나쁘진 않네요"
                j -= 1
            end = _clause_end(tokens, i)
            if j > 0 and tokens[j].form == "지" and tokens[j].tag == "EC" and end is not None:
                span = _with_subject(tokens, _denied_before(tokens, j, end, _DENIED_FAULTS))
        elif token.form in ("안", "못") and token.tag == "MAG" and i + 1 < len(tokens):
            after = tokens[i + 1]
            end = _clause_end(tokens, i + 2 if after.tag == "NNG" else i + 1)
            if end is None:
                continue
            if _with_prefix(tokens, i + 1)[0] in _DENIED_FAULTS:  # "안 비싸고", "안 불편해요"
                span = _with_subject(tokens, (tokens[i].start, tokens[end].end))
            elif after.form in _PROBLEM_EVENTS and after.tag.startswith("VV"):
                span = _denied_before(tokens, i, end, _ABSENT_PROBLEMS)
        if span and not _wished_after(tokens, span[1]):
            spans.append(span)
    return spans


def _wished_after(tokens: Sequence[Any], position: int) -> bool:
    """Whether the sentence goes on to ask or wish for what it denies ("광고 없이 볼 수 있으면 하네요",
    "오류 없이 되게 해 주세요"): a wish or a request, which complains."""
    return any(t.start >= position and ((t.tag == "EC" and t.form in ("면", "으면"))
                                        or (t.tag == "VX" and t.form == "주") or t.form == "바라")
               for t in tokens)


def _with_prefix(tokens: Sequence[Any], j: int) -> tuple[str, int]:
    """The form of tokens[j] with a prefix Kiwi split off (불 + 친절), and the index where it begins."""
    if j and tokens[j - 1].tag == "XPN":
        return tokens[j - 1].form + tokens[j].form, j - 1
    return tokens[j].form, j


def _denied_before(tokens: Sequence[Any], denial: int, end: int,
                   problems: frozenset[str]) -> tuple[int, int] | None:
    """The span from the problem word that the denial at `denial` negates to tokens[end], or None when
    the nearest word before the denial (past particles, fillers and the suffixes of 불편함, 실망한 적,
    불편하지) is no problem."""
    j = denial - 1
    while j >= 0 and (tokens[j].tag.startswith("J") or tokens[j].tag in _DENIAL_GLUE
                      or tokens[j].form in _DENIAL_FILLERS):
        j -= 1
    if j < 0:
        return None
    word, first = _with_prefix(tokens, j)
    if word not in problems:
        return None
    return tokens[_phrase_start(tokens, first)].start, tokens[end].end


def _with_subject(tokens: Sequence[Any], span: tuple[int, int] | None) -> tuple[int, int] | None:
    """A denied fault's span widened to the noun phrase it is said of ("직원분들이 | 불친절하지 않았어요"):
    what is not slow or unkind is no complaint either."""
    if span is None:
        return None
    first = next(i for i, t in enumerate(tokens) if t.start == span[0])
    j = first - 1
    while j >= 0 and tokens[j].tag in ("JKS", "JX"):
        j -= 1
    subject = _phrase_start(tokens, j + 1)
    return span if subject > j else (tokens[subject].start, span[1])


def _phrase_start(tokens: Sequence[Any], first: int) -> int:
    """Where the noun phrase that ends just before tokens[first] begins (`first` when none does): the
    fillers and nouns a denied problem is of ("딱히 불편 없이", "아무 탈 없이", "배송 지연 없이", "앱 오류
    없이") or a denied fault is said of ("직원분들이 불친절하지 않았어요")."""
    while first and (tokens[first - 1].form in _DENIAL_FILLERS
                     or tokens[first - 1].tag.startswith(_NOUN_PHRASE)):
        first -= 1
    return first


def _clause_end(tokens: Sequence[Any], i: int) -> int | None:
    """The index of the last ending of the clause whose predicate is tokens[i], or None when the clause
    goes on as a condition, a concession or a modifier ("문제가 없었으면", "오류 없는 날이 없네요"), and
    when the text ends before its predicate ("왜 안 연락": 안 before a last noun)."""
    if i >= len(tokens):
        return None
    j = i + 1
    while j < len(tokens) and tokens[j].tag in ("EP", "XSA", "XSV"):
        j += 1
    if j == len(tokens) or tokens[j].tag.startswith(("S", "J")):
        return j - 1
    ending, after = tokens[j], tokens[j + 1] if j + 1 < len(tokens) else None
    if ending.tag == "EC" and after and after.form == "도" and after.tag == "JX":  # "없어도"
        return None
    if ending.tag in ("EF", "ETN") or (ending.tag == "EC" and ending.form in _CLAUSE_ENDINGS):  # ETN: "없음"
        return j
    if ending.tag == "ETM" and after and after.form == "데" and after.tag == "NNB":  # "없는데"
        return j + 1
    return None


def denials(text: str, tokens: Sequence[Any], start: int, end: int) -> dict[str, Any]:
    """The sentence text[start:end]'s `denies_problem` (it says nothing but that a problem is absent)
    and `undenied` (what it says besides the problems it denies, "" when it denies none)."""
    if says_nothing_is_wrong(tokens):
        return {"denies_problem": True, "undenied": ""}
    spans = denied_problems(tokens)
    if not spans:
        return {"denies_problem": False, "undenied": ""}
    kept, position = [], start
    for a, b in sorted(spans):
        kept.append(text[position:a])
        position = max(position, b)
    kept.append(text[position:end])
    undenied = " ".join(" ".join(kept).split()).strip(" ,.~")
    says_more = _WORD.search(undenied) is not None  # else it only denies ("직원분들이 불친절하지 않았어요")
    return {"denies_problem": not says_more, "undenied": undenied if says_more else ""}
