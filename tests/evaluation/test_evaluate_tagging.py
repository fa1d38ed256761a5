"""The hand-labelled pain-tagging set is well-formed, and the evaluation command runs on it.

The label file is checked without any data or model; the sentences themselves and the evaluation need
the public corpora in `$SORI_SHARED_DATA` (`../shared/data`) and are skipped without them.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from models.evaluation.evaluate_tagging import (
    Prediction,
    bootstrap_intervals,
    confidence_cuts,
    disagreements,
    evaluate_sentences,
    main,
    with_labelled_training,
    without_spaces,
    write_disagreements,
)
from models.evaluation.gold import (
    DATASETS,
    LABEL_COLUMNS,
    LABELS_FILE,
    SHOPPING_DATASET,
    SHOPPING_LABELS_FILE,
    LabelledSentence,
    draw_sample,
    draw_shopping_sample,
    label_problems,
    labelled_reviews,
    labelled_texts,
    load_labels,
    read_table,
    shared_data_dir,
)
from models.evaluation.scoring import binary_scores, category_scores, macro_f1
from models.training.shared_data import SharedDataMissing
from pipeline.config import load_config


@pytest.fixture(scope="module")
def taxonomy():
    return load_config().load_taxonomy()


@pytest.fixture(scope="module")
def labels():
    return load_labels()


@pytest.fixture(scope="module")
def shopping_labels():
    return load_labels(SHOPPING_LABELS_FILE)


@pytest.fixture(scope="module")
def shared():
    try:
        return shared_data_dir()
    except SharedDataMissing as exc:
        pytest.skip(f"public corpora not available: {exc}")


@pytest.mark.parametrize("path", [LABELS_FILE, SHOPPING_LABELS_FILE], ids=["reviews", "shopping"])
def test_label_files_hold_ids_and_labels_only(path):
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == LABEL_COLUMNS  # no text column: corpus texts never enter the repository


def test_label_file_is_well_formed(labels, taxonomy):
    assert len(labels) >= 400
    assert label_problems(labels, taxonomy.categories, taxonomy.touchpoints) == []
    assert all(not row.categories and not row.touchpoint for row in labels if not row.has_pain)
    splits = Counter((row.dataset, row.split) for row in labels)
    for dataset in DATASETS:
        tune, test = splits[(dataset, "tune")], splits[(dataset, "test")]
        assert tune and test and abs(tune - test) <= 1, (dataset, tune, test)
    share = sum(row.has_pain for row in labels) / len(labels)
    assert 0.4 <= share <= 0.7


def test_shopping_label_file_is_well_formed(shopping_labels, taxonomy):
    assert len(shopping_labels) >= 400
    assert label_problems(shopping_labels, taxonomy.categories, taxonomy.touchpoints) == []
    assert {row.dataset for row in shopping_labels} == {SHOPPING_DATASET}
    splits = Counter(row.split for row in shopping_labels)
    assert splits["tune"] >= 200 and splits["test"] >= 200
    # a comment lies in one split: KOTE's own validation (tune) or test part
    assert all(len({r.split for r in shopping_labels if r.review_id == c}) == 1
               for c in {r.review_id for r in shopping_labels})


def test_label_problems_names_each_broken_rule(taxonomy):
    def row(**changes):
        base = {"dataset": DATASETS[0], "review_id": "r", "sentence_index": 0, "sentence_sha1": "0" * 40,
                "has_pain": True, "categories": ("quality",), "touchpoint": "usage", "split": "test",
                "response_needed": False}
        return LabelledSentence(**{**base, **changes})

    rows = [
        row(review_id="a", has_pain=False),
        row(review_id="b", categories=("made_up",)),
        row(review_id="c", categories=("other", "quality")),
        row(review_id="d", touchpoint="moon"),
        row(review_id="e", split="train"),
        row(review_id="f", categories=()),
        row(review_id="g", response_needed=None),
        row(review_id="h", has_pain=False, categories=(), touchpoint="", response_needed=True),
    ]
    problems = "\n".join(label_problems(rows, taxonomy.categories, taxonomy.touchpoints))
    for expected in ("has_pain=0 with categories", "unknown categories", "`other` together",
                     "unknown touchpoint", "split must be", "without a category", "without response_needed",
                     "has_pain=0 with categories, a touchpoint or response_needed"):
        assert expected in problems


def test_scores():
    assert binary_scores([True, True, False, False], [True, False, True, False]) == {
        "n": 4, "accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5,
        "tp": 1, "fp": 1, "fn": 1, "tn": 1}
    per_key = category_scores([["quality"], ["quality", "staff"], ["other"]],
                              [["quality"], ["staff"], ["quality"]], ["quality", "staff", "other"])
    assert per_key["quality"] == {"support": 2, "predicted": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert per_key["staff"]["f1"] == 1.0 and per_key["other"]["recall"] == 0.0
    assert macro_f1(per_key, min_support=2) == (0.5, ["quality"])


def test_confidence_cuts_show_what_filtering_on_the_confidence_columns_keeps():
    def row(i, pain, categories=()):
        return LabelledSentence("app_reviews_playstore", str(i), 0, "x", pain, tuple(categories),
                                "usage" if pain else "", "test")

    rows = [row(0, True, ["staff"]), row(1, True, ["quality"]), row(2, False), row(3, True, ["quality"])]
    preds = [Prediction(True, 0.9, ["staff"], "usage", pain_probability=0.95, category_score=0.6),
             Prediction(True, 0.6, ["other"], "usage", pain_probability=0.6, category_score=0.0),
             Prediction(True, 0.8, ["quality"], "usage", pain_probability=0.75, category_score=0.35),
             Prediction(False, 0.2, ["quality"], "usage", pain_probability=0.3, category_score=0.45)]
    cuts = confidence_cuts(rows, preds)
    assert cuts["pain_probability"] == [{"cut": 0.5, "kept": 1.0, "precision": 0.6667},
                                        {"cut": 0.7, "kept": 0.6667, "precision": 0.5},
                                        {"cut": 0.9, "kept": 0.3333, "precision": 1.0}]
    by_cut = {c["cut"]: c for c in cuts["category_score"]}
    assert by_cut[0.0] == {"cut": 0.0, "kept": 1.0, "primary_right": 0.6667}  # "other" for quality is wrong
    assert by_cut[0.4] == {"cut": 0.4, "kept": 0.6667, "primary_right": 1.0}
    assert by_cut[0.5] == {"cut": 0.5, "kept": 0.3333, "primary_right": 1.0}


def test_bootstrap_intervals_bracket_the_figures():
    def row(i, pain, categories):
        return LabelledSentence(DATASETS[0], f"r{i}", 0, "0" * 40, pain, categories,
                                "usage" if pain else "", "test")

    rows = [row(i, i % 3 > 0, ("quality",) if i % 3 == 1 else ("staff",) if i % 3 else ()) for i in range(60)]
    right = [Prediction(r.has_pain, 0.9 if r.has_pain else 0.1, list(r.categories), r.touchpoint or None)
             for r in rows]
    assert bootstrap_intervals(rows, right, ["quality", "staff"]) == {
        "has_pain_accuracy": [1.0, 1.0], "category_macro_f1_tagger": [1.0, 1.0],
        "touchpoint_accuracy_tagger": [1.0, 1.0]}
    # every fourth sentence wrong in each way: the point figures lie inside their intervals
    wrong = [Prediction(not p.is_pain, p.p_negative, ["staff"], "support") if i % 4 == 0 else p
             for i, p in enumerate(right)]
    intervals = bootstrap_intervals(rows, wrong, ["quality", "staff"])
    pains = [(r, p) for r, p in zip(rows, wrong, strict=True) if r.has_pain]
    point = {"has_pain_accuracy": binary_scores([r.has_pain for r in rows],
                                                [p.is_pain for p in wrong])["accuracy"],
             "category_macro_f1_tagger": macro_f1(category_scores([r.categories for r, _ in pains],
                                                                  [p.categories for _, p in pains],
                                                                  ["quality", "staff"]), 1)[0],
             "touchpoint_accuracy_tagger": sum(r.touchpoint == p.touchpoint for r, p in pains) / len(pains)}
    for name, (low, high) in intervals.items():
        assert 0.0 <= low < point[name] < high <= 1.0, (name, low, point[name], high)
    assert intervals == bootstrap_intervals(rows, wrong, ["quality", "staff"])  # seeded
    # a subset too small for any category to reach the support a macro-F1 needs
    assert bootstrap_intervals(rows, wrong, [])["category_macro_f1_tagger"] == [0.0, 0.0]


def test_figures_per_dataset_show_a_domain_the_pooled_figure_hides(taxonomy):
    def row(dataset, i, categories):
        return LabelledSentence(dataset, f"r{i}", 0, "0" * 40, True, categories, "usage", "test")

    apps = [row(DATASETS[0], i, ("reliability",)) for i in range(10)]
    hotels = [row(DATASETS[1], i, ("staff",)) for i in range(10)]
    preds = ([Prediction(True, 0.9, ["reliability"], "usage")] * 10
             + [Prediction(i < 5, 0.9, ["quality"], "usage") for i in range(10)])
    figures = evaluate_sentences(apps + hotels, preds, list(taxonomy.categories))["per_dataset"]
    assert figures[DATASETS[0]] == {"n": 10, "gold_pain": 10, "has_pain_accuracy": 1.0,
                                    "category_macro_f1_tagger": 1.0, "macro_f1_keys": ["reliability"],
                                    "touchpoint_accuracy_tagger": 1.0}
    assert figures[DATASETS[1]]["has_pain_accuracy"] == 0.5
    assert figures[DATASETS[1]]["category_macro_f1_tagger"] == 0.0
    assert figures[DATASETS[1]]["macro_f1_keys"] == ["staff"]


def test_disagreements_name_what_is_wrong():
    def row(i, pain, categories=(), touchpoint="", asks=None):
        return LabelledSentence(DATASETS[0], f"r{i}", 0, "0" * 40, pain, categories, touchpoint, "tune",
                                False if pain and asks is None else asks)

    rows = [row(0, True, ("quality",), "usage"), row(1, True, ("staff",), "support"), row(2, False),
            row(3, True, ("policy", "price_payment"), "purchase"), row(4, True, ("quality",), "usage", True)]
    preds = [Prediction(True, 0.9, ["quality"], "usage"), Prediction(False, 0.2, ["quality"], "support"),
             Prediction(True, 0.7, ["quality"], "usage"), Prediction(True, 0.8, ["price_payment"], "return"),
             Prediction(True, 0.9, ["quality"], "usage")]
    found = disagreements(rows, ["a", "b", "c", "d", "e"], preds)
    assert [(d["review_id"], d["wrong"]) for d in found] == [
        ("r1", "missed pain; categories"), ("r2", "false alarm"), ("r3", "categories; touchpoint"),
        ("r4", "response_needed")]
    assert found[1]["predicted_categories"] == "" and found[2]["categories"] == "policy;price_payment"
    assert (found[3]["response_needed"], found[3]["predicted_response_needed"]) == (1, 0)


def test_response_needed_is_scored_on_gold_pain_sentences(taxonomy):
    def row(i, pain, asks):
        return LabelledSentence(DATASETS[0], f"r{i}", 0, "0" * 40, pain, ("quality",) if pain else (),
                                "usage" if pain else "", "test", asks)

    rows = [row(0, True, True), row(1, True, True), row(2, True, False), row(3, False, None)]
    preds = [Prediction(True, 0.9, ["quality"], "usage", response_needed=True),
             Prediction(False, 0.3, ["quality"], "usage", response_needed=True),  # sentiment missed it
             Prediction(True, 0.9, ["quality"], "usage", response_needed=True),
             Prediction(False, 0.1, [], None)]
    figures = evaluate_sentences(rows, preds, list(taxonomy.categories))
    assert figures["response_needed"]["n"] == 3
    assert (figures["response_needed"]["precision"], figures["response_needed"]["recall"]) == (0.6667, 1.0)
    assert figures["response_needed_end_to_end"]["recall"] == 0.5


def test_missing_corpora_fail_with_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SORI_SHARED_DATA", str(tmp_path / "nowhere"))
    assert main(["--limit", "1"]) == 2
    err = capsys.readouterr().err
    assert "SORI_SHARED_DATA" in err and "nowhere" in err


def test_labelled_sentences_match_the_corpus_and_the_draw(labels, shared):
    """The checksums still match the corpus, and the seeded draw gives exactly the labelled sentences."""
    from pipeline.text.korean import KoreanAnalyzer

    analyzer = KoreanAnalyzer()
    reviews = labelled_reviews(labels, shared)
    assert len(labelled_texts(labels, [r.text for r in reviews], analyzer)) == len(labels)
    assert all(r.rating is None or 1 <= r.rating <= 5 for r in reviews)
    drawn = {(d["dataset"], d["review_id"], d["sentence_index"], d["sentence_sha1"])
             for d in draw_sample(shared, analyzer)}
    assert drawn == {(r.dataset, r.review_id, r.sentence_index, r.sentence_sha1) for r in labels}


def test_shopping_sentences_match_the_corpus_and_the_draw(shopping_labels, shared):
    """Every labelled sentence is in the seeded draw and in the corpus; a drawn comment is labelled whole
    or, when it is not a customer's feedback, left out whole. The tune split is KOTE's validation part,
    the test split KOTE's test part (never seen by the sentiment adapter)."""
    from pipeline.text.korean import KoreanAnalyzer

    analyzer = KoreanAnalyzer()
    reviews = labelled_reviews(shopping_labels, shared)
    assert len(labelled_texts(shopping_labels, [r.text for r in reviews], analyzer)) == len(shopping_labels)
    assert all(r.rating is None for r in reviews)
    drawn = Counter()
    for d in draw_shopping_sample(shared, analyzer):
        drawn[d["review_id"]] += 1
    labelled = Counter(r.review_id for r in shopping_labels)
    assert all(drawn[comment] == n for comment, n in labelled.items())
    assert 0.7 <= len(labelled) / len(drawn) <= 1.0
    table = read_table(shared, SHOPPING_DATASET)
    source_split = dict(zip(table["comment_id"], table["split"], strict=True))
    assert all({"validation": "tune", "test": "test"}[source_split[r.review_id]] == r.split
               for r in shopping_labels)


