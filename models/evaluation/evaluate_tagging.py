"""Evaluate pain detection, pain categories and touchpoints against hand-labelled review sentences.

    python -m models.evaluation.evaluate_tagging [--split test|tune|all] [--limit N]
                                                 [--config PATH] [--json PATH]
                                      [--errors PATH] [--learn-from tune|test] [--without-spaces]

The gold set is `models/evaluation/gold/pain_sentences.csv`, labelled by hand following
docs/labelling-guide.md; its texts are read from the public corpora and checked against their checksums
at run time (:mod:`models.evaluation.gold`), so a changed corpus or sentence splitter is reported instead
of silently scoring other sentences.

Each labelled review goes through sori's own components from `Pipeline.from_config`: normalize →
mask → sentences → sentiment → embed → pain → tag → severity (which sets response_needed), and the
labelled sentence is read back from the pipeline's sentences by its normalised, masked text (by overlap
where the splitter cut it differently). Whole reviews rather than the sentence alone, so the figures are
what production computes: normalising and masking happen before sentence splitting, and any stage that
looks beyond one sentence is measured too.

A second labelled set, `models/evaluation/gold/shopping_sentences.csv`, holds the sentences of shopping
and service reviews found among KOTE's online comments (MIT), labelled by the same guide. It is scored
the same way and reported apart, since the issue's goals refer to the app and hotel reviews; its tune
split is KOTE's validation part and its test split KOTE's test part, which the sentiment adapter was
never trained on.

Figures: has_pain accuracy/precision/recall; per-category precision/recall/F1 and macro-F1 over the
categories with at least `MIN_SUPPORT` gold examples; touchpoint accuracy; a gold-primary ×
predicted-primary category confusion table; seeded 95% bootstrap intervals of has_pain accuracy,
macro-F1 and touchpoint accuracy; precision, recall and F1 of the `response_needed` flag
(pipeline/text/actionability.py) on the gold pain sentences; what cutting the warehouse's confidence
columns keeps (`confidence_cuts`). Categories, touchpoints and the flag are scored two ways: `tagger`
runs the tagger on every gold pain sentence (the taxonomy and thresholds alone; the goals refer to
this), `end-to-end` counts a pain sentence that sentiment missed as wrong. Then category agreement on
the negative aspects of `naver_shopping_absa` and `kr3_aspect_gold`, whole texts through the pipeline,
with their label schemes mapped onto sori's keys (`NAVER_MAP`, `KR3_MAP`). Deterministic: models in
inference mode, the bootstrap seeded.

`--without-spaces` asks how sori reads customers who write without spaces: every space is removed from
the reviews and the ABSA texts before the pipeline reads them, and the labelled sentences are found
again among the sentences it splits them into.

`--learn-from tune --split test` asks what labelling one's own reviews buys: the heads also learn from
the other split's labelled sentences, added the way an analyst adds labels (`with_labelled_training`),
and are scored on sentences they never saw.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.gold import (
    DATASETS,
    SHOPPING_DATASET,
    LabelDrift,
    LabelledSentence,
    Review,
    labelled_reviews,
    labelled_sets,
    labelled_texts,
    read_table,
    shared_data_dir,
)
from models.evaluation.scoring import (
    CATEGORY_SCORE_CUTS,
    MIN_SUPPORT,
    PAIN_PROBABILITY_CUTS,
    binary_scores,
    category_scores,
    confusion,
    kept_above,
    macro_f1,
    ratio,
)
from models.training.shared_data import SharedDataMissing
from pipeline.inert import spreadsheet_cell

# Resamples of the seeded bootstrap intervals: two runs on the same predictions report the same intervals.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 7

# Aspect categories of the ABSA sets → the sori keys that mean the same complaint. A negative aspect
# agrees when the pipeline gives one of its keys to a pain sentence of the text. Left out where no
# meaningful map exists: 기타 (misc) and 일화 (anecdotes, the visit story).
NAVER_MAP: dict[str, tuple[str, ...]] = {
    "품질": ("quality",),
    # Naver's 디자인 holds the product's physical make-up too (size, anti-slip finish, stand), which is
    # sori's quality; pure matters of taste are rarer. The loosest map here: read it per aspect.
    "디자인": ("quality",),
    "가격": ("price_payment",),
    "배송": ("delivery", "packaging"),
    # seller response, returns and exchange handling
    "서비스운영": ("staff", "waiting", "unresolved", "impersonal", "ignored_request", "policy"),
}
KR3_MAP: dict[str, tuple[str, ...]] = {
    "가격": ("price_payment",),
    "음식": ("quality",),  # the food is what a restaurant delivers
    "서비스": ("staff", "waiting", "ignored_request"),
    "분위기": ("quality",),  # noise, cramped or shabby rooms: a stay's room condition in the guide
}
KR3_ASPECTS = ("가격", "음식", "서비스", "분위기", "일화")


@dataclass
class Prediction:
    """What the pipeline made of one labelled sentence (see `predict_labelled`)."""

    is_pain: bool
    p_negative: float
    categories: list[str]
    touchpoint: str | None
    found_verbatim: bool = True  # among the pipeline's sentences, unchanged by normalising and masking
    response_needed: bool = False
    pain_probability: float | None = None
    category_score: float | None = None


# --- running sori ------------------------------------------------------------------------------------

def _item(source: str, source_id: str, text: str, rating: float | None = None) -> Any:
    from pipeline.document import FeedbackItem

    created = datetime(2020, 1, 1, tzinfo=UTC)  # dates play no part in sentence-level stages
    return FeedbackItem(source=source, kind="review", channel="review", source_id=source_id,
                        created_at=created, record_date=created.date(), text=text, rating=rating)


def predict_labelled(pipeline: Any, rows: Sequence[LabelledSentence], reviews: Sequence[Review],
                     sentences: Sequence[str]) -> list[Prediction]:
    """Each labelled sentence as the pipeline sees it inside its whole review.

    The reviews, with their star ratings, run through normalize → mask → sentences → sentiment → embed
    → pain → tag; the labelled sentence is found again among the review's sentences by its normalised,
    masked text (nearest to its labelled index; by overlap if the splitter cut the normalised text
    differently). It is tagged whatever its sentiment, so the tagger can be scored on every gold pain
    sentence; `is_pain` keeps the pipeline's own decision for the end-to-end figures, and the other
    sentences keep theirs.
    """
    from pipeline.nlp import documents

    ids = [f"{r.dataset}:{r.review_id}:{r.sentence_index}" for r in rows]
    docs = documents(_item(r.dataset, r.review_id, review.text, review.rating)
                     for r, review in zip(rows, reviews, strict=True))
    alone = documents(_item("eval", i, text) for i, text in zip(ids, sentences, strict=True))
    for name in ("normalize", "mask"):
        pipeline.get(name)(alone)
    for name in ("normalize", "mask", "sentences", "sentiment", "embed", "pain"):
        pipeline.get(name)(docs)
    found = [_find(doc.sentences, want.masked_text, row.sentence_index)
             for doc, want, row in zip(docs, alone, rows, strict=True)]
    targets = [target for target, _ in found]
    decided = [target.is_pain for target in targets]
    for target in targets:
        target.is_pain = True
    # embeds the targets that say nothing, marked only now; then tags them and flags response_needed
    for name in ("embed", "tag", "severity"):
        pipeline.get(name)(docs)
    return [Prediction(is_pain=pain, p_negative=t.p_negative, categories=list(t.categories),
                       touchpoint=t.touchpoint, found_verbatim=verbatim, response_needed=t.response_needed,
                       pain_probability=t.pain_probability, category_score=t.category_score)
            for (t, verbatim), pain in zip(found, decided, strict=True)]


def _find(sentences: Sequence[Any], text: str, index: int) -> tuple[Any, bool]:
    """The sentence with this text nearest to `index`, else the one sharing most characters with it."""
    exact = [s for s in sentences if s.text == text]
    if exact:
        return min(exact, key=lambda s: abs(s.index - index)), True
    from difflib import SequenceMatcher

    return max(sentences, key=lambda s: SequenceMatcher(None, s.text, text).ratio()), False


def predict_texts(pipeline: Any, texts: Sequence[str], ids: Sequence[str], source: str) -> list[set[str]]:
    """Whole texts through the pipeline's batch stages: the categories of their pain sentences."""
    from pipeline.nlp import documents

    docs = pipeline.without("topics", "severity").run(
        documents(_item(source, i, t) for i, t in zip(ids, texts, strict=True)))
    return [{k for s in doc.pain_sentences for k in s.categories} for doc in docs]


