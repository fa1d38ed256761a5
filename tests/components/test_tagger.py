"""Pain categories and touchpoints: the phrase file, the category head, the touchpoint priors.

The sentences below were written for these tests; models/evaluation/evaluate_tagging.py measures quality.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from pipeline.components.tagger import OTHER, PainTagger, read_phrases, training_phrases
from pipeline.config import TaggingConfig, Taxonomy, load_config
from pipeline.document import Sentence
from pipeline.text.korean import KoreanAnalyzer


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def taxonomy(config) -> Taxonomy:
    return config.load_taxonomy()


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_shipped_phrases_cover_every_category(config, taxonomy) -> None:
    phrases = read_phrases(config.tagging.phrases, taxonomy)
    primaries = Counter(p.categories[0] for p in phrases)
    assert set(primaries) == set(taxonomy.categories)
    assert min(primaries.values()) >= 30
    assert len({p.text for p in phrases}) == len(phrases)


@pytest.mark.parametrize("row", [["  ", "delivery", "delivery"], ["배송이 안 와요", "", "delivery"]])
def test_a_phrase_without_text_or_category_names_its_line(tmp_path, taxonomy, row) -> None:
    path = _write(tmp_path / "phrases.csv", [["text", "categories", "touchpoint"],
                                             ["포장이 찢어졌어요", "packaging", "delivery"], row])
    with pytest.raises(ValueError, match=r"phrases.csv:3: a phrase needs a text and at least one category"):
        read_phrases(path, taxonomy)


def test_labels_the_taxonomy_lacks_are_logged_and_dropped(tmp_path, taxonomy, caplog) -> None:
    """An analyst removes a category in the taxonomy: its phrases become counter-examples."""
    path = _write(tmp_path / "phrases.csv", [["text", "categories", "touchpoint"],
                                             ["포장이 찢어졌어요", "packaging;shipping", "delivery"],
                                             ["배송이 안 와요", "shipping", "mailbox"]])
    phrases = read_phrases(path, taxonomy)
    assert [p.categories for p in phrases] == [("packaging",), ()]
    assert "{'shipping': 2, 'touchpoint mailbox': 1}" in caplog.text
    assert read_phrases(path, taxonomy) == phrases  # the tagger and the complaint head both read it
    assert caplog.text.count("labels not in the taxonomy") == 1


def test_phrase_file_needs_its_columns(tmp_path, taxonomy) -> None:
    with pytest.raises(ValueError, match="columns must be text,categories,touchpoint"):
        read_phrases(_write(tmp_path / "p.csv", [["sentence", "label"], ["a", "b"]]), taxonomy)


def test_without_a_phrase_file_the_head_learns_the_taxonomy_examples(taxonomy) -> None:
    phrases = training_phrases(taxonomy, None)
    assert {p.categories[0] for p in phrases} == {k for k, e in taxonomy.categories.items() if e.examples}


def test_a_missing_phrase_file_is_a_clear_error(tmp_path, taxonomy) -> None:
    with pytest.raises(FileNotFoundError, match="tagging.phrases: .*nope.csv is not a file"):
        training_phrases(taxonomy, tmp_path / "nope.csv")


def test_a_category_touchpoint_must_exist(taxonomy) -> None:
    raw = taxonomy.model_dump()
    raw["categories"]["account"]["touchpoint"] = "lobby"
    with pytest.raises(ValueError, match="unknown touchpoint 'lobby'"):
        Taxonomy.model_validate(raw)


@pytest.fixture(scope="module")
def resources(config):
    from pipeline.resources import Resources

    return Resources.for_models(config.models)


def _sentence(resources, text: str) -> Sentence:
    """A pain sentence as the pipeline leaves it for the tagger: embedded, with the VOC model's heads."""
    sentence = Sentence(index=0, start=0, end=len(text), text=text, compact=text.replace(" ", "").lower(),
                        is_pain=True)
    resources.embed_sentences([sentence])
    return sentence


