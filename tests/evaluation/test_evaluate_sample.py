"""The evaluation of sori on its bundled sample against the generator's ground truth."""

from __future__ import annotations

import pytest

from models.evaluation.evaluate_sample import ground_truth, main, report, score

KEYS = ["delivery", "quality", "other"]


def test_items_are_scored_against_what_the_generator_put_in() -> None:
    truth = {("reviews", "1"): ("delivery",), ("reviews", "2"): (), ("chats", "c1"): ("quality", "delivery")}
    found = {("reviews", "1"): {"delivery"}, ("reviews", "2"): {"other"}, ("chats", "c1"): {"other"}}
    result = score(truth, found, KEYS, surest={("reviews", "1"): 0.95, ("reviews", "2"): 0.6})
    assert result["pain"]["reviews"]["accuracy"] == 0.5  # a false alarm on the complaint-free review
    assert result["pain"]["chats"]["recall"] == 1.0
    assert result["pain"]["all"]["n"] == 3
    assert result["categories"]["delivery"] == {"support": 2, "predicted": 1, "precision": 1.0, "recall": 0.5,
                                               "f1": 0.6667}
    assert "other" not in result["categories"]  # the generator never writes an uncategorised complaint
    assert result["left_other"] == 1
    at = {c["cut"]: c for c in result["confidence"]}  # items with a probability: the false alarm is unsure
    assert at[0.5] == {"cut": 0.5, "kept": 1.0, "precision": 0.5}
    assert at[0.9] == {"cut": 0.9, "kept": 0.5, "precision": 1.0}
    assert "delivery" in report(result) and "how sure" in report(result)


def test_items_the_generator_never_wrote_are_an_error() -> None:
    with pytest.raises(ValueError, match="not in the generator's sample"):
        score({("reviews", "1"): ()}, {("reviews", "1"): set(), ("mine", "x"): set()}, KEYS)


def test_the_ground_truth_covers_every_source_of_the_sample() -> None:
    truth = ground_truth()
    assert {source for source, _ in truth} == {"reviews", "surveys", "chats"}
    assert any(truth.values()) and not all(truth.values())


@pytest.mark.slow
def test_the_evaluation_runs_on_a_few_items_of_each_source(tmp_path, capsys) -> None:
    out = tmp_path / "sample.json"
    assert main(["--limit", "6", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bundled sample: 18 items" in printed
    assert out.read_text(encoding="utf-8").count('"accuracy"') == 4  # three sources and all
