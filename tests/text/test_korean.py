import pytest

from pipeline.document import Sentence
from pipeline.text.korean import NEGATIONS, STOPWORDS, KoreanAnalyzer, compact, contains_word


def test_sentences_have_offsets_into_the_text(kiwi):
    text = "배송은 빨랐는데 포장이 엉망이네요ㅠㅠ 다시는 안살래요!!! 상담원 연결이 안돼요"
    sentences = KoreanAnalyzer(kiwi).sentences([text])[0]
    assert len(sentences) == 3
    for index, sentence in enumerate(sentences):
        assert sentence.index == index
        assert text[sentence.start : sentence.end] == sentence.text


def test_keywords_keep_negations_and_stems(kiwi):
    analyzer = KoreanAnalyzer(kiwi)
    words = analyzer.keywords("택배가 안 와요. 못 받았어요. 제품이 아니에요. 연락이 없어요")
    assert {"택배", "안", "못", "아니다", "없다", "오다", "받다", "연락"} <= set(words)


def test_masks_are_never_keywords(kiwi):
    words = KoreanAnalyzer(kiwi).keywords("[이름] 고객님 [전화번호]로 연락주세요")
    assert "전화번호" not in words and "이름" not in words
    assert "연락" in words


def test_stopwords_never_contain_negations():
    assert not NEGATIONS & STOPWORDS


def test_compact_removes_spacing():
    assert compact("배송 이 늦 어요 ABC") == "배송이늦어요abc"


@pytest.mark.parametrize(("text", "word", "found"), [
    ("음질이 너무 안좋아요", "무안", False),       # across 너무 | 안
    ("객실 냉방이 잘 안돼요", "방이", False),       # inside 냉방 + 이
    ("입금이 안 돼요", "금이", False),
    ("상태도 별로였어요", "태도", False),
    ("택배아직도안옴", "안옴", True),               # spacing-free text still matches
    ("환불해주세요", "주세요", True),
    ("여직원이 불친절해요", "직원", True),          # the tail of a compound noun
    ("재결제 해야 돼요", "결제", True),
    ("냉방이 안 되고 방이 좁아요", "방이", True),   # a later occurrence that is a word
])
def test_rules_match_where_a_word_can_begin(kiwi, text, word, found):
    assert word in compact(text)
    assert contains_word(KoreanAnalyzer(kiwi).sentences([text])[0][0], word) is found


@pytest.mark.parametrize(("text", "stem"), [
    ("사용법이 너무 어려워요", "어렵"),        # ㅂ-irregular: 어렵 + 어요
    ("앱이 자꾸 멈췄어요", "멈추"),            # past tense fused into the stem's last syllable
    ("화면이 계속 꺼져요", "꺼지"),
    ("로딩이 느린 앱", "느리"),                # the adnominal ending inside the syllable
    ("방이 너무 추웠어요", "춥"),
    ("택배 기사가 짜증을 냈어요", "짜증을내"),
])
def test_a_stem_matches_it_in_any_conjugation(kiwi, text, stem):
    assert stem not in compact(text)
    assert contains_word(KoreanAnalyzer(kiwi).sentences([text])[0][0], stem)


@pytest.mark.parametrize(("text", "phrase"), [
    ("음질이 너무 안좋아요", "무안"),   # surface rules still hold: 너무 | 안
    ("너무 어려워요", "렵어"),          # neither whole morphemes nor a surface word
])
def test_dictionary_forms_match_only_as_whole_morphemes(kiwi, text, phrase):
    assert not contains_word(KoreanAnalyzer(kiwi).sentences([text])[0][0], phrase)


@pytest.mark.parametrize(("text", "word"), [
    ("연락은 [전화번호]로 주세요", "전화"),
    ("[카드번호] 이걸로 결제한 거 취소해 주세요", "카드"),
])
def test_a_pii_mask_is_not_the_customers_word(kiwi, text, word):
    sentence = KoreanAnalyzer(kiwi).sentences([text])[0][0]
    assert not contains_word(sentence, word)
    assert contains_word(KoreanAnalyzer(kiwi).sentences([f"{word} {text}"])[0][0], word)


def test_a_sentence_built_without_kiwi_matches_anywhere():
    assert contains_word(Sentence(0, 0, 6, "너무 안좋아", compact="너무안좋아"), "무안")


def test_run_on_text_is_cut_into_pieces_without_losing_any_of_it(kiwi):
    text = " ".join(["배송이늦고포장이엉망이고상담원은불친절하고"] * 1200)
    assert len(text) > 20_000
    sentences = KoreanAnalyzer(kiwi).sentences([text])[0]
    assert all(len(s.text) <= 300 for s in sentences)
    assert "".join(s.text for s in sentences).replace(" ", "") == text.replace(" ", "")
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text


@pytest.mark.parametrize(("text", "tail"), [
    ("다 좋은데 글씨 좀 키워 주세요", "글씨 좀 키워 주세요"),
    ("다 마음에 드는데 알림 소리가 너무 커요", "알림 소리가 너무 커요"),  # Kiwi: 는 (ETM) + 데 (NNB)
    ("맛있긴 한데 비싸요", "비싸요"),  # ᆫ데, with the final-consonant jamo
    ("예쁜데도 불편해요", "불편해요"),
    ("조금 좁지만 깔끔해서 좋았어요", "깔끔해서 좋았어요"),
    ("넓으나 낡았어요", "낡았어요"),
    ("주변에 갈 데가 없어요", ""),  # 데 as "place"
    ("배송이 빨라요", ""),
])
def test_the_clause_after_a_contrast_is_kept_for_pain_detection(kiwi, text, tail):
    assert KoreanAnalyzer(kiwi).sentences([text])[0][0].contrast_tail == tail