def _tag(tagger: PainTagger, resources, text: str, kind: str = "review") -> Sentence:
    sentence = _sentence(resources, text)
    tagger.tag_sentence(sentence, kind)
    return sentence


@pytest.mark.slow
@pytest.mark.parametrize(("text", "category", "touchpoint"), [
    ("비밀번호를 세 번 틀렸다고 아예 막혀버렸네요", "account", "signup"),
    ("상담원이 제 말을 끝까지 듣지도 않고 끊었어요", "staff", "support"),
    ("방에서 하수구 냄새가 올라와요", "quality", "usage"),
    ("앱을 켜면 하얀 화면에서 멈춰요", "reliability", "usage"),
])
def test_written_complaints_get_their_category_and_touchpoint(config, taxonomy, resources, text, category,
                                                              touchpoint) -> None:
    sentence = _tag(PainTagger(taxonomy, config.tagging, resources), resources, text)
    assert sentence.categories[0] == category
    assert sentence.touchpoint == touchpoint
    assert OTHER not in sentence.categories


@pytest.mark.slow
def test_the_primary_category_pulls_its_touchpoint(config, taxonomy, resources) -> None:
    """The taxonomy's `touchpoint` of a category is the one the tagger favours for it."""
    text = "비밀번호를 세 번 틀렸다고 아예 막혀버렸네요"
    raw = taxonomy.model_dump()
    raw["categories"]["account"]["touchpoint"] = "support"
    moved = Taxonomy.model_validate(raw)
    strong = TaggingConfig(**{**config.tagging.model_dump(), "category_touchpoint_bonus": 1.0})
    assert _tag(PainTagger(taxonomy, strong, resources), resources, text).touchpoint == "signup"
    assert _tag(PainTagger(moved, strong, resources), resources, text).touchpoint == "support"


@pytest.mark.slow
def test_the_voc_models_categories_are_blended_and_a_new_category_reads_its_examples(config, taxonomy,
                                                                                      resources) -> None:
    """P(category) is the example head's and the VOC model's category head's, shared by
    `tagging.model_weight`; a category an analyst adds after training has the example head alone,
    which learns it from its examples at once."""
    raw = taxonomy.model_dump()
    raw["categories"]["accessibility"] = {
        "label": "접근성", "touchpoint": "usage", "keywords": ["휠체어", "점자", "경사로"],
        "examples": ["휠체어로는 들어갈 수가 없어요", "점자 안내가 하나도 없어요",
                     "경사로가 없어서 힘들었어요"]}
    edited = Taxonomy.model_validate(raw)
    tagger = PainTagger(edited, config.tagging, resources)
    sentence = _sentence(resources, "휠체어 타고는 입구 계단 때문에 못 들어가요")
    assert sentence.heads is not None and "accessibility" not in sentence.heads.categories
    example = tagger.head.probabilities(sentence.embedding)
    weight, model = config.tagging.model_weight, sentence.heads.categories
    blended = tagger.category_probabilities(sentence)
    for key, alone, both in zip(tagger.category_keys, example, blended, strict=True):
        expected = alone if key == "accessibility" else (1 - weight) * alone + weight * model[key]
        assert both == pytest.approx(expected)
    tagger.tag_sentence(sentence, "review")
    assert sentence.categories[0] == "accessibility"


@pytest.mark.slow
def test_the_head_is_fitted_once_per_phrase_set(config, taxonomy, resources) -> None:
    first = PainTagger(taxonomy, config.tagging, resources)
    assert PainTagger(taxonomy, config.tagging, resources).head is first.head
    examples_only = TaggingConfig(**{**config.tagging.model_dump(), "phrases": None})
    assert PainTagger(taxonomy, examples_only, resources).head is not first.head


