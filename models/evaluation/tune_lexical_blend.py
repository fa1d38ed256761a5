"""Tune the blend of a sentiment model with the lexical view on the dev split, never on test.

    python -m models.evaluation.tune_lexical_blend [--model builtin:voc-e5]
        [--lexical builtin:sentiment-kiwi-tfidf] [--dev-examples 6000] [--json PATH]

The model's probabilities are what the pipeline computes (calibrated by its own temperature); the blend
is `models.lexical.blend_log_probabilities`. For each weight w on a grid the script fits the blend's
temperature T by dev negative log-likelihood (3-class) and prints dev 3-class accuracy, macro-F1, NLL
and ECE (at T = 1 and at the fitted T), NSMC negative-vs-positive accuracy and how often the class
survives a change of register alone on dev texts (-요 ↔ -ㅂ니다, any ending → -ㅂ니다, as
`evaluate_sentiment` measures it on test), the cost the lexical view brings. The suggested setting
maximises the mean of dev 3-class macro-F1 and NSMC binary accuracy, the two figures the issue's
goals name that dev can measure (app reviews are evaluation only). Dev rows come from
`models.training.sentiment_data` (split by movie / comment / petition), so neither the VOC model nor
the lexical view trained on them.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.evaluation.evaluate_sentiment import macro_f1, voc_probabilities
from models.lexical import BUILTIN_LEXICAL, LexicalSentiment, blend_log_probabilities
from models.sentiment import expected_calibration_error, fit_temperature
from models.training.sentiment_data import (
    NEGATIVE,
    POSITIVE,
    load_corpus,
    nsmc_binary,
    restyle,
    swap_register,
    training_frame,
    without_final_period,
)
from models.voc import BUILTIN_VOC
from pipeline.text.normalize import normalize_text

log = logging.getLogger("tune_lexical_blend")
SEED = 13
STYLE_TEXTS = 1000  # dev texts of each set whose restyled twins are scored
WEIGHTS = tuple(round(float(w), 2) for w in np.arange(0.0, 1.0001, 0.05))


def figures(probs: np.ndarray, gold3: np.ndarray, probs2: np.ndarray, gold2: np.ndarray) -> dict[str, float]:
    """Dev figures of blended probabilities: 3-class on `gold3`, NSMC negative-vs-positive on `gold2`."""
    pred = probs.argmax(1)
    nll = float(-np.log(np.clip(probs[np.arange(len(gold3)), gold3], 1e-12, None)).mean())
    binary = np.where(probs2[:, POSITIVE] > probs2[:, NEGATIVE], POSITIVE, NEGATIVE)
    return {"accuracy": float((pred == gold3).mean()), "macro_f1": macro_f1(pred, gold3, range(3)),
            "nll": nll, "ece": expected_calibration_error(probs, gold3),
            "nsmc_binary": float((binary == gold2).mean())}


def style_pairs(texts: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    """(originals, restyled) for the -요 ↔ -ㅂ니다 swap and for any ending made formal."""
    bare = [t for t in map(without_final_period, texts) if t and t[-1] not in ".!?~"]
    out = {}
    for name, change in (("register", swap_register), ("formal", lambda t: restyle(t, "formal"))):
        pairs = [(t, styled) for t in bare if (styled := change(t))]
        out[name] = ([t for t, _ in pairs], [styled for _, styled in pairs])
    return out


def tune(model_probs: tuple[np.ndarray, np.ndarray], lexical: tuple[np.ndarray, np.ndarray],
         gold3: np.ndarray, gold2: np.ndarray, weights: Sequence[float] = WEIGHTS,
         styled: dict[str, tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] | None = None,
         ) -> dict[str, Any]:
    """The grid over weights (T fitted per weight) and the suggested (weight, temperature). `styled`
    maps a change of style to ((model probs, lexical log-probs) of the originals, of the restyled)."""
    rows = []
    for w in weights:
        z3 = np.log(blend_log_probabilities(model_probs[0], lexical[0], w))
        t = fit_temperature(z3, gold3)
        p3 = blend_log_probabilities(model_probs[0], lexical[0], w, t)
        p2 = blend_log_probabilities(model_probs[1], lexical[1], w, t)
        at_t1 = figures(np.exp(z3), gold3, blend_log_probabilities(model_probs[1], lexical[1], w), gold2)
        same = {name: float((blend_log_probabilities(*a, w).argmax(1)
                             == blend_log_probabilities(*b, w).argmax(1)).mean())
                for name, (a, b) in (styled or {}).items()}
        rows.append({"weight": w, "temperature": t, **figures(p3, gold3, p2, gold2),
                     "ece_t1": at_t1["ece"], "nll_t1": at_t1["nll"], **same})
    best = max(rows, key=lambda r: (r["macro_f1"] + r["nsmc_binary"]) / 2)
    return {"grid": rows,
            "suggested": {"weight": float(best["weight"]), "temperature": round(best["temperature"], 2)}}


def run(model: str, lexical_name: str, dev_examples: int, batch_size: int = 64) -> dict[str, Any]:
    corpus = load_corpus()
    dev3 = training_frame(corpus, "dev", dev_examples, SEED)
    dev2 = nsmc_binary(corpus, "dev", dev_examples // 2, SEED)
    texts3 = [normalize_text(t or "") for t in dev3["text"]]
    texts2 = [normalize_text(t or "") for t in dev2["text"]]
    log.info("dev: %d 3-class, %d NSMC binary", len(texts3), len(texts2))
    predict = voc_probabilities(model, batch_size)
    lexical = LexicalSentiment.load(lexical_name)
    model_probs = (predict(texts3), predict(texts2))
    lexical_lp = (lexical.log_proba(texts3), lexical.log_proba(texts2))
    pairs = style_pairs(texts2[:STYLE_TEXTS] + texts3[:STYLE_TEXTS])
    styled = {name: ((predict(a), lexical.log_proba(a)), (predict(b), lexical.log_proba(b)))
              for name, (a, b) in pairs.items()}
    res = tune(model_probs, lexical_lp, dev3["label"].to_numpy(), dev2["label"].to_numpy(), styled=styled)
    return {"model": model, "lexical": lexical_name, "dev_three_class": len(texts3),
            "dev_nsmc_binary": len(texts2), "style_pairs": {k: len(a) for k, (a, _) in pairs.items()}, **res}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=BUILTIN_VOC)
    p.add_argument("--lexical", default=BUILTIN_LEXICAL)
    p.add_argument("--dev-examples", type=int, default=6000)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    res = run(args.model, args.lexical, args.dev_examples)
    print(f"style pairs on dev: {res['style_pairs']}")
    print(f"{'w':>5s} {'T':>6s} {'acc3':>7s} {'F1':>7s} {'NLL':>7s} {'ECE':>7s} {'ECE@T1':>7s} {'NSMC2':>7s} "
          f"{'-요↔-ㅂ니다':>9s} {'→-ㅂ니다':>8s}")
    for r in res["grid"]:
        print(f"{r['weight']:5.2f} {r['temperature']:6.3f} {r['accuracy']:7.4f} {r['macro_f1']:7.4f} "
              f"{r['nll']:7.4f} {r['ece']:7.4f} {r['ece_t1']:7.4f} {r['nsmc_binary']:7.4f} "
              f"{r.get('register', float('nan')):9.4f} {r.get('formal', float('nan')):8.4f}")
    print("suggested:", res["suggested"])
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