@pytest.mark.parametrize("text", [
    "특별히 없습니다", "없음", "개선할 점은 없습니다.", "한 번도 실망한 적이 없어요", "큰 불만 없어요",
    "아쉬운 점은 없었어요", "딱히 개선할 부분은 없는 것 같아요", "흠잡을 데가 없어요", "별 문제 없어요",
    "나쁘진 않네요", "전혀 불편하지 않았어요", "소음이 전혀 없어요", "고장 한 번 안 났어요", "오류가 안 떠요",
    "직원분들이 불친절하지 않았어요", "불편함은 전혀 못 느꼈어요", "광고 없음",
])
def test_a_sentence_that_only_denies_a_problem_says_nothing_is_wrong(kiwi, text):
    assert KoreanAnalyzer(kiwi).sentences([text])[0][0].denies_problem


@pytest.mark.parametrize("text", [
    "답변이 없어요",                    # what is missing is the complaint
    "주차공간이 없어요",
    "그리고 맛도 없습니다.",            # a one-syllable noun is no keyword, yet it says what is missing
    "좋은점 단 한개도 없었어요",         # 좋다 is a stop word, yet it is what is missing
    "참 할말이 없네요",
    "아직 없어요",
    "문제가 없었으면 좋겠어요",          # a wish
    "문제가 없으면 교환하지 마세요",      # a condition
    "불만은 없는데 배송이 느려요",       # the contrast says what hurts
    "불만이 없는 건 아니에요",
    "없는 게 너무 많아요",
    "제품에 하자가 있습니다.",
])
def test_a_missing_thing_or_a_problem_beside_the_denial_is_not_denied(kiwi, text):
    assert not KoreanAnalyzer(kiwi).sentences([text])[0][0].denies_problem


@pytest.mark.parametrize(("text", "undenied"), [
    ("오류 없이 잘 돌아가요", "잘 돌아가요"),
    ("광고가 없어서 좋아요", "좋아요"),
    ("냄새도 안 나고 깨끗해요", "깨끗해요"),
    ("딱히 불편없이 평범했구요", "평범했구요"),
    ("배송이 느리지 않아서 좋았어요", "좋았어요"),
    ("안 비싸고 좋아요", "좋아요"),
    ("렉 없이 켜지다가 갑자기 꺼져요", "켜지다가 갑자기 꺼져요"),
    ("불만은 없는데 배송이 느려요", "배송이 느려요"),
    ("소음 없고 직원 불친절", "직원 불친절"),
    ("답변이 없어서 답답해요", ""),         # what is missing is the complaint
    ("오류 없는 날이 없네요", ""),          # a modifier, not a clause
    ("문제가 없었으면 좋겠어요", ""),       # a wish
    ("오류가 없어도 느려요", ""),           # a concession
    ("광고 없이 보게 해주세요", ""),        # a request for what it denies
    ("한번 본 리뷰는 광고없이 바로 확인할 수 있으면 하네요", ""),
])
def test_what_a_sentence_says_besides_the_problems_it_denies(kiwi, text, undenied):
    sentence = KoreanAnalyzer(kiwi).sentences([text])[0][0]
    assert sentence.undenied == undenied
    assert not sentence.denies_problem


@pytest.mark.parametrize("text", ["문의했는데 아직도 안 답장", "왜 안 연락"])
def test_a_text_ending_in_a_negation_before_a_noun_is_read_without_a_denial(kiwi, text):
    # 안 before a last noun has no predicate to deny: this once crashed the whole batch
    sentence = KoreanAnalyzer(kiwi).sentences([text])[0][-1]
    assert not sentence.denies_problem and sentence.undenied == ""


def test_models_read_a_sentence_that_runs_its_words_together_respaced(kiwi):
    text = "직원이너무불친절했어요. 직원분들이 친절하셨어요."
    run_together, spaced = KoreanAnalyzer(kiwi).sentences([text])[0]
    assert run_together.text == "직원이너무불친절했어요."
    assert run_together.model_text == "직원이 너무 불친절했어요."
    # Kiwi would write 직원 분들이: a well-spaced sentence is read as written all the same
    assert kiwi.space(spaced.text) != spaced.text
    assert spaced.spaced == "" and spaced.model_text == spaced.text


def test_a_sentence_built_without_kiwi_is_read_as_written():
    assert Sentence(0, 0, 5, "앱이안열려").model_text == "앱이안열려"


def test_texts_read_back_from_the_warehouse_are_read_as_their_sentences_were(kiwi):
    analyzer = KoreanAnalyzer(kiwi)
    sentences = analyzer.sentences(["앱이계속튕겨서못쓰겠어요. 그래도 디자인은 예뻐요."])[0]
    assert analyzer.model_texts([s.text for s in sentences]) == [s.model_text for s in sentences]
    assert sentences[0].model_text != sentences[0].text