# --- scoring -----------------------------------------------------------------------------------------

def _has_key(label_sets: Sequence[Sequence[str]], keys: Sequence[str]) -> np.ndarray:
    rows = [[key in labels for key in keys] for labels in label_sets]
    return np.array(rows, dtype=bool).reshape(len(label_sets), len(keys))


def bootstrap_intervals(rows: Sequence[LabelledSentence], preds: Sequence[Prediction],
                        macro_keys: Sequence[str], resamples: int = BOOTSTRAP_RESAMPLES,
                        seed: int = BOOTSTRAP_SEED) -> dict[str, list[float]]:
    """95% percentile intervals of the headline figures, over the sentences resampled with replacement.

    A split holds few sentences per category, so one sentence moves a category's F1 visibly: the
    interval says how far a figure, or the gap to a goal, can be trusted. Macro-F1 averages the same
    keys as the point figure, the tagger figures count gold pain sentences only.
    """
    if not rows:
        return {}
    rng = np.random.default_rng(seed)
    pain_right = np.array([r.has_pain == p.is_pain for r, p in zip(rows, preds, strict=True)])
    gold_pain = np.array([r.has_pain for r in rows])
    gold = _has_key([r.categories for r in rows], macro_keys)
    pred = _has_key([p.categories for p in preds], macro_keys)
    touch_right = np.array([r.touchpoint == p.touchpoint for r, p in zip(rows, preds, strict=True)])
    figures: dict[str, list[float]] = {"has_pain_accuracy": [], "category_macro_f1_tagger": [],
                                       "touchpoint_accuracy_tagger": []}
    for _ in range(resamples):
        drawn = rng.integers(0, len(rows), len(rows))
        pains = drawn[gold_pain[drawn]]
        tp = (gold[pains] & pred[pains]).sum(axis=0)
        wrong = (gold[pains] ^ pred[pains]).sum(axis=0)
        f1 = np.divide(2 * tp, 2 * tp + wrong, out=np.zeros(len(macro_keys)), where=(2 * tp + wrong) > 0)
        figures["has_pain_accuracy"].append(pain_right[drawn].mean())
        figures["category_macro_f1_tagger"].append(f1.mean() if macro_keys else 0.0)
        figures["touchpoint_accuracy_tagger"].append(touch_right[pains].mean() if len(pains) else 0.0)
    return {name: [round(float(q), 4) for q in np.percentile(values, [2.5, 97.5])]
            for name, values in figures.items()}


