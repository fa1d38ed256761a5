"""The VOC model (`models.voc`) on the hand-labelled real-review sentences, with the figures and the
report format of `models.evaluation.evaluate_tagging`, so the two read side by side.

    python -m models.evaluation.evaluate_voc_model --model DIR [--split tune|test|all] [--without-spaces]

Each labelled sentence is scored alone, without its review or star rating (the pipeline reads both), so
this measures what the model itself knows. A sentence is pain at P(pain) ≥ `--pain-cut`; its categories
are those at P ≥ `--category-cut`, best first, or the best one when none reaches it (`other` only alone);
its touchpoint is the most probable; it needs a response at P ≥ 0.5.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.evaluate_tagging import (
    Prediction,
    evaluate_sentences,
    jsonable,
    sentence_report,
    without_spaces,
)
from models.evaluation.gold import (
    DATASETS,
    SHOPPING_DATASET,
    labelled_reviews,
    labelled_sets,
    labelled_texts,
    shared_data_dir,
)
from models.voc import VocModel, VocScores


def categories_of(probabilities: np.ndarray, keys: Sequence[str], cut: float) -> list[str]:
    """Keys at or above the cut, best first; the best key when none reaches it; `other` only alone."""
    order = np.argsort(-probabilities, kind="stable")
    chosen = [keys[i] for i in order if probabilities[i] >= cut] or [keys[order[0]]]
    return [key for key in chosen if key != "other"] or ["other"]


def predictions(scores: VocScores, categories: Sequence[str], touchpoints: Sequence[str], pain_cut: float,
                category_cut: float) -> list[Prediction]:
    return [
        Prediction(is_pain=bool(scores.pain[i] >= pain_cut), p_negative=float(scores.sentiment[i, 0]),
                   categories=categories_of(scores.categories[i], categories, category_cut),
                   touchpoint=touchpoints[int(scores.touchpoints[i].argmax())],
                   response_needed=bool(scores.response[i] >= 0.5), pain_probability=float(scores.pain[i]),
                   category_score=float(scores.categories[i].max()))
        for i in range(len(scores.pain))
    ]


def run(model_dir: Path, split: str, spaceless: bool, pain_cut: float, category_cut: float) -> dict[str, Any]:
    from pipeline.config import load_config
    from pipeline.text.korean import KoreanAnalyzer, shared_kiwi

    started = time.time()
    root = shared_data_dir((*DATASETS, SHOPPING_DATASET))
    taxonomy = load_config().load_taxonomy()
    model = VocModel(model_dir)
    analyzer = KoreanAnalyzer(shared_kiwi())
    result: dict[str, Any] = {"split": split, "model": str(model_dir), "without_spaces": spaceless}
    for name, rows in labelled_sets(taxonomy):
        rows = [r for r in rows if split == "all" or r.split == split]
        texts = labelled_texts(rows, [r.text for r in labelled_reviews(rows, root)], analyzer)
        if spaceless:
            texts = [without_spaces(t) for t in texts]
        preds = predictions(model.score(texts), model.settings.categories, model.settings.touchpoints,
                            pain_cut, category_cut)
        result[name] = evaluate_sentences(rows, preds, list(taxonomy.categories))
    result["seconds"] = round(time.time() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="a folder written by train_voc")
    parser.add_argument("--split", default="tune", choices=["tune", "test", "all"])
    parser.add_argument("--without-spaces", action="store_true", help="read every text without spaces")
    parser.add_argument("--pain-cut", type=float, default=0.5)
    parser.add_argument("--category-cut", type=float, default=0.5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args.model, args.split, args.without_spaces, args.pain_cut, args.category_cut)
    lines = sentence_report("pain sentences", args.split, result["sentences"])
    lines += ["", *sentence_report("shopping reviews (KOTE)", args.split, result["shopping_sentences"])]
    print("\n".join(lines) + f"\n\n{result['seconds']} s; model {args.model}")
    if args.json:
        args.json.write_text(json.dumps(jsonable(result), ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
