"""Scores shared by the evaluation scripts: binary and per-category precision/recall/F1, macro-F1 over the
keys with enough gold examples, confusion counts, and what cutting a confidence column keeps.

Ratios are rounded to four places and are 0.0 where the denominator is empty, so a report never divides
by zero and two runs compare digit by digit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

# A category's F1 enters macro-F1 only with at least this many gold examples.
MIN_SUPPORT = 10
# Where BI might cut `pain_probability` and `category_score` (the warehouse's confidence columns).
PAIN_PROBABILITY_CUTS = (0.5, 0.7, 0.9)
CATEGORY_SCORE_CUTS = (0.0, 0.3, 0.4, 0.5)


def ratio(num: float, den: float) -> float:
    """``num / den`` rounded to four places; 0.0 when ``den`` is 0."""
    return round(num / den, 4) if den else 0.0


def binary_scores(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 of a yes/no decision, with the four counts."""
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    tn = len(gold) - tp - fp - fn
    return {"n": len(gold), "accuracy": ratio(tp + tn, len(gold)), "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn), "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def category_scores(gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]],
                    keys: Iterable[str]) -> dict[str, dict[str, float]]:
    """Multi-label precision/recall/F1 per category key over the same sentences."""
    out = {}
    pairs = [(set(g), set(p)) for g, p in zip(gold, pred, strict=True)]
    for key in keys:
        tp = sum(key in g and key in p for g, p in pairs)
        fp = sum(key in p and key not in g for g, p in pairs)
        fn = sum(key in g and key not in p for g, p in pairs)
        out[key] = {"support": tp + fn, "predicted": tp + fp, "precision": ratio(tp, tp + fp),
                    "recall": ratio(tp, tp + fn), "f1": ratio(2 * tp, 2 * tp + fp + fn)}
    return out


def macro_f1(per_key: dict[str, dict[str, float]], min_support: int = MIN_SUPPORT) -> tuple[float, list[str]]:
    """Mean F1 over the keys with enough gold examples for an F1 to mean something."""
    keys = [k for k, s in per_key.items() if s["support"] >= min_support]
    return (round(sum(per_key[k]["f1"] for k in keys) / len(keys), 4) if keys else 0.0), keys


def confusion(gold: Sequence[str], pred: Sequence[str]) -> Counter[tuple[str, str]]:
    """How often each (gold, predicted) pair occurs."""
    return Counter(zip(gold, pred, strict=True))


def kept_above(scored: Sequence[tuple[bool, float]], cuts: Sequence[float], name: str) -> list[dict]:
    """Per cut, the share of (right, score) pairs scoring at least the cut and the share right among them."""
    out = []
    for cut in cuts:
        right = [ok for ok, score in scored if score >= cut]
        out.append({"cut": cut, "kept": ratio(len(right), len(scored)),
                    name: ratio(sum(right), len(right))})
    return out
