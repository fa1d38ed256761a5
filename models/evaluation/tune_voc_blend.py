"""Tune how much the VOC model's heads weigh against the editable layer, on the tune split.

    python -m models.evaluation.tune_voc_blend [--split tune] [--config PATH] [--json PATH]

With a VOC model (`models.voc`), pain, categories and touchpoints each blend the model's head with what
the analyst edits (examples, phrases, keywords): `pain.model_weight`, `tagging.model_weight` and
`tagging.touchpoint_model_weight` in configs/sori.yaml. This builds the pipeline once and scores the
labelled sentences of both gold sets (`models.evaluation.evaluate_tagging`) at each weight of one
setting while the others keep their configured values: has_pain accuracy for the pain weight, the
tagger's category macro-F1 for the category weight, the tagger's touchpoint accuracy for the
touchpoint weight. Never tune on `--split test`: it is what the goals are read on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.evaluation.evaluate_tagging import evaluate_sentences, predict_labelled
from models.evaluation.gold import (
    DATASETS,
    SHOPPING_DATASET,
    labelled_reviews,
    labelled_sets,
    labelled_texts,
    shared_data_dir,
)

PAIN_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
CATEGORY_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# Touchpoint scores are cosine similarities, whose differences between touchpoints are a few hundredths.
TOUCHPOINT_WEIGHTS = (0.0, 0.01, 0.02, 0.05, 0.25)


def run(split: str, config_path: str | None) -> dict[str, Any]:
    from pipeline.config import load_config
    from pipeline.nlp import Pipeline
    from pipeline.text.korean import KoreanAnalyzer, shared_kiwi

    root = shared_data_dir((*DATASETS, SHOPPING_DATASET))
    config = load_config(config_path)
    if not config.models.voc:
        raise SystemExit("models.voc is null in this config: there are no model heads to blend")
    taxonomy = config.load_taxonomy()
    pipeline = Pipeline.from_config(config)
    analyzer = KoreanAnalyzer(shared_kiwi())
    sets = []
    for name, rows in labelled_sets(taxonomy):
        rows = [r for r in rows if r.split == split]
        reviews = labelled_reviews(rows, root)
        sets.append((name, rows, reviews, labelled_texts(rows, [r.text for r in reviews], analyzer)))
    detector, tagger = pipeline.get("pain"), pipeline.get("tag")
    base_pain, base_tagging = detector.model_weight, tagger.config

    def score(pain: float, tagging: dict[str, float]) -> dict[str, dict[str, float]]:
        detector.model_weight = pain
        tagger.config = base_tagging.model_copy(update=tagging)
        out = {}
        for name, rows, reviews, sentences in sets:
            figures = evaluate_sentences(rows, predict_labelled(pipeline, rows, reviews, sentences),
                                         list(taxonomy.categories))
            out[name] = {"has_pain_accuracy": figures["has_pain"]["accuracy"],
                         "category_macro_f1": figures["category_macro_f1_tagger"],
                         "touchpoint_accuracy": figures["touchpoint_accuracy_tagger"]}
        return out

    result: dict[str, Any] = {"split": split, "models": pipeline.model_version,
                              "configured": {"pain.model_weight": base_pain,
                                             "tagging.model_weight": base_tagging.model_weight,
                                             "tagging.touchpoint_model_weight":
                                                 base_tagging.touchpoint_model_weight}}
    result["pain.model_weight"] = {w: score(w, {}) for w in PAIN_WEIGHTS}
    result["tagging.model_weight"] = {w: score(base_pain, {"model_weight": w}) for w in CATEGORY_WEIGHTS}
    result["tagging.touchpoint_model_weight"] = {
        w: score(base_pain, {"touchpoint_model_weight": w}) for w in TOUCHPOINT_WEIGHTS}
    return result


def report(result: dict[str, Any]) -> str:
    lines = [f"split {result['split']}; {result['models']}", f"configured: {result['configured']}", ""]
    for setting, metric in (("pain.model_weight", "has_pain_accuracy"),
                            ("tagging.model_weight", "category_macro_f1"),
                            ("tagging.touchpoint_model_weight", "touchpoint_accuracy")):
        sets = list(next(iter(result[setting].values())))
        lines.append(f"{setting} → {metric}")
        lines.append("| weight | " + " | ".join(sets) + " |")
        lines.append("|---" * (len(sets) + 1) + "|")
        for weight, figures in result[setting].items():
            lines.append(f"| {weight} | " + " | ".join(f"{figures[s][metric]:.3f}" for s in sets) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "test"), default="tune")
    parser.add_argument("--config", default=None, help="sori config (default configs/sori.yaml)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    result = run(args.split, args.config)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
