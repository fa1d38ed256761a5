"""The written VOC corpus is well-formed, large enough for every head, and shares no sentence with the
hand-labelled evaluation sets it must never be trained on."""

from __future__ import annotations

import pytest

from models.training.voc_corpus import CorpusError, count, load_voc_corpus, parse_row, text_key
from pipeline.config import load_config


def test_the_corpus_meets_every_minimum():
    counts = count(load_voc_corpus())
    assert counts.shortfalls(load_config().load_taxonomy()) == []
    assert set(counts.channels) == {"review", "survey", "chat"}
    assert counts.multi_label >= 500


def test_a_row_that_breaks_the_guide_is_refused_with_its_place():
    taxonomy = load_config().load_taxonomy()
    row = {"text": "수건에서 냄새가 나요", "has_pain": "1", "categories": "quality;other",
           "touchpoint": "usage", "response_needed": "0", "channel": "review", "domain": "hotel",
           "noise": "clean", "kind": "complaint"}
    with pytest.raises(CorpusError, match=r"x.csv:7: `other` is never given together"):
        parse_row(row, taxonomy, "x.csv:7")
    with pytest.raises(CorpusError, match="no categories, touchpoint or response"):
        parse_row({**row, "has_pain": "0", "categories": "quality"}, taxonomy, "x.csv:8")


def test_no_corpus_sentence_is_an_evaluation_sentence():
    from models.evaluation.gold import (
        DATASETS,
        SHOPPING_DATASET,
        labelled_reviews,
        labelled_sets,
        labelled_texts,
        shared_data_dir,
    )
    from models.training.shared_data import SharedDataMissing
    from pipeline.text.korean import KoreanAnalyzer, shared_kiwi

    try:
        root = shared_data_dir((*DATASETS, SHOPPING_DATASET))
    except SharedDataMissing as exc:
        pytest.skip(str(exc))
    written = {text_key(s.text) for s in load_voc_corpus()}
    analyzer = KoreanAnalyzer(shared_kiwi())
    for _, rows in labelled_sets(load_config().load_taxonomy()):
        texts = labelled_texts(rows, [r.text for r in labelled_reviews(rows, root)], analyzer)
        assert not [t for t in texts if text_key(t) in written]
