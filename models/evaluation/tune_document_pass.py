"""When may a document of agreeing sentences skip its own pass? Measured on the dev splits.

    python -m models.evaluation.tune_document_pass [--limit N] [--config PATH] [--json PATH]

A text of several sentences gets a sentiment from a model pass over the whole text, unless its
sentences all have the same label, each with a probability of at least
`sentiment.document_from_agreeing_sentences` (pipeline/components/sentiment.py): then it takes that
label and their mean probabilities. This runs the pipeline's own stages (normalise, mask, split,
sentence sentiment with the lexical blend) and the whole-text pass over the held-out multi-sentence
texts of the dev splits (NSMC by movie, app reviews, the 3-class set) and prints, at each threshold, the
share of passes spared, the score (`score`) and the share of labels that
differ from the whole-text pass. Never tuned on the test splits the goals are read on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
SEED = 13


def dev_sets(limit: int | None) -> dict[str, pd.DataFrame]:
    from models.training.sentiment_data import (
        NEGATIVE,
        NEUTRAL,
        NO_LABEL,
        POSITIVE,
        balanced,
        load_app_reviews,
        load_corpus,
        nsmc_binary,
    )

    corpus = load_corpus()
    apps = load_app_reviews(exclude_keys=corpus.loc[corpus["split"] == "train", "key"])
    app_dev = apps[(apps["split"] == "dev") & (apps["label"] != NO_LABEL)]
    dev = corpus[(corpus["split"] == "dev") & (corpus["label"] != NO_LABEL)]
    half, third = (None, None) if limit is None else (max(1, limit // 2), max(1, limit // 3))
    return {
        "nsmc_dev": nsmc_binary(corpus, "dev", half, SEED),
        "app_dev": balanced(app_dev, half, SEED, (NEGATIVE, POSITIVE)),
        "three_class_dev": balanced(dev, third, SEED, (NEGATIVE, NEUTRAL, POSITIVE)),
    }


def score(labels: np.ndarray, gold: np.ndarray, three_class: bool) -> float:
    """3-class macro-F1, or the share of binary texts whose label is their gold class (a neutral label
    counts as wrong: the pipeline writes labels). Label indices are the gold classes' (`LABELS`)."""
    from models.evaluation.evaluate_sentiment import macro_f1

    return macro_f1(labels, gold, (0, 1, 2)) if three_class else float((labels == gold).mean())


def evaluate(frame: pd.DataFrame, pipeline: Any, three_class: bool) -> dict[str, Any]:
    """The whole-text pass against the rule at each threshold, over the frame's multi-sentence texts."""
    from models.sentiment import LABELS
    from pipeline.components.sentiment import agreeing
    from pipeline.document import FeedbackItem
    from pipeline.nlp import documents

    created = datetime(2026, 1, 1, tzinfo=UTC)
    docs = documents(FeedbackItem(source="dev", kind="review", channel="review", source_id=str(i),
                                  created_at=created, record_date=created.date(), text=str(text))
                     for i, text in enumerate(frame["text"]))
    for name in ("normalize", "mask", "sentences"):
        pipeline.get(name)(docs)
    keep = [i for i, doc in enumerate(docs) if len(doc.sentences) > 1]
    docs = [docs[i] for i in keep]
    gold = frame["label"].to_numpy()[keep]
    resources = pipeline.get("sentiment").resources
    resources.score_sentences([s for doc in docs for s in doc.sentences])
    resources.score_documents(docs)
    own = np.array([LABELS.index(doc.sentiment) for doc in docs])
    result: dict[str, Any] = {"texts": len(frame), "multi_sentence": len(docs),
                              "own_pass": round(score(own, gold, three_class), 4), "thresholds": {}}
    for threshold in THRESHOLDS:
        spared = np.array([agreeing(doc.sentences, threshold) for doc in docs])
        ruled = np.where(spared, [LABELS.index(doc.sentences[0].sentiment) for doc in docs], own)
        result["thresholds"][threshold] = {
            "spared": round(float(spared.mean()), 4),
            "score": round(score(ruled, gold, three_class), 4),
            "labels_changed": round(float((ruled != own).mean()), 4),
        }
    return result


def run(limit: int | None, config_path: str | None) -> dict[str, Any]:
    from pipeline.config import load_config
    from pipeline.nlp import Pipeline

    sets = dev_sets(limit)  # refused without the shared data before any model loads
    pipeline = Pipeline.from_config(load_config(config_path))
    return {name: evaluate(frame, pipeline, name.startswith("three_class")) for name, frame in sets.items()}


def report(result: dict[str, Any]) -> str:
    lines = []
    for name, figures in result.items():
        lines.append(f"{name}: {figures['multi_sentence']} of {figures['texts']} texts have several "
                     f"sentences; their own pass scores {figures['own_pass']:.4f}")
        for threshold, row in figures["thresholds"].items():
            lines.append(f"  agreeing at ≥ {threshold:.1f}: {row['spared']:.0%} of passes spared, score "
                         f"{row['score']:.4f}, {row['labels_changed']:.2%} of labels differ")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from models.training.shared_data import SharedDataMissing

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="texts per set (default: all)")
    parser.add_argument("--config", default=None, help="sori config (default configs/sori.yaml)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        result = run(args.limit, args.config)
    except SharedDataMissing as exc:
        print(f"tune_document_pass: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