def dataset_figures(rows: Sequence[LabelledSentence], preds: Sequence[Prediction],
                    category_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The headline figures per corpus: a pooled figure can hide a domain the tagger fails on (the
    app reviews' categories are apps and money, the hotel reviews' rooms and people)."""
    out: dict[str, dict[str, Any]] = {}
    for dataset in sorted({r.dataset for r in rows}):
        pairs = [(r, p) for r, p in zip(rows, preds, strict=True) if r.dataset == dataset]
        gold_pain = [(r, p) for r, p in pairs if r.has_pain]
        macro, keys = macro_f1(category_scores([r.categories for r, _ in gold_pain],
                                               [p.categories for _, p in gold_pain], category_keys))
        out[dataset] = {
            "n": len(pairs),
            "gold_pain": len(gold_pain),
            "has_pain_accuracy": binary_scores([r.has_pain for r, _ in pairs],
                                               [p.is_pain for _, p in pairs])["accuracy"],
            "category_macro_f1_tagger": macro,
            "macro_f1_keys": keys,
            "touchpoint_accuracy_tagger": ratio(sum(r.touchpoint == p.touchpoint for r, p in gold_pain),
                                                 len(gold_pain)),
        }
    return out


def evaluate_sentences(rows: Sequence[LabelledSentence], preds: Sequence[Prediction],
                       category_keys: Sequence[str]) -> dict[str, Any]:
    pain = binary_scores([r.has_pain for r in rows], [p.is_pain for p in preds])
    gold_pain = [(r, p) for r, p in zip(rows, preds, strict=True) if r.has_pain]
    gold_sets = [r.categories for r, _ in gold_pain]
    tagger = category_scores(gold_sets, [p.categories for _, p in gold_pain], category_keys)
    # end to end, over every sentence: a missed pain sentence loses its categories, a false alarm's
    # categories are false positives
    e2e = category_scores([r.categories for r in rows], [p.categories if p.is_pain else [] for p in preds],
                          category_keys)
    tagger_macro, macro_keys = macro_f1(tagger)
    e2e_macro, _ = macro_f1(e2e)
    touch_tagger = sum(r.touchpoint == p.touchpoint for r, p in gold_pain)
    touch_e2e = sum(p.is_pain and r.touchpoint == p.touchpoint for r, p in gold_pain)
    asked = [(r, p) for r, p in gold_pain if r.response_needed is not None]
    asks = [bool(r.response_needed) for r, _ in asked]
    return {
        "n": len(rows),
        "by_dataset": dict(Counter(r.dataset for r in rows)),
        "per_dataset": dataset_figures(rows, preds, category_keys),
        "gold_pain": len(gold_pain),
        "predicted_pain": sum(p.is_pain for p in preds),
        "found_verbatim": sum(p.found_verbatim for p in preds),
        "has_pain": pain,
        "categories_tagger": tagger,
        "categories_end_to_end": e2e,
        "macro_f1_keys": macro_keys,
        "category_macro_f1_tagger": tagger_macro,
        "category_macro_f1_end_to_end": e2e_macro,
        "intervals_95": bootstrap_intervals(rows, preds, macro_keys),
        "exact_category_set_tagger": ratio(sum(set(r.categories) == set(p.categories)
                                                for r, p in gold_pain), len(gold_pain)),
        "touchpoint_accuracy_tagger": ratio(touch_tagger, len(gold_pain)),
        "touchpoint_accuracy_end_to_end": ratio(touch_e2e, len(gold_pain)),
        "confusion_primary": confusion([r.categories[0] for r, _ in gold_pain],
                                       [p.categories[0] if p.categories else "none" for _, p in gold_pain]),
        "touchpoint_confusion": confusion([r.touchpoint for r, _ in gold_pain],
                                          [p.touchpoint or "none" for _, p in gold_pain]),
        # on the gold pain sentences labelled for it; end to end, a missed pain point raises no flag
        "response_needed": binary_scores(asks, [p.response_needed for _, p in asked]),
        "response_needed_end_to_end": binary_scores(asks,
                                                    [p.is_pain and p.response_needed for _, p in asked]),
        "confidence": confidence_cuts(rows, preds),
    }


def confidence_cuts(rows: Sequence[LabelledSentence], preds: Sequence[Prediction]) -> dict[str, list[dict]]:
    """What filtering on the confidence columns buys: per cut, the share of the predicted pain points
    kept and their precision; the share of the gold pain sentences whose category_score reaches it and
    how often their primary category is one of the gold ones (tagger)."""
    found = [(r.has_pain, p.pain_probability) for r, p in zip(rows, preds, strict=True)
             if p.is_pain and p.pain_probability is not None]
    tagged = [(p.categories[0] in r.categories, p.category_score) for r, p in zip(rows, preds, strict=True)
              if r.has_pain and p.category_score is not None]
    return {"pain_probability": kept_above(found, PAIN_PROBABILITY_CUTS, "precision"),
            "category_score": kept_above(tagged, CATEGORY_SCORE_CUTS, "primary_right")}


# --- ABSA sets ---------------------------------------------------------------------------------------

def naver_items(root: Path, limit: int | None = None) -> list[tuple[str, str, set[str]]]:
    """(id, text, source categories with a negative aspect) per review; misaligned rows are skipped."""
    table = read_table(root, "naver_shopping_absa")
    items = []
    for row in table.itertuples(index=False):
        polarities = [p.strip() for p in row.polarities.split(",")]
        categories = [c.strip() for c in row.categories.split(",")]
        if len(polarities) != len(categories):
            continue
        items.append((row.review_id, row.text, {c for c, p in zip(categories, polarities, strict=True)
                                                if p == "N"}))
    return items[:limit] if limit else items


def kr3_items(root: Path, limit: int | None = None) -> list[tuple[str, str, set[str]]]:
    table = read_table(root, "kr3_aspect_gold")
    items = [(row["sentence_id"], row["text"], {a for a in KR3_ASPECTS if row[a] == "부정"})
             for row in table.to_dict("records")]
    return items[:limit] if limit else items


def absa_agreement(items: Sequence[tuple[str, str, set[str]]], predicted: Sequence[set[str]],
                   mapping: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Per mapped source aspect: how often its negative mentions get one of its sori keys (recall), also
    among the texts sori found pain in at all; per sori key: how often a text given it has a negative
    aspect that maps to it (precision)."""
    aspects: dict[str, dict[str, Any]] = {}
    hits = total = 0
    for aspect, keys in mapping.items():
        with_aspect = [(neg, pred) for (_, _, neg), pred in zip(items, predicted, strict=True)
                       if aspect in neg]
        agree = sum(bool(set(keys) & pred) for _, pred in with_aspect)
        detected = [pred for _, pred in with_aspect if pred]
        aspects[aspect] = {"keys": list(keys), "negative_texts": len(with_aspect),
                           "pain_found": ratio(len(detected), len(with_aspect)),
                           "agreement": ratio(agree, len(with_aspect)),
                           "agreement_when_pain_found": ratio(agree, len(detected))}
        hits, total = hits + agree, total + len(with_aspect)
    precision = {}
    for key in sorted({k for keys in mapping.values() for k in keys}):
        given = [neg for (_, _, neg), pred in zip(items, predicted, strict=True) if key in pred]
        right = sum(any(key in mapping.get(a, ()) for a in neg) for neg in given)
        precision[key] = {"texts": len(given), "precision": ratio(right, len(given))}
    return {"texts": len(items), "texts_with_negative_aspect": sum(bool(neg) for _, _, neg in items),
            "aspects": aspects, "agreement": ratio(hits, total), "key_precision": precision}


# --- report ------------------------------------------------------------------------------------------

def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _width(text: str) -> int:
    """Terminal columns: Hangul is two wide."""
    return sum(2 if "\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" else 1 for ch in text)


def _confusion_table(pairs: Counter[tuple[str, str]]) -> str:
    totals = Counter[str]()
    for (gold, _), n in pairs.items():
        totals[gold] += n
    gold_keys = [k for k, _ in totals.most_common()]
    pred_keys = gold_keys + sorted({p for _, p in pairs} - set(gold_keys))
    rows = [[g, *[pairs.get((g, p), "") for p in pred_keys], totals[g]] for g in gold_keys]
    return _table(["gold \\ pred", *[p[:6] for p in pred_keys], "n"], rows)


def sentence_report(title: str, split: str, s: dict[str, Any]) -> list[str]:
    pain = s["has_pain"]
    out = [
        f"{title} — split {split}: {s['n']} sentences {s['by_dataset']}, "
        f"gold pain {s['gold_pain']}, predicted pain {s['predicted_pain']}; "
        f"{s['found_verbatim']} found verbatim among the pipeline's sentences",
        f"has_pain  accuracy {pain['accuracy']:.3f}  precision {pain['precision']:.3f}  "
        f"recall {pain['recall']:.3f}  (tp {pain['tp']} fp {pain['fp']} fn {pain['fn']} tn {pain['tn']})",
        f"categories macro-F1 (support ≥ {MIN_SUPPORT}: {', '.join(s['macro_f1_keys']) or '-'})  "
        f"tagger {s['category_macro_f1_tagger']:.3f}  end-to-end {s['category_macro_f1_end_to_end']:.3f}",
        f"touchpoint accuracy  tagger {s['touchpoint_accuracy_tagger']:.3f}  "
        f"end-to-end {s['touchpoint_accuracy_end_to_end']:.3f}",
        f"exact category set (tagger) {s['exact_category_set_tagger']:.3f}",
        _response_line(s["response_needed"], s["response_needed_end_to_end"]),
        f"95% bootstrap intervals ({BOOTSTRAP_RESAMPLES} resamples of the sentences): "
        + ", ".join(f"{name} [{low:.3f}, {high:.3f}]" for name, (low, high) in s["intervals_95"].items()),
        "how sure: pain points with pain_probability ≥ "
        + ", ".join(f"{c['cut']}: {c['kept']:.0%} kept, precision {c['precision']:.3f}"
                    for c in s["confidence"]["pain_probability"]),
        "how sure: gold pain sentences with category_score ≥ "
        + ", ".join(f"{c['cut']}: {c['kept']:.0%}, primary right {c['primary_right']:.3f}"
                    for c in s["confidence"]["category_score"]),
    ]
    if len(s["per_dataset"]) > 1:
        out += ["", "per dataset (tagger figures on its gold pain sentences; macro-F1 over its own keys with "
                f"support ≥ {MIN_SUPPORT})",
                _table(["dataset", "n", "gold pain", "has_pain", "macro-F1", "keys", "touchpoint"],
                       [[name, d["n"], d["gold_pain"], f"{d['has_pain_accuracy']:.3f}",
                         f"{d['category_macro_f1_tagger']:.3f}", ",".join(d["macro_f1_keys"]) or "-",
                         f"{d['touchpoint_accuracy_tagger']:.3f}"] for name, d in s["per_dataset"].items()])]
    out += ["", "per category (tagger on gold pain sentences | end-to-end)"]
    rows = []
    for key, t in sorted(s["categories_tagger"].items(), key=lambda kv: -kv[1]["support"]):
        e = s["categories_end_to_end"][key]
        if t["support"] or t["predicted"]:
            rows.append([key, t["support"], t["predicted"], f"{t['precision']:.2f}", f"{t['recall']:.2f}",
                         f"{t['f1']:.2f}", f"{e['precision']:.2f}", f"{e['recall']:.2f}", f"{e['f1']:.2f}"])
    out += [_table(["category", "gold", "pred", "P", "R", "F1", "P e2e", "R e2e", "F1 e2e"], rows), "",
            "primary category confusion (tagger; rows gold, columns predicted)",
            _confusion_table(s["confusion_primary"]), "",
            "touchpoint confusion (tagger)", _confusion_table(s["touchpoint_confusion"])]
    return out


def _response_line(tagger: dict[str, Any], e2e: dict[str, Any]) -> str:
    return (f"response_needed on {tagger['n']} gold pain sentences ({tagger['tp'] + tagger['fn']} ask)  "
            f"precision {tagger['precision']:.3f}  recall {tagger['recall']:.3f}  F1 {tagger['f1']:.3f}  "
            f"end-to-end F1 {e2e['f1']:.3f}")


def report(result: dict[str, Any]) -> str:
    out = []
    if result.get("without_spaces"):
        out.append("every text read without spaces (--without-spaces)\n")
    if learned := result.get("learned_from"):
        out.append(f"the heads also learned from the {learned['split']} split: {learned['pain']} pain "
                   f"sentences as phrases, {learned['not_pain']} others as has_pain 0 examples\n")
    out += sentence_report("pain sentences", result["split"], result["sentences"])
    out += ["", *sentence_report("shopping reviews (KOTE, reported apart: the goals refer to the set above)",
                                  result["split"], result["shopping_sentences"])]
    for name in ("naver_shopping_absa", "kr3_aspect_gold"):
        a = result.get(name)
        if not a:
            continue
        out += ["", f"{name}: {a['texts']} texts, {a['texts_with_negative_aspect']} with a negative aspect; "
                f"agreement on negative mapped aspects {a['agreement']:.3f}"]
        out.append(_table(["aspect", "→ keys", "neg texts", "pain found", "agreement", "agree|found"],
                          [[k, ",".join(v["keys"])[:40], v["negative_texts"], f"{v['pain_found']:.2f}",
                            f"{v['agreement']:.2f}", f"{v['agreement_when_pain_found']:.2f}"]
                           for k, v in a["aspects"].items()]))
        out.append("key precision: " + ", ".join(f"{k} {v['precision']:.2f} (n={v['texts']})"
                                                 for k, v in a["key_precision"].items() if v["texts"]))
    out.append(f"\n{result['seconds']} s; models {result['models']}")
    return "\n".join(out)


def jsonable(value: Any) -> Any:
    if isinstance(value, Counter):
        return [{"gold": g, "pred": p, "n": n} for (g, p), n in sorted(value.items())]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def with_labelled_training(config: Any, rows: Sequence[LabelledSentence], texts: Sequence[str],
                           folder: Path) -> Any:
    """The config with these labelled sentences added to what the heads learn from, as an analyst adds
    labels: a pain sentence, with its categories and touchpoint, to the phrase file (so to the complaint
    head's complaints too), any other sentence to the complaint examples with has_pain 0. The extended
    files are written to `folder`, which then holds corpus texts: keep it out of the repository."""
    from pipeline.components.pain import EXAMPLE_COLUMNS
    from pipeline.components.tagger import PHRASE_COLUMNS

    if config.tagging.phrases is None or config.pain.examples is None:
        raise ValueError("learning from labels needs tagging.phrases and pain.examples configured")
    phrases, examples = folder / "phrases.csv", folder / "pain_examples.csv"
    for original, extended, added in (
            (config.tagging.phrases, phrases,
             [(text, ";".join(row.categories), row.touchpoint)
              for row, text in zip(rows, texts, strict=True) if row.has_pain]),
            (config.pain.examples, examples,
             [(text, "0", "labelled") for row, text in zip(rows, texts, strict=True) if not row.has_pain])):
        with open(original, encoding="utf-8", newline="") as fh:
            kept = list(csv.reader(fh))
        if tuple(kept[0]) not in (PHRASE_COLUMNS, EXAMPLE_COLUMNS):
            raise ValueError(f"{original}: unexpected columns {kept[0]}")
        with open(extended, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows([*kept, *added])
    return config.model_copy(update={
        "tagging": config.tagging.model_copy(update={"phrases": phrases}),
        "pain": config.pain.model_copy(update={"examples": examples})})


def scores_what_it_learned(split: str, learn_from: str | None) -> bool:
    return learn_from is not None and split in (learn_from, "all")


def without_spaces(text: str) -> str:
    """The text as a customer who never presses the space bar writes it (line breaks kept)."""
    return re.sub(r"[^\S\n]+", "", text)


def run(split: str = "test", limit: int | None = None, config_path: str | None = None,
        errors_path: Path | None = None, learn_from: str | None = None,
        spaceless: bool = False) -> dict[str, Any]:
    """Evaluate; returns the figures (`report` formats them). With `errors_path`, also writes the
    labelled sentences the pipeline gets wrong there (`disagreements`); with `learn_from`, the heads
    also learn from that split's labelled sentences of both sets (`with_labelled_training`); with
    `spaceless`, every text is read `without_spaces`."""
    import tempfile

    from pipeline.config import load_config
    from pipeline.nlp import Pipeline
    from pipeline.text.korean import KoreanAnalyzer, shared_kiwi

    if scores_what_it_learned(split, learn_from):
        raise ValueError(f"learning from the {learn_from} split, scoring the {split} split would score the "
                         "heads on what they learned")
    root = shared_data_dir((*DATASETS, SHOPPING_DATASET, "naver_shopping_absa", "kr3_aspect_gold"))
    started = time.time()
    config = load_config(config_path)
    taxonomy = config.load_taxonomy()
    sets = labelled_sets(taxonomy)
    analyzer = KoreanAnalyzer(shared_kiwi())
    result: dict[str, Any] = {"split": split, "limit": limit, "without_spaces": spaceless}
    with tempfile.TemporaryDirectory(prefix="sori-labels-") as folder:
        if learn_from:
            rows = [r for _, labelled in sets for r in labelled if r.split == learn_from]
            texts = labelled_texts(rows, [r.text for r in labelled_reviews(rows, root)], analyzer)
            config = with_labelled_training(config, rows, texts, Path(folder))
            result["learned_from"] = {"split": learn_from, "pain": sum(r.has_pain for r in rows),
                                      "not_pain": sum(not r.has_pain for r in rows)}
        pipeline = Pipeline.from_config(config)
    result["models"] = pipeline.model_version
    wrong = []
    for name, rows in sets:
        rows = [r for r in rows if split == "all" or r.split == split][: limit or None]
        reviews = labelled_reviews(rows, root)
        sentences = labelled_texts(rows, [r.text for r in reviews], analyzer)
        if spaceless:
            reviews = [Review(without_spaces(r.text), r.rating) for r in reviews]
            sentences = [without_spaces(s) for s in sentences]
        preds = predict_labelled(pipeline, rows, reviews, sentences)
        wrong += disagreements(rows, sentences, preds)
        result[name] = evaluate_sentences(rows, preds, list(taxonomy.categories))
    if errors_path:
        write_disagreements(errors_path, wrong)
    for name, items, mapping in (("naver_shopping_absa", naver_items(root, limit), NAVER_MAP),
                                 ("kr3_aspect_gold", kr3_items(root, limit), KR3_MAP)):
        texts = [without_spaces(t) if spaceless else t for _, t, _ in items]
        predicted = predict_texts(pipeline, texts, [i for i, _, _ in items], name)
        result[name] = absa_agreement(items, predicted, mapping)
    result["seconds"] = round(time.time() - started, 1)
    return result


ERROR_COLUMNS = ("dataset", "review_id", "sentence_index", "split", "wrong", "text", "has_pain",
                 "predicted_pain", "p_negative", "categories", "predicted_categories", "touchpoint",
                 "predicted_touchpoint", "response_needed", "predicted_response_needed")


def disagreements(rows: Sequence[LabelledSentence], texts: Sequence[str],
                  preds: Sequence[Prediction]) -> list[dict[str, Any]]:
    """The labelled sentences the pipeline gets wrong, and what it gets wrong: a missed pain point or a
    false alarm, and for gold pain sentences their categories, touchpoint or response_needed flag (as
    the tagger figures)."""
    out = []
    for row, text, pred in zip(rows, texts, preds, strict=True):
        wrong = []
        if row.has_pain != pred.is_pain:
            wrong.append("missed pain" if row.has_pain else "false alarm")
        if row.has_pain and set(row.categories) != set(pred.categories):
            wrong.append("categories")
        if row.has_pain and row.touchpoint != pred.touchpoint:
            wrong.append("touchpoint")
        if row.response_needed is not None and row.response_needed != pred.response_needed:
            wrong.append("response_needed")
        if wrong:
            out.append({"dataset": row.dataset, "review_id": row.review_id,
                        "sentence_index": row.sentence_index, "split": row.split,
                        "wrong": "; ".join(wrong), "text": text,
                        "has_pain": int(row.has_pain), "predicted_pain": int(pred.is_pain),
                        "p_negative": round(pred.p_negative, 4), "categories": ";".join(row.categories),
                        "predicted_categories": ";".join(pred.categories) if row.has_pain else "",
                        "touchpoint": row.touchpoint,
                        "predicted_touchpoint": (pred.touchpoint or "") if row.has_pain else "",
                        "response_needed": "" if row.response_needed is None else int(row.response_needed),
                        "predicted_response_needed": int(pred.response_needed) if row.has_pain else ""})
    return out


def write_disagreements(path: Path, found: Sequence[dict[str, Any]]) -> None:
    """For error analysis on this machine: the file holds corpus texts, so it never belongs in the
    repository (and reading the test split's errors turns it into a tune split). Opened in a
    spreadsheet, a text that starts like a formula shows as text (`spreadsheet_cell`)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ERROR_COLUMNS)
        writer.writeheader()
        writer.writerows({key: spreadsheet_cell(value) for key, value in row.items()} for row in found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.evaluation.evaluate_tagging",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences and N ABSA texts (for CI)")
    parser.add_argument("--config", default=None, help="sori config (default configs/sori.yaml)")
    parser.add_argument("--json", default=None, help="also write the figures as JSON to this path")
    parser.add_argument("--errors", type=Path, default=None,
                        help="write the sentences it gets wrong, with their texts, as CSV to this path "
                             "(error analysis; keep it out of the repository)")
    parser.add_argument("--learn-from", choices=("tune", "test"), default=None,
                        help="the heads also learn from this split's labelled sentences (what one's own "
                             "labels buy); score another split")
    parser.add_argument("--without-spaces", action="store_true",
                        help="remove every space from the texts first: how sori reads customers who write "
                             "without spaces")
    args = parser.parse_args(argv)
    if scores_what_it_learned(args.split, args.learn_from):
        parser.error(f"--learn-from {args.learn_from} needs another --split than {args.split}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args.split, args.limit, args.config, args.errors, args.learn_from, args.without_spaces)
    except (SharedDataMissing, LabelDrift) as exc:
        print(f"evaluate_tagging: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if args.json:
        figures = json.dumps(jsonable(result), ensure_ascii=False, indent=1)
        Path(args.json).write_text(figures, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
