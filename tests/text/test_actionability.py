"""`response_needed`: the pain points that ask the company for an answer, a refund, a call-back, a fix
or a change, as the labelling guide reads them. Sentences come from Kiwi, as in the pipeline."""

import pytest

from pipeline.text.actionability import needs_response
from pipeline.text.korean import KoreanAnalyzer


@pytest.fixture(scope="module")
def analyzer():
    return KoreanAnalyzer()


def asks(analyzer: KoreanAnalyzer, text: str) -> bool:
    (sentence,) = analyzer.sentences([text])[0]
    return needs_response(sentence)


@pytest.mark.parametrize("text", [
    "환불해 주세요",
    "빨리 처리 좀 해주세요",
    "교환 부탁드립니다",
    "다크모드 기능이 있으면 좋겠어요",
    "글자 크기를 키울 수 있었으면…",
    "검수에 신경 좀 써 주셨으면 합니다",
    "기사님들 안전 교육부터 하세요",
    "검수에 신경 좀 쓰세요",
    "품절이면 바로 취소를 해 주셨어야죠",
    "유통기한 임박한 상품은 보내지 마세요",
    "언제 배송되나요?",
    "왜 로그인이 안 되나요",
    "어떻게 해야 하죠 ㅠㅠ",
    "결제 취소는 어떻게 하는지 모르겠어요",
])
def test_requests_wishes_and_questions_ask_for_a_response(analyzer, text):
    assert asks(analyzer, text)


@pytest.mark.parametrize("text", [
    "배송이 늦었어요",
    "포장이 엉망이네요",
    "최악",
    "이게 정품 맞나요?",  # rhetorical: no answer is wanted
    "장난하냐?",
    "차라리 다른 데서 사세요",  # advice to other customers
    "'문 앞에 두지 말아 주세요'라고 적었는데 그냥 두고 갔어요",  # the words quoted were asked before
    "직원분이 너무 불친절하세요",  # an honorific description, not an imperative
    "이럴 줄 알았으면 안 샀을 거예요",  # a past conditional, not a wish
    "두 달마다 필터를 청소해 줘야 해요",  # what the customer must do
])
def test_complaints_rhetorical_questions_and_advice_ask_nothing(analyzer, text):
    assert not asks(analyzer, text)


def test_a_masked_phone_number_does_not_hide_the_request(analyzer):
    (sentence,) = analyzer.sentences(["[전화번호]로 연락 주세요"])[0]
    assert needs_response(sentence)
