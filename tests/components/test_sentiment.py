"""Sentiment: split hygiene, label mapping, calibration helpers, the builtin model and the evaluation CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.sentiment import (
    BUILTIN_SENTIMENT,
    LABELS,
    fit_temperature,
    label_mapping,
    softmax_with_temperature,
)
from models.training.sentiment_data import (
    NEGATIVE,
    NEUTRAL,
    NO_LABEL,
    POSITIVE,
    dedupe_across_splits,
    is_neutral_statement,
    kote_label,
    restyle,
    shared_data_dir,
    split_of,
    swap_register,
    vary_style,
    with_written,
    written_sentences,
)
from models.training.shared_data import SharedDataMissing


def _shared_or_skip() -> None:
    try:
        shared_data_dir()
    except SharedDataMissing as exc:
        pytest.skip(f"development data not mounted: {exc}")


# --------------------------------------------------------------------------- fast: splits


def test_split_of_is_deterministic_and_roughly_80_10_10() -> None:
    splits = [split_of(str(i), "nsmc") for i in range(20_000)]
    assert splits == [split_of(str(i), "nsmc") for i in range(20_000)]
    share = {s: splits.count(s) / len(splits) for s in ("train", "dev", "test")}
    assert 0.78 < share["train"] < 0.82 and 0.08 < share["dev"] < 0.12 and 0.08 < share["test"] < 0.12


def test_dedupe_keeps_groups_whole_and_texts_in_one_split() -> None:
    rows = []
    for movie in range(300):
        split = split_of(str(movie), "nsmc")
        for j in range(5):
            text = "최고" if j == 0 else f"영화 {movie} 리뷰 {j}"  # "최고" repeats in every movie
            rows.append((text, POSITIVE if j % 2 == 0 else NEGATIVE, 10, "nsmc", f"movie:{movie}", split, j))
    df = pd.DataFrame(rows, columns=["text", "label", "rating", "source", "group", "split", "order"])
    out = dedupe_across_splits(df)
    movie_splits = out.groupby("group")["split"].nunique()
    assert (movie_splits == 1).all(), "a movie must never be in two splits"
    assert out["key"].is_unique, "a text must appear once, in one split only"
    assert out.loc[out["key"] == "최고", "split"].item() == "test", "shared texts go to the protected split"


def test_kote_labels_and_neutral_filter() -> None:
    assert kote_label(["없음"]) == NEUTRAL
    assert kote_label(["불평/불만", "짜증", "화남/분노"]) == NEGATIVE
    assert kote_label(["기쁨", "행복", "고마움"]) == POSITIVE
    assert kote_label(["기쁨", "짜증"]) == NO_LABEL
    assert is_neutral_statement("저는 청주시에 사는 주민입니다.")
    assert not is_neutral_statement("정말 억울하고 답답합니다.")
    assert not is_neutral_statement("택배가 아직 오지 않았습니다.")


# --------------------------------------------------------------------------- fast: mapping, calibration


@pytest.mark.parametrize(("sentence", "swapped"), [
    ("직원이 불친절합니다.", "직원이 불친절해요."),
    ("배송이 늦어요", "배송이 늦습니다"),
    ("처음엔 좋았습니다!", "처음엔 좋았어요!"),
    ("정말 최고입니다", "정말 최고예요"),
    ("이건 사기입니다..", "이건 사기예요.."),
    ("주말은 만실입니다", "주말은 만실이에요"),
    ("사은품이 많습니다", "사은품이 많아요"),
    ("문의하면 바로 됩니다", "문의하면 바로 돼요"),
    ("포장이 작아요~", "포장이 작습니다~"),
])
def test_swap_register_changes_only_the_final_ending(sentence, swapped) -> None:
    assert swap_register(sentence) == swapped
    assert swap_register(swapped) == sentence


@pytest.mark.parametrize("sentence", ["방이 너무 덥습니다", "줄이 길어요", "이 영화 재밌다", "가격이 비싸요.",
                                      "요"])
def test_swap_register_leaves_what_it_cannot_swap_safely(sentence) -> None:
    assert swap_register(sentence) is None  # irregular stems (덥다, 길다), plain style, vowel stems


def test_written_sentences_map_the_labelling_guide_to_sentiment_classes() -> None:
    written = written_sentences()
    label = dict(zip(written["text"], written["label"], strict=True))
    assert label["주문 체결 알림이 바로바로 와서 좋아요"] == POSITIVE  # praise
    assert label["서버 관리 좀 제대로 하세요"] == NEGATIVE  # a complaint example
    assert label["고객센터 전화하면 기본 20분은 대기해야 돼요"] == NEGATIVE  # a category phrase
    assert "앞으로도 쭉 번창하세요!" not in label  # a general wish: neither class
    assert NEUTRAL in set(label.values()) and NO_LABEL not in set(label.values())
    assert set(written["split"]) == {"train"} and written["text"].is_unique


def test_with_written_balances_the_classes_and_keeps_the_frame() -> None:
    frame = pd.DataFrame({"text": ["재밌다", "지루하다"], "label": [POSITIVE, NEGATIVE], "source": "nsmc"})
    mixed = with_written(frame, 1000, seed=1)
    written = mixed[mixed["source"] == "written"]["label"].value_counts()
    assert set(frame["text"]) <= set(mixed["text"])
    assert written.min() >= 600 and written.max() <= 1400
    assert with_written(frame, 0, seed=1) is frame


def test_vary_style_toggles_the_final_period_and_register_at_random() -> None:
    texts = ["배송이 늦어요", "직원이 불친절합니다.", "그냥 그래요..", "최고!", "좋아요"] * 200
    varied = [vary_style(t, np.random.default_rng(7)) for t in texts]
    assert varied == [vary_style(t, np.random.default_rng(7)) for t in texts]  # seeded
    rng = np.random.default_rng(7)
    many = [vary_style("배송이 늦어요", rng) for _ in range(2000)]
    assert set(many) == {"배송이 늦어요", "배송이 늦어요.", "배송이 늦습니다", "배송이 늦습니다."}
    assert 0.45 < sum(t.endswith(".") for t in many) / len(many) < 0.55
    assert 0.45 < sum("습니다" in t for t in many) / len(many) < 0.55
    emphasised = {vary_style("그냥 그래요..", rng) for _ in range(50)}
    assert emphasised == {"그냥 그래요..", "그냥 그렇습니다.."}  # ".." stays
    assert {vary_style("최고!", rng) for _ in range(50)} == {"최고입니다!", "최고에요!"}


@pytest.mark.parametrize(("text", "formal", "polite"), [
    ("진짜 재밌다", "진짜 재밌습니다", "진짜 재밌어요"),
    ("시간 낭비한다.", "시간 낭비합니다.", "시간 낭비해요."),
    ("다시는 안 본다 ㅋㅋ", "다시는 안 봅니다 ㅋㅋ", "다시는 안 봐요 ㅋㅋ"),
    ("연기가 좋았다!!", "연기가 좋았습니다!!", "연기가 좋았어요!!"),
    ("이건 아니다", "이건 아닙니다", "이건 아니에요"),
    ("정말최고다", "정말최고입니다", "정말최고에요"),  # the copula, and the word's own spacing kept
    ("최고의 영화", "최고의 영화입니다", "최고의 영화에요"),
    ("앱이 자꾸 꺼집니다", None, "앱이 자꾸 꺼져요"),
    ("방이 너무 덥습니다", None, "방이 너무 더워요"),
    ("배송이 늦어요", "배송이 늦습니다", None),
])
def test_restyle_conjugates_the_final_ending_in_either_register(text, formal, polite) -> None:
    assert restyle(text, "formal") == formal
    assert restyle(text, "polite") == polite


@pytest.mark.parametrize("text", ["좋네", "좋네요", "ㅋㅋㅋ", "왜 이래?!", ""])
def test_restyle_leaves_other_endings(text) -> None:
    assert restyle(text, "formal") is None  # 반말, -네요 and questions keep their own style
    assert restyle(text, "polite") is None


def test_rows_record_the_builtin_weights_by_digest() -> None:
    from models.sentiment import sentiment_spec

    spec = sentiment_spec(BUILTIN_SENTIMENT)
    assert spec.startswith(f"{BUILTIN_SENTIMENT}@") and len(spec.split("@")[1]) == 8
    assert spec == sentiment_spec(BUILTIN_SENTIMENT)
    assert sentiment_spec("some-org/korean-sentiment") == "some-org/korean-sentiment"


def test_label_mapping_by_name_and_two_class_convention() -> None:
    assert label_mapping({0: "NEGATIVE", 1: "neutral", 2: "Positive"}) == [0, 1, 2]
    assert label_mapping({0: "positive", 1: "negative"}) == [2, 0]
    assert label_mapping({0: "LABEL_0", 1: "LABEL_1"}) == [0, 2]
    with pytest.raises(ValueError):
        label_mapping({0: "1 star", 1: "5 stars"})


def test_softmax_gives_missing_class_zero_and_temperature_flattens() -> None:
    logits = np.array([[2.0, -np.inf, 0.0]])
    p = softmax_with_temperature(logits)
    assert p[0, 1] == 0.0 and abs(p.sum() - 1) < 1e-6
    assert softmax_with_temperature(logits, 3.0)[0, 0] < p[0, 0]


def test_fit_temperature_recovers_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, size=(4000, 3))
    probs = softmax_with_temperature(true_logits)
    labels = np.array([rng.choice(3, p=row / row.sum()) for row in probs.astype(np.float64)])
    t = fit_temperature(true_logits * 2.5, labels)  # a model 2.5x overconfident
    assert 2.0 < t < 3.1


def test_ece_is_zero_for_perfect_calibration_and_large_for_overconfidence() -> None:
    from models.sentiment import expected_calibration_error

    probs = np.tile([0.9, 0.05, 0.05], (1000, 1))
    labels = np.array([0] * 900 + [1] * 100)
    assert expected_calibration_error(probs, labels) < 1e-9
    assert expected_calibration_error(probs, np.array([0] * 500 + [1] * 500)) == pytest.approx(0.4)


def test_evaluate_fails_clearly_without_shared_data(tmp_path, monkeypatch, capsys) -> None:
    from models.evaluation import evaluate_sentiment

    monkeypatch.setenv("SORI_SHARED_DATA", str(tmp_path / "nowhere"))
    assert evaluate_sentiment.main(["--limit", "10"]) == 2
    err = capsys.readouterr().err
    assert "SORI_SHARED_DATA" in err and "nowhere" in err


# --------------------------------------------------------------------------- slow: the builtin model


@pytest.fixture(scope="module")
def classifier():
    from models.sentiment import SentimentClassifier

    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    try:
        yield SentimentClassifier.from_pretrained(BUILTIN_SENTIMENT, device="cpu")
    finally:
        mp.undo()


@pytest.mark.slow
def test_builtin_gives_sensible_labels(classifier) -> None:
    texts = ["배송 빠르고 너무 좋아요", "최악이에요 다시는 안 삽니다", "이거 언제 배송되나요?"]
    scores = classifier.predict(texts)
    assert scores.labels[0] == "positive"
    assert scores.labels[1] == "negative"
    assert scores.probs[2, 2] < 0.5, "a plain question must not be confidently positive"
    assert scores.p_negative[1] > 0.5
    np.testing.assert_allclose(scores.probs.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_builtin_batching_does_not_change_results(classifier) -> None:
    texts = [
        "좋아요",
        "환불 요청했는데 일주일째 답이 없어요. 고객센터 전화도 안 받고 정말 답답합니다.",
        "앱이 자꾸 튕겨요",
        "",
        "포장이 꼼꼼하고 상품도 설명 그대로예요. 다음에 또 주문할게요!",
        "보통이에요",
    ]
    ref = classifier.predict(texts, batch_size=64).probs
    for batch_size in (1, 2, 4):
        np.testing.assert_allclose(classifier.predict(texts, batch_size=batch_size).probs, ref, atol=1e-4)
    reordered = classifier.predict(texts[::-1], batch_size=2).probs[::-1]
    np.testing.assert_allclose(reordered, ref, atol=1e-4)
    assert ref.shape == (len(texts), len(LABELS))


@pytest.mark.slow
def test_builtin_handles_empty_input(classifier) -> None:
    scores = classifier.predict([])
    assert scores.probs.shape == (0, 3) and scores.labels == [] and len(scores.p_negative) == 0


@pytest.mark.slow
def test_builtin_is_loaded_once_per_process(classifier) -> None:
    from models.sentiment import SentimentClassifier

    assert SentimentClassifier.from_pretrained(BUILTIN_SENTIMENT, device="cpu").model is classifier.model


# --------------------------------------------------------------------------- slow: shared data


@pytest.mark.slow
def test_real_corpus_splits_do_not_leak() -> None:
    _shared_or_skip()
    from models.training.sentiment_data import load_corpus

    corpus = load_corpus()
    assert (corpus.groupby("group")["split"].nunique() == 1).all()
    assert corpus["key"].is_unique
    assert set(corpus["source"]) == {"nsmc", "kote", "petitions"}, "only licensed sets may be training data"


@pytest.mark.slow
def test_evaluate_runs_on_a_small_subset(capsys) -> None:
    _shared_or_skip()
    from models.evaluation import evaluate_sentiment

    assert evaluate_sentiment.main(["--limit", "24"]) == 0
    out = capsys.readouterr().out
    assert "NSMC by-movie test" in out and "App reviews" in out and "ECE" in out
    assert "same class after a final period is added" in out
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert header.split()[1:5] == ["model", "lexical", "blend", "tfidf"]  # the config's blend is scored

    assert evaluate_sentiment.main(["--limit", "24", "--no-lexical"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("metric"))
    assert header.split()[1:3] == ["model", "tfidf"]


# --------------------------------------------------------------------------- document sentiment


def _sentence(index: int, label: str, p_negative: float, p_positive: float):
    from pipeline.document import Sentence

    return Sentence(index=index, text=f"문장 {index}", start=0, end=1, sentiment=label, p_negative=p_negative,
                    p_positive=p_positive)


def test_sentences_agree_only_on_one_label_each_sure_enough() -> None:
    from pipeline.components.sentiment import agreeing

    sure = [_sentence(0, "positive", 0.05, 0.9), _sentence(1, "positive", 0.1, 0.7)]
    assert agreeing(sure, 0.6)
    assert not agreeing(sure, 0.8)  # the second is positive at 0.7 only
    assert not agreeing(sure, None)  # null: every document gets its own pass
    assert not agreeing([sure[0], _sentence(1, "negative", 0.9, 0.05)], 0.0)
    # neutral's probability is what the other two leave
    assert agreeing([_sentence(0, "neutral", 0.1, 0.1), _sentence(1, "neutral", 0.2, 0.15)], 0.6)


@pytest.fixture(scope="module")
def sentiment_stages():
    from pipeline.config import load_config
    from pipeline.nlp import Pipeline

    pipeline = Pipeline.from_config(load_config())
    return [pipeline.get(name) for name in ("normalize", "mask", "sentences", "sentiment")]


def _document_sentiment(stages, texts: list[str], from_agreeing_sentences: float | None):
    from datetime import UTC, datetime

    from pipeline.components.sentiment import SentenceSentiment
    from pipeline.document import FeedbackItem
    from pipeline.nlp import documents

    created = datetime(2026, 1, 1, tzinfo=UTC)
    docs = documents(FeedbackItem(source="t", kind="review", channel="review", source_id=str(i),
                                  created_at=created, record_date=created.date(), text=text)
                     for i, text in enumerate(texts))
    *prepare, sentiment = stages
    for stage in prepare:
        stage(docs)
    SentenceSentiment(sentiment.resources, from_agreeing_sentences)(docs)
    return docs


@pytest.mark.slow
def test_a_document_gets_its_own_pass_unless_its_sentences_agree(sentiment_stages) -> None:
    agreeing_review = "정말 최고예요! 너무 좋아요. 또 살게요!"
    mixed_review = "디자인은 예뻐요. 그런데 배터리가 너무 빨리 닳아서 짜증나요."
    spared, passed = _document_sentiment(sentiment_stages, [agreeing_review, mixed_review], 0.6)
    own = _document_sentiment(sentiment_stages, [agreeing_review, mixed_review], None)

    assert len(spared.sentences) == 3 and {s.sentiment for s in spared.sentences} == {"positive"}
    assert spared.sentiment == "positive"
    assert spared.p_negative == pytest.approx(np.mean([s.p_negative for s in spared.sentences]), abs=1e-4)
    assert own[0].sentiment == "positive"  # the whole text's own pass says so too

    assert {s.sentiment for s in passed.sentences} != {passed.sentences[0].sentiment}
    assert (passed.sentiment, passed.p_negative) == (own[1].sentiment, own[1].p_negative)
    assert passed.sentiment == "negative"
