"""The stages before any model, and the per-text limits they apply (fast: Kiwi only)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.components.prepare import Normalize, SplitSentences, cut_at_space
from pipeline.config import LimitsConfig
from pipeline.document import Document, FeedbackItem
from pipeline.text.korean import KoreanAnalyzer

CREATED = datetime(2026, 10, 1, tzinfo=UTC)


def doc(text: str) -> Document:
    return Document(item=FeedbackItem(source="reviews", kind="review", channel="review", source_id="1",
                                      created_at=CREATED, record_date=CREATED.date(), text=text))


def test_a_text_is_cut_at_the_last_space_before_the_limit() -> None:
    assert cut_at_space("배송이 늦어요 포장도 엉망", 10) == "배송이 늦어요"
    assert cut_at_space("짧은 글", 10) == "짧은 글"
    assert cut_at_space("가" * 30, 10) == "가" * 10  # no space to cut at: the limit itself


def test_normalize_records_the_characters_it_leaves_unread() -> None:
    essay = doc("앱이 자꾸 꺼져요. " * 1000)
    short = doc("앱이 자꾸 꺼져요.")
    Normalize(LimitsConfig(max_characters=200))([essay, short])
    assert len(essay.text) <= 200
    assert essay.characters_cut == len("앱이 자꾸 꺼져요. " * 1000) - 1 - len(essay.text)
    assert (short.text, short.characters_cut) == ("앱이 자꾸 꺼져요.", 0)


@pytest.fixture(scope="module")
def analyzer(kiwi) -> KoreanAnalyzer:
    return KoreanAnalyzer(kiwi)


def split(analyzer: KoreanAnalyzer, text: str, limits: LimitsConfig) -> Document:
    document = doc(text)
    document.masked_text = text
    SplitSentences(analyzer, limits)([document])
    return document


def test_a_sentence_repeated_in_one_text_is_mined_once(analyzer) -> None:
    document = split(analyzer, "배송이 너무 늦어요. " * 50 + "포장도 찢어져 왔어요.", LimitsConfig())
    assert [s.text for s in document.sentences] == ["배송이 너무 늦어요.", "포장도 찢어져 왔어요."]
    assert document.sentences_cut == 49


def test_spacing_does_not_make_a_repeat_new(analyzer) -> None:
    document = split(analyzer, "배송이 너무 늦어요. 배송이너무 늦어요.", LimitsConfig())
    assert len(document.sentences) == 1 and document.sentences_cut == 1


def test_sentences_past_the_limit_are_counted_not_mined(analyzer) -> None:
    text = " ".join(f"{n}번째 상품도 불량이에요." for n in range(1, 11))
    document = split(analyzer, text, LimitsConfig(max_sentences=4))
    assert len(document.sentences) == 4
    assert document.sentences_cut == 6
    assert document.sentences[0].text.startswith("1번째")


def test_an_ordinary_review_is_untouched(analyzer) -> None:
    text = "배송은 빨랐어요. 그런데 포장이 엉망이에요. 다음엔 잘 부탁드려요."
    document = split(analyzer, text, LimitsConfig())
    assert document.sentences_cut == 0
    assert len(document.sentences) == 3