def _document(analyzer, resources, text: str):
    from datetime import UTC, datetime

    from pipeline.document import Document, FeedbackItem

    created = datetime(2026, 1, 1, tzinfo=UTC)
    doc = Document(item=FeedbackItem(source="t", kind="review", channel="review", source_id="1",
                                     created_at=created, record_date=created.date(), text=text))
    doc.sentences = analyzer.sentences([text])[0]
    resources.embed_sentences(doc.sentences)
    for sentence in doc.sentences:
        sentence.is_pain = True
    return doc


@pytest.mark.slow
def test_a_follow_up_that_names_nothing_takes_its_neighbours_tags(config, taxonomy, resources) -> None:
    """The guide labels "빠른 조치 부탁드립니다" after a crash report by what it refers to."""
    from pipeline.text.korean import KoreanAnalyzer

    analyzer = KoreanAnalyzer()
    text = "앱을 켜면 하얀 화면에서 멈춰요. 빠른 조치 부탁드립니다."
    doc = _document(analyzer, resources, text)
    assert len(doc.sentences) == 2
    PainTagger(taxonomy, config.tagging, resources)([doc])
    assert doc.sentences[1].categories == doc.sentences[0].categories == ["reliability"]
    assert doc.sentences[1].touchpoint == doc.sentences[0].touchpoint
    alone = TaggingConfig(**{**config.tagging.model_dump(), "inherit_distance": 0})
    doc = _document(analyzer, resources, text)
    PainTagger(taxonomy, alone, resources)([doc])
    assert doc.sentences[1].categories == [OTHER]


@pytest.mark.slow
def test_a_verdict_on_the_whole_stays_other(config, taxonomy, resources) -> None:
    """The guide's general dissatisfaction ("최악의 여행이었어요") is `other`: it does not take the tags of
    the complaint beside it; a verdict that names what failed keeps that category."""
    from pipeline.text.korean import KoreanAnalyzer

    analyzer = KoreanAnalyzer()
    doc = _document(analyzer, resources, "에어컨이 고장 나서 밤새 더웠어요. 최악의 여행이었어요.")
    assert len(doc.sentences) == 2
    PainTagger(taxonomy, config.tagging, resources)([doc])
    assert doc.sentences[0].categories[0] == "quality"
    assert doc.sentences[1].categories == [OTHER]
    doc = _document(analyzer, resources, "배송이 너무 늦어서 실망했어요.")
    PainTagger(taxonomy, config.tagging, resources)([doc])
    assert doc.sentences[0].categories == ["delivery"]


def test_the_taxonomy_names_verdicts_as_keywords_of_other(taxonomy) -> None:
    assert {"최악", "비추", "후회"} <= set(taxonomy.categories[OTHER].keywords)


@pytest.mark.slow
def test_a_complaint_beside_a_denied_problem_is_tagged_by_the_complaint(config, taxonomy, resources) -> None:
    """Read whole, the problem a sentence denies can name its category ("광고 없어서 좋은데 …" is
    ads_spam first); read as what it says besides, the complaint does. (The VOC model's run 3 also read
    "배송 지연 없이 …" whole as delivery; run 5 reads it as packaging either way.)"""
    tagger = PainTagger(taxonomy, config.tagging, resources)
    texts = ["광고 없어서 좋은데 결제가 자꾸 실패해요", "배송 지연 없이 왔는데 포장이 엉망이에요"]
    sentences = [KoreanAnalyzer().sentences([text])[0][0] for text in texts]
    resources.embed_sentences(sentences)
    for sentence in sentences:
        sentence.is_pain = True
    said = tagger.said_besides_denials(sentences)
    for sentence in sentences:
        tagger.tag_sentence(sentence, "review")
    assert sentences[0].categories[0] == "ads_spam"
    for sentence in sentences:
        tagger.tag_sentence(sentence, "review", said[id(sentence)])
    assert [s.categories[0] for s in sentences] == ["price_payment", "packaging"]
    assert not {"ads_spam", "delivery"} & {c for s in sentences for c in s.categories}
