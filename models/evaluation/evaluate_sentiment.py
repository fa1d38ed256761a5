"""Evaluate a sentiment model against held-out data and a TF-IDF baseline trained in the same run.

    python -m models.evaluation.evaluate_sentiment [--model NAME_OR_PATH] [--limit N] [--card] [--json PATH]

`--model` takes a sentiment classifier (builtin, Hugging Face id or path) or a VOC model
(`builtin:voc-e5` or a `train_voc` folder), whose sentiment head is scored as the pipeline runs it. With
the config's `models.lexical_sentiment` set (`--config`, default configs/sori.yaml), the lexical view
(`models.lexical`) is scored alone and blended with the model at the config's `lexical_weight` and
`lexical_temperature`, as the pipeline blends them; `--no-lexical` scores the model alone.

Figures: binary accuracy on the NSMC by-movie test split (ratings <= 4 vs >= 9, balanced) and on app
reviews of the test apps (1–2★ vs 4–5★, balanced; evaluation only), 3-class accuracy / macro-F1 on the
3-class test set, expected calibration error (15 bins) with and without the model's temperature, and
where NSMC 5–7 and app 3★ land, and how often the predicted class survives a change of style alone (a
final period added; the final predicate's -요/-ㅂ니다 register swapped; any final ending made formal). The
baseline (Kiwi morphemes + TF-IDF + logistic regression) is fitted on the same training split, so the
difference in points is like for like. Splits come from `models.training.sentiment_data`, the module training
uses. Deterministic (seeded samples, deterministic models).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.lexical import (
    BUILTIN_LEXICAL,
    LexicalSentiment,
    blend_log_probabilities,
    kiwi_morphemes,
    morpheme_features,
)
from models.onnx import PRECISION, Precision
from models.sentiment import (
    BUILTIN_SENTIMENT,
    LABELS,
    expected_calibration_error,
    resolve_sentiment,
    softmax_with_temperature,
)
from models.training.sentiment_data import (
    NEGATIVE,
    NO_LABEL,
    POSITIVE,
    balanced,
    load_app_reviews,
    load_corpus,
    nsmc_binary,
    nsmc_ratings,
    restyle,
    shared_data_dir,
    swap_register,
    three_class_test,
    training_frame,
    without_final_period,
)
from models.training.shared_data import SharedDataMissing
from models.voc import is_voc_model, resolve_voc, sentiment_logits
from pipeline.config import load_config
from pipeline.text.normalize import normalize_text

log = logging.getLogger("evaluate_sentiment")
SEED = 13
STYLE_TEXTS = 1000  # per binary set: style agreement predicts every text twice more


def binary_view(probs: np.ndarray) -> np.ndarray:
    """Negative-vs-positive probabilities (n, 2) with the neutral mass left out, renormalised."""
    pair = np.asarray(probs, dtype=np.float64)[:, [NEGATIVE, POSITIVE]]
    return pair / np.clip(pair.sum(axis=1, keepdims=True), 1e-12, None)


def macro_f1(pred: np.ndarray, gold: np.ndarray, classes: Sequence[int]) -> float:
    scores = []
    for c in classes:
        tp = float(((pred == c) & (gold == c)).sum())
        fp, fn = float(((pred == c) & (gold != c)).sum()), float(((pred != c) & (gold == c)).sum())
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


# --------------------------------------------------------------------------- baseline


class TfidfBaseline:
    """Kiwi morphemes (form/tag) + TF-IDF uni/bigrams + multinomial logistic regression, fitted in the
    run with a vocabulary: the yardstick the issue's goals name. The shipped lexical view
    (`models.lexical`) reads the same features, hashed, and is scored beside it."""

    def __init__(self, seed: int = SEED) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(
            analyzer=lambda tokens: tokens, min_df=2, sublinear_tf=True, max_features=400_000
        )
        self.classes: list[int] = []
        self.lr = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced", random_state=seed)

    @staticmethod
    def morphemes(texts: Sequence[str]) -> list[list[str]]:
        """The lexical view's features (`models.lexical.morpheme_features`), with a vocabulary here."""
        return [morpheme_features(m) for m in kiwi_morphemes(texts)]

    def fit(self, texts: Sequence[str], labels: np.ndarray) -> TfidfBaseline:
        x = self.vectorizer.fit_transform(self.morphemes(texts))
        self.lr.fit(x, labels)
        self.classes = [int(c) for c in self.lr.classes_]
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (n, 3) in LABELS order."""
        p = self.lr.predict_proba(self.vectorizer.transform(self.morphemes(texts)))
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        out[:, self.classes] = p
        return out


# --------------------------------------------------------------------------- evaluation


def style_agreement(
    predict: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]], texts: Sequence[str]
) -> dict[str, Any]:
    """How often the predicted class survives a change of style that says nothing about sentiment: a
    final period added, the final predicate's register swapped (-요 ↔ -ㅂ니다, where that is safe), and
    any final ending or noun made formal by `restyle` (재밌다 → 재밌습니다, 영화 → 영화입니다)."""
    bare = [t for t in map(without_final_period, texts) if t and t[-1] not in ".!?~"]
    swapped = [(t, s) for t in bare if (s := swap_register(t))]
    formal = [(t, s) for t in bare if (s := restyle(t, "formal"))]

    def same(a: Sequence[str], b: Sequence[str]) -> float:
        return float((predict(a)[0].argmax(1) == predict(b)[0].argmax(1)).mean()) if a else float("nan")

    return {"period": same(bare, [t + "." for t in bare]), "period_n": len(bare),
            "register": same([t for t, _ in swapped], [s for _, s in swapped]), "register_n": len(swapped),
            "formal": same([t for t, _ in formal], [s for _, s in formal]), "formal_n": len(formal)}



def evaluate_predictor(
    predict: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]], sets: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    """Figures for one model: `predict(texts) -> (calibrated probs, T=1 probs)` over the evaluation sets."""
    res: dict[str, Any] = {}
    for name in ("nsmc_test", "app_test"):
        df = sets[name]
        log.info("predicting %s (%d)", name, len(df))
        probs, raw = predict(df["text"].tolist())
        gold = (df["label"].to_numpy() == POSITIVE).astype(int)
        pair, pair_raw = binary_view(probs), binary_view(raw)
        res[f"{name}_binary_accuracy"] = float((pair.argmax(1) == gold).mean())
        res[f"{name}_binary_ece"] = expected_calibration_error(pair, gold)
        res[f"{name}_binary_ece_t1"] = expected_calibration_error(pair_raw, gold)
        res[f"{name}_neutral_share"] = float((probs.argmax(1) == 1).mean())
        res[f"{name}_n"] = len(df)
    df = sets["three_class"]
    probs, raw = predict(df["text"].tolist())
    gold = df["label"].to_numpy()
    pred = probs.argmax(1)
    res["three_class_accuracy"] = float((pred == gold).mean())
    res["three_class_macro_f1"] = macro_f1(pred, gold, range(len(LABELS)))
    res["three_class_ece"] = expected_calibration_error(probs, gold)
    res["three_class_ece_t1"] = expected_calibration_error(raw, gold)
    res["three_class_n"] = len(df)
    res["three_class_by_source"] = {
        src: float((pred[m] == gold[m]).mean())
        for src in sorted(df["source"].unique())
        for m in [df["source"].to_numpy() == src]
    }
    res["three_class_neutral_recall"] = (
        float((pred[gold == 1] == 1).mean()) if (gold == 1).any() else float("nan")
    )
    spread = {}
    for name in ("nsmc_5", "nsmc_6", "nsmc_7", "app_3star"):
        part = sets[name]
        if len(part):
            p, _ = predict(part["text"].tolist())
            counts = np.bincount(p.argmax(1), minlength=len(LABELS)) / len(part)
            spread[name] = {LABELS[i]: round(float(counts[i]), 3) for i in range(len(LABELS))}
    res["spread"] = spread
    res["style_agreement"] = style_agreement(
        predict, [t for name in ("nsmc_test", "app_test") for t in sets[name]["text"][:STYLE_TEXTS]])
    return res


def evaluation_sets(limit: int | None, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """All held-out sets, balanced and seeded; `limit` caps each (tests and CI use a small one)."""
    corpus = load_corpus()
    per_class = None if limit is None else max(1, limit // 2)
    apps = load_app_reviews(exclude_keys=corpus.loc[corpus["split"] == "train", "key"])
    app_test = apps[apps["split"] == "test"]
    cap = limit or 2000

    def sample(df: pd.DataFrame) -> pd.DataFrame:
        return df.sample(n=min(len(df), cap), random_state=seed).reset_index(drop=True)

    return {
        "nsmc_test": nsmc_binary(corpus, "test", per_class, seed),
        "app_test": balanced(app_test[app_test["label"] != NO_LABEL], per_class, seed, (NEGATIVE, POSITIVE)),
        "three_class": three_class_test(corpus, None if limit is None else max(1, limit // 3), seed),
        "nsmc_5": sample(nsmc_ratings(corpus, "test", [5])),
        "nsmc_6": sample(nsmc_ratings(corpus, "test", [6])),
        "nsmc_7": sample(nsmc_ratings(corpus, "test", [7])),
        "app_3star": sample(app_test[app_test["rating"] == 3]),
        "_train": training_frame(corpus, "train", None if limit is None else 20 * limit, seed),
    }


Logits = Callable[[Sequence[str]], np.ndarray]


def model_logits(model: str, batch_size: int = 64, precision: Precision = "fp32") -> tuple[Logits, float]:
    """`(logits_of, temperature)` of a sentiment classifier or a VOC model's sentiment head (on ONNX
    Runtime in `precision`, as the pipeline runs it, texts normalised as the pipeline does). Logits are
    kept per text, so sets and restyled texts that repeat a text, and every view that blends the model,
    pay once."""
    from models.sentiment import SentimentClassifier

    if is_voc_model(model):
        from models.onnx import OnnxVocModel

        voc = OnnxVocModel.from_pretrained(model, precision=precision)
        temperature = voc.settings.temperature

        def compute(texts: Sequence[str]) -> np.ndarray:
            heads = voc.outputs([normalize_text(t or "") for t in texts], batch_size, ("heads",))
            return sentiment_logits(heads)
    else:
        clf = SentimentClassifier.from_pretrained(model)
        temperature = clf.temperature

        def compute(texts: Sequence[str]) -> np.ndarray:
            return clf.predict_logits(texts, batch_size=batch_size)

    return per_text(compute), temperature


def per_text(compute: Logits) -> Logits:
    """`compute` (texts → rows of len(LABELS)) run once per distinct text, its rows kept for later calls."""
    seen: dict[str, np.ndarray] = {}

    def rows_of(texts: Sequence[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in seen))
        if new:
            seen.update(zip(new, np.asarray(compute(new), dtype=np.float64), strict=True))
        return np.array([seen[t] for t in texts]).reshape(-1, len(LABELS))

    return rows_of


def voc_probabilities(model: str, batch_size: int = 64, precision: Precision = "fp32"
                      ) -> Callable[[Sequence[str]], np.ndarray]:
    """The model's calibrated probabilities (n, 3), as the pipeline computes them before any blend."""
    logits_of, temperature = model_logits(model, batch_size, precision)
    return lambda texts: softmax_with_temperature(logits_of(texts), temperature)


