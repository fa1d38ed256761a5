"""The lexical sentiment view (models/lexical.py) with its shipped weights, and its blend."""

from __future__ import annotations

import numpy as np
import pytest

from models.lexical import (
    BUILTIN_LEXICAL,
    WEIGHTS_DIR,
    LexicalSentiment,
    blend_log_probabilities,
    fit_lexical,
    kiwi_morphemes,
    lexical_spec,
    morpheme_features,
)
from models.sentiment import LABELS

NEGATIVE_TEXT = "배송도 늦고 포장도 엉망이라 정말 최악이에요. 다시는 안 삽니다"
POSITIVE_TEXT = "직원분들이 친절하고 음식도 맛있어서 정말 만족스러웠어요. 최고예요"


@pytest.fixture(scope="module")
def lexical() -> LexicalSentiment:
    return LexicalSentiment.load(BUILTIN_LEXICAL)


def test_the_shipped_weights_load_without_pickles_and_stay_small(lexical) -> None:
    size = sum(f.stat().st_size for f in WEIGHTS_DIR.iterdir() if f.is_file())
    assert size <= 5 * 1024 * 1024
    assert lexical.coef.shape == (len(LABELS), len(lexical.columns)) and len(lexical.columns) > 10_000
    assert np.all(np.diff(lexical.columns) > 0) and lexical.columns[-1] < lexical.n_features
    assert lexical_spec(BUILTIN_LEXICAL).startswith(f"{BUILTIN_LEXICAL}@")
    with pytest.raises(ValueError, match="unknown builtin"):
        LexicalSentiment.load("builtin:nothing")


def test_morphemes_give_probabilities_that_sum_to_one(lexical, kiwi) -> None:
    lists = kiwi_morphemes([NEGATIVE_TEXT, POSITIVE_TEXT, "", "ㅋ"], kiwi)
    probs = np.exp(lexical.log_proba_morphemes(lists))
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert lexical.log_proba_morphemes([]).shape == (0, 3)


def test_clearly_negative_and_positive_sentences_read_so(lexical, kiwi) -> None:
    neg, pos = np.exp(lexical.log_proba([NEGATIVE_TEXT, POSITIVE_TEXT], kiwi))
    assert LABELS[int(neg.argmax())] == "negative" and neg[0] > 0.8
    assert LABELS[int(pos.argmax())] == "positive" and pos[2] > 0.8


def test_the_blend_moves_an_unsure_model_the_way_the_lexical_view_reads(lexical, kiwi) -> None:
    unsure = np.full((2, 3), 1 / 3)
    lp = lexical.log_proba([NEGATIVE_TEXT, POSITIVE_TEXT], kiwi)
    blended = blend_log_probabilities(unsure, lp, 0.3)
    assert blended[0, 0] > 0.4 and blended[1, 2] > 0.4
    np.testing.assert_allclose(blended.sum(axis=1), 1.0)
    # weight 0 at T = 1 is the model itself; weight 1 the lexical view itself
    sure = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    np.testing.assert_allclose(blend_log_probabilities(sure, lp, 0.0), sure)
    np.testing.assert_allclose(blend_log_probabilities(sure, lp, 1.0), np.exp(lp))
    with pytest.raises(ValueError):
        blend_log_probabilities(sure, lp, 1.5)


def test_features_are_morphemes_and_neighbouring_pairs() -> None:
    assert morpheme_features(["좋/VA", "아요/EF"]) == ["좋/VA", "아요/EF", "좋/VA+아요/EF"]
    assert morpheme_features([]) == []


def test_a_saved_model_scores_as_fitted_up_to_fp16(tmp_path) -> None:
    """A tiny fit: what `save` stores (fp16) scores the texts as the fitted model does."""
    lists = [["좋/VA", "다/EF"], ["싫/VA", "다/EF"], ["그렇/VA", "다/EF"]] * 5
    labels = np.array([2, 0, 1] * 5)
    model = fit_lexical(lists, labels, n_features=2**10, min_df=2)
    loaded = LexicalSentiment.load(str(model.save(tmp_path).parent))
    np.testing.assert_array_equal(loaded.columns, model.columns)
    np.testing.assert_allclose(loaded.log_proba_morphemes(lists[:3]), model.log_proba_morphemes(lists[:3]),
                               atol=1e-2)
    assert loaded.log_proba_morphemes(lists[:3]).argmax(1).tolist() == [2, 0, 1]


def test_the_sentence_split_records_the_morphemes_the_view_reads(kiwi) -> None:
    from pipeline.text.korean import KoreanAnalyzer

    sentences = KoreanAnalyzer(kiwi).sentences(["직원이 불친절했어요. 음식은 맛있었어요"])[0]
    assert [list(s.morphemes or ()) for s in sentences] == kiwi_morphemes([s.text for s in sentences], kiwi)