def _rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_labelled_sentences_extend_what_the_heads_learn_from(tmp_path):
    config = load_config()
    rows = [LabelledSentence("app_reviews_playstore", "r1", 0, "x", True, ("reliability", "account"), "usage",
                             "tune", False),
            LabelledSentence("app_reviews_playstore", "r2", 1, "y", False, (), "", "tune")]
    texts = ["로그인하면 앱이 자꾸 꺼져요", "매일 잘 쓰고 있어요"]
    extended = with_labelled_training(config, rows, texts, tmp_path)
    phrases, examples = _rows(extended.tagging.phrases), _rows(extended.pain.examples)
    added = ["로그인하면 앱이 자꾸 꺼져요", "reliability;account", "usage"]
    assert phrases == [*_rows(config.tagging.phrases), added]
    assert examples == [*_rows(config.pain.examples), ["매일 잘 쓰고 있어요", "0", "labelled"]]
    assert extended.tagging.phrases.parent == tmp_path and config.tagging.phrases.parent != tmp_path


@pytest.mark.parametrize("split", ["tune", "all"])
def test_learning_from_the_scored_split_is_refused(split, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--split", split, "--learn-from", "tune"])
    assert exit_info.value.code == 2 and "needs another --split" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluation_runs_on_a_small_subset(shared, tmp_path, capsys):
    out, errors = tmp_path / "figures.json", tmp_path / "errors.csv"
    assert main(["--split", "all", "--limit", "20", "--json", str(out), "--errors", str(errors)]) == 0
    printed = capsys.readouterr().out
    assert "has_pain  accuracy" in printed and "naver_shopping_absa" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    sentences = figures["sentences"]
    assert sentences["n"] == 20 and figures["shopping_sentences"]["n"] == 20
    assert "shopping reviews (KOTE" in printed
    for value in (sentences["has_pain"]["accuracy"], sentences["category_macro_f1_tagger"],
                  sentences["touchpoint_accuracy_tagger"], figures["kr3_aspect_gold"]["agreement"]):
        assert 0.0 <= value <= 1.0
    assert figures["naver_shopping_absa"]["texts"] == 20
    assert "response_needed on" in printed and 0.0 <= sentences["response_needed"]["f1"] <= 1.0
    with open(errors, encoding="utf-8", newline="") as fh:
        wrong = list(csv.DictReader(fh))
    assert all(row["wrong"] and row["text"] for row in wrong) and len(wrong) < 20


def test_without_spaces_keeps_line_breaks():
    assert without_spaces("배송이 늦어요.\n포장은\t괜찮아요\u3000") == "배송이늦어요.\n포장은괜찮아요"


@pytest.mark.slow
def test_evaluation_reads_the_texts_without_spaces(shared, tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert main(["--split", "tune", "--limit", "10", "--without-spaces", "--json", str(out)]) == 0
    assert "every text read without spaces" in capsys.readouterr().out
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["without_spaces"] and figures["sentences"]["n"] == 10
    assert 0.0 <= figures["sentences"]["has_pain"]["accuracy"] <= 1.0


def test_the_errors_file_shows_a_formula_like_text_as_text(tmp_path):
    path = tmp_path / "errors.csv"
    write_disagreements(path, [{"dataset": "shopping", "text": "=HYPERLINK(\"http://evil.example\")",
                                "p_negative": -0.5, "categories": "@SUM(1,1)"}])
    with open(path, encoding="utf-8", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert row["text"] == "'=HYPERLINK(\"http://evil.example\")" and row["categories"] == "'@SUM(1,1)"
    assert row["p_negative"] == "-0.5" and row["dataset"] == "shopping"