def run(model: str, limit: int | None, batch_size: int = 64, lexical: str | None = BUILTIN_LEXICAL,
        lexical_weight: float = 0.0, lexical_temperature: float = 1.0, precision: Precision = "fp32"
        ) -> dict[str, Any]:
    """Evaluate `model` alone (a VOC model on ONNX Runtime in `precision`), the lexical view alone,
    their blend as the pipeline runs it (with `lexical`; None skips both) and the baseline; returns a
    JSON-able dict (also printed by `main`)."""
    shared_data_dir()  # fail early, with the clear message, before loading any model
    t0 = time.time()
    sets = evaluation_sets(limit)
    train_df = sets.pop("_train")
    log.info("sets %s", {k: len(v) for k, v in sets.items()})

    logits_of, temperature = model_logits(model, batch_size, precision)

    def model_predict(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        logits = logits_of(texts)
        return softmax_with_temperature(logits, temperature), softmax_with_temperature(logits)

    t1 = time.time()
    model_res = evaluate_predictor(model_predict, sets)
    n_pred = sum(len(v) for v in sets.values())
    model_res["inference_samples_per_s"] = round(n_pred / (time.time() - t1), 1)
    model_res["temperature"] = temperature
    views: dict[str, Any] = {}
    if lexical:
        view = LexicalSentiment.load(lexical)
        lexical_log_proba = per_text(lambda texts: view.log_proba([normalize_text(t or "") for t in texts]))

        def lexical_predict(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            p = np.exp(lexical_log_proba(texts))
            return p, p

        def blend_predict(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            probs, lp = model_predict(texts)[0], lexical_log_proba(texts)
            return (blend_log_probabilities(probs, lp, lexical_weight, lexical_temperature),
                    blend_log_probabilities(probs, lp, lexical_weight))

        t2 = time.time()
        views["lexical_results"] = evaluate_predictor(lexical_predict, sets)
        views["lexical_results"]["inference_samples_per_s"] = round(n_pred / (time.time() - t2), 1)
        views["blend_results"] = evaluate_predictor(blend_predict, sets)
        views["blend_results"].update(weight=lexical_weight, temperature=lexical_temperature)

    t2 = time.time()
    log.info("fitting the TF-IDF baseline on %d training examples", len(train_df))
    baseline = TfidfBaseline().fit(train_df["text"].tolist(), train_df["label"].to_numpy())

    def baseline_predict(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        p = baseline.predict(texts)
        return p, p

    base_res = evaluate_predictor(baseline_predict, sets)
    base_res["train_examples"] = len(train_df)
    base_res["seconds"] = round(time.time() - t2, 1)
    keys = ("nsmc_test_binary_accuracy", "app_test_binary_accuracy", "three_class_accuracy",
            "three_class_macro_f1")
    delta = {k: round(100 * (model_res[k] - base_res[k]), 2) for k in keys}
    out = {
        "model": model,
        "lexical": lexical,
        "limit": limit,
        "seconds": round(time.time() - t0, 1),
        "sets": {k: len(v) for k, v in sets.items()},
        "model_results": model_res,
        "baseline_results": base_res,
        "delta_points": delta,
        **views,
    }
    if views:
        out["blend_delta_points"] = {k: round(100 * (views["blend_results"][k] - base_res[k]), 2)
                                     for k in keys}
    return out


def format_report(res: dict[str, Any]) -> str:
    """A fixed-width table a human can read in a CI log: the model alone, with `lexical` the lexical
    view alone and the blend the pipeline runs, and the baseline."""
    m, b = res["model_results"], res["baseline_results"]
    columns = [("model", m)]
    if "blend_results" in res:
        columns += [("lexical", res["lexical_results"]), ("blend", res["blend_results"])]
    columns.append(("tfidf", b))
    rows = [
        ("NSMC by-movie test, binary acc", "nsmc_test_binary_accuracy"),
        ("App reviews (test apps), binary acc", "app_test_binary_accuracy"),
        ("3-class test acc", "three_class_accuracy"),
        ("3-class test macro-F1", "three_class_macro_f1"),
        ("ECE 3-class test", "three_class_ece"),
        ("ECE 3-class test at T=1", "three_class_ece_t1"),
        ("ECE NSMC binary", "nsmc_test_binary_ece"),
        ("ECE app binary", "app_test_binary_ece"),
        ("neutral recall (3-class test)", "three_class_neutral_recall"),
    ]
    blend = res.get("blend_results")
    lines = [
        f"model: {res['model']}  lexical: {res.get('lexical')}"
        + (f" (weight {blend['weight']:g}, T {blend['temperature']:g})" if blend else "")
        + f"  model T={m['temperature']:.3g}  (limit={res['limit']}, sets={res['sets']})",
        f"{'metric':40s}" + "".join(f" {name:>8s}" for name, _ in columns) + f" {'diff pt':>8s}",
    ]
    best = blend or m
    for title, key in rows:
        diff = 100 * (best[key] - b[key]) if key in res["delta_points"] else float("nan")
        lines.append(f"{title:40s}" + "".join(f" {r[key]:8.4f}" for _, r in columns) + f" {diff:+8.2f}")
    lines.append(f"(diff pt: {'blend' if blend else 'model'} − tfidf)")
    for name, r in columns:
        lines.append(f"3-class accuracy by source, {name}: {r['three_class_by_source']}")
    lines.append("predicted label shares (negative/neutral/positive):")
    for spread in m["spread"]:
        lines.append(f"  {spread:10s} " + "  ".join(f"{name} {r['spread'][spread]}" for name, r in columns))
    n = m["style_agreement"]
    lines.append(f"same class after a final period is added ({n['period_n']}) / -요 ↔ -ㅂ니다 "
                 f"({n['register_n']}) / any ending → -ㅂ니다 ({n['formal_n']}):")
    for name, r in columns:
        st = r["style_agreement"]
        lines.append(f"  {name:8s} {st['period']:.3f} / {st['register']:.3f} / {st['formal']:.3f}")
    lines.append(
        f"model inference {m['inference_samples_per_s']} samples/s; baseline trained on "
        f"{b['train_examples']:,} examples in {b['seconds']} s; total {res['seconds']} s"
    )
    return "\n".join(lines)


def update_card(card: Path, res: dict[str, Any]) -> None:
    """Replace the evaluation section of a model card with this run's test figures."""
    from models.training.train_sentiment import EVAL_END, EVAL_START

    text = card.read_text(encoding="utf-8")
    if EVAL_START not in text or EVAL_END not in text:
        text += f"\n{EVAL_START}\n{EVAL_END}\n"
    m, b, d = res["model_results"], res["baseline_results"], res["delta_points"]
    spread = "\n".join(f"| {name} | {m['spread'][name]} | {b['spread'][name]} |" for name in m["spread"])
    table_rows = [
        ("NSMC by-movie test, neg (1–4) vs pos (9–10), balanced", "nsmc_test_binary_accuracy", "nsmc_test_n"),
        (
            "App reviews, test apps, 1–2★ vs 4–5★, balanced (eval only)",
            "app_test_binary_accuracy",
            "app_test_n",
        ),
        ("3-class test (NSMC + KOTE + petitions), accuracy", "three_class_accuracy", "three_class_n"),
        ("3-class test, macro-F1", "three_class_macro_f1", None),
    ]
    table = "\n".join(
        ["| test set | n | this model | TF-IDF baseline | difference (points) |", "|---|---|---|---|---|"]
        + [
            f"| {title} | {format(m[n], ',') if n else ''} | {m[k]:.4f} | {b[k]:.4f} | {d[k]:+.2f} |"
            for title, k, n in table_rows
        ]
    )
    section = f"""{EVAL_START}
## Test metrics (`python -m models.evaluation.evaluate_sentiment --card`, {time.strftime("%Y-%m-%d")})
Baseline: Kiwi morphemes + TF-IDF + logistic regression trained on the same training split
({b["train_examples"]:,} examples) in the same run.

{table}

Calibration (ECE, 15 bins), T = 1 → T = {m["temperature"]}: 3-class test {m["three_class_ece_t1"]:.4f} →
{m["three_class_ece"]:.4f}; NSMC binary {m["nsmc_test_binary_ece_t1"]:.4f} → {m["nsmc_test_binary_ece"]:.4f};
app binary {m["app_test_binary_ece_t1"]:.4f} → {m["app_test_binary_ece"]:.4f}.

Where lukewarm texts land (share of predicted negative / neutral / positive):

| set | this model | TF-IDF baseline |
|---|---|---|
{spread}
{EVAL_END}"""
    start, end = text.index(EVAL_START), text.index(EVAL_END) + len(EVAL_END)
    card.write_text(text[:start] + section + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=BUILTIN_SENTIMENT, help="builtin name, HF id or local path")
    p.add_argument("--limit", type=int, default=None, help="quick run: cap every evaluation set at N")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    p.add_argument(
        "--card", action="store_true", help="write the test figures into the model's MODEL_CARD.md"
    )
    p.add_argument("--config", type=Path, default=None,
                   help="the config whose models.lexical_sentiment / lexical_weight / lexical_temperature "
                        "the blend uses and whose models.backend picks a VOC model's precision "
                        "(onnx-int8: int8; default: configs/sori.yaml)")
    p.add_argument("--no-lexical", action="store_true",
                   help="score the model alone (no lexical view, no blend), as `lexical_sentiment: null`")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    models = load_config(args.config).models
    lexical = None if args.no_lexical else models.lexical_sentiment
    try:
        res = run(args.model, args.limit, args.batch_size, lexical, models.lexical_weight,
                  models.lexical_temperature, PRECISION.get(models.backend, "fp32"))
    except SharedDataMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_report(res))
    if args.card:
        folder = resolve_voc(args.model) if is_voc_model(args.model) else Path(resolve_sentiment(args.model))
        card = folder / "MODEL_CARD.md"
        if card.is_file():
            update_card(card, res)
            print(f"updated {card}")
        else:
            print(f"no model card at {card}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
