"""Pain detection: negative sentiment, or a complaint cue that the model does not call positive."""

from __future__ import annotations

import pytest

from pipeline.config import DEFAULT_CONFIG, ComplaintCues, load_config
from pipeline.document import Sentence
from pipeline.korean import KoreanAnalyzer
from pipeline.pain import PainDetector, complaint_cue


@pytest.fixture(scope="module")
def analyzer() -> KoreanAnalyzer:
    return KoreanAnalyzer()


@pytest.fixture(scope="module")
def detector() -> PainDetector:
    config = load_config(DEFAULT_CONFIG)
    return PainDetector(config.load_taxonomy().complaint_cues, config.sentiment.negative_threshold,
                        config.sentiment.cue_max_positive)


def scored(analyzer: KoreanAnalyzer, text: str, p_negative: float, p_positive: float) -> Sentence:
    sentence = analyzer.sentences([text])[0][0]
    sentence.p_negative, sentence.p_positive = p_negative, p_positive
    return sentence


@pytest.mark.parametrize("text", [
    "앱이 안 열려요",                       # negated predicate
    "업데이트 후로 자꾸 튕겨요",             # complaint verb
    "수건에서 곰팡이 냄새가 나요",            # complaint nouns
    "차트 설정 기능 좀 추가해 주세요",        # a request for a change
    "직원분이 너무 불친절해요",               # a word Kiwi splits (불 + 친절): matched as a phrase
])
def test_a_complaint_with_little_sentiment_is_a_pain_point(analyzer, detector, text):
    sentence = scored(analyzer, text, p_negative=0.05, p_positive=0.3)
    assert complaint_cue(sentence, detector.cues)
    assert detector.is_pain(sentence)


@pytest.mark.parametrize("text", ["후회 안 해요 최고예요", "나쁘지 않아요", "배송이 하루 만에 왔어요"])
def test_praise_and_plain_statements_are_not(analyzer, detector, text):
    assert not detector.is_pain(scored(analyzer, text, p_negative=0.05, p_positive=0.9))


def test_plain_statements_without_a_cue_are_not_even_when_neutral(analyzer, detector):
    assert not detector.is_pain(scored(analyzer, "오늘 주문했어요", p_negative=0.1, p_positive=0.2))


def test_negative_sentiment_alone_is_enough(analyzer, detector):
    assert detector.is_pain(scored(analyzer, "오늘 주문했어요", p_negative=0.8, p_positive=0.1))


def test_cues_can_be_turned_off(analyzer):
    sentence = scored(analyzer, "앱이 안 열려요", p_negative=0.05, p_positive=0.3)
    assert not PainDetector(ComplaintCues(), 0.5, None).is_pain(sentence)
    assert not PainDetector(ComplaintCues(negations=False), 0.5, 0.7).is_pain(sentence)
    assert PainDetector(ComplaintCues(negations=True), 0.5, 0.7).is_pain(sentence)


def test_phrases_are_compared_without_spaces():
    assert ComplaintCues(phrases=["해 주세요", " "]).phrases == ["해주세요"]


@pytest.mark.parametrize("text", ["🥲🥲", "네...", "6번.", "SR2609247075.", "ㅠㅠㅠ"])
def test_a_sentence_that_says_nothing_is_no_pain_point_however_negative(analyzer, detector, text):
    assert not detector.is_pain(scored(analyzer, text, p_negative=0.9, p_positive=0.05))


def test_a_negation_alone_is_no_cue(analyzer, detector):
    """A survey's "없어요" (nothing to improve) negates nothing named."""
    assert complaint_cue(scored(analyzer, "없어요~", 0.1, 0.3), detector.cues) is None
    assert complaint_cue(scored(analyzer, "답이 없어요", 0.1, 0.3), detector.cues) == "없다"
