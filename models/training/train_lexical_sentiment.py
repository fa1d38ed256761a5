"""Train the builtin lexical sentiment view (`models.lexical`): Kiwi morphemes, hashed TF-IDF, logistic
regression.

    python -m models.training.train_lexical_sentiment [--out models/weights/sentiment-kiwi-tfidf]
        [--n-features 1048576] [--min-df 3] [--c 2.0] [--max-train N] [--seed 13] [--vary-style]

Data: the training split of `models.training.sentiment_data.training_frame` (NSMC CC0, KOTE MIT,
petitions CC0), the split the VOC model and the evaluation's TF-IDF baseline are trained on; never dev
or test rows, never app reviews (evaluation only). Texts are normalised as the pipeline normalises them
(`normalize_text`) before Kiwi reads them. Deterministic: seeded sampling, Kiwi, a hash that does not
depend on the process and lbfgs on a fixed input. `--vary-style` restyles the training texts at random
as `train_sentiment --vary-style` does (`sentiment_data.vary_style`): the final -요/-ㅂ니다 register and
period, which otherwise mark the neutral class (formal petition sentences), then say nothing about it.
Prints accuracy on the dev split (3-class and NSMC binary) with the stored fp16 coefficients and with
the fp32 ones they were rounded from, so a change that the rounding hurts shows. Writes
`lexical_sentiment.npz` and `lexical_sentiment.json` (settings and dev figures); the model card is
written by hand from those and `evaluate_sentiment`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.lexical import WEIGHTS_DIR, WEIGHTS_FILE, LexicalSentiment, fit_lexical, kiwi_morphemes
from models.training.sentiment_data import (
    NEGATIVE,
    POSITIVE,
    load_corpus,
    nsmc_binary,
    training_frame,
    with_varied_style,
)
from pipeline.text.normalize import normalize_text

log = logging.getLogger("train_lexical_sentiment")
SEED = 13


def morphemes(texts: list[str]) -> list[list[str]]:
    """What the view reads of training and dev texts: the pipeline's normalisation, then Kiwi."""
    return kiwi_morphemes([normalize_text(t or "") for t in texts])


def dev_figures(model: LexicalSentiment, three: tuple[list[list[str]], np.ndarray],
                nsmc: tuple[list[list[str]], np.ndarray]) -> dict[str, float]:
    """3-class accuracy and NSMC negative-vs-positive accuracy (neutral left out) on dev."""
    pred3 = model.log_proba_morphemes(three[0]).argmax(1)
    lp = model.log_proba_morphemes(nsmc[0])
    pred2 = np.where(lp[:, POSITIVE] > lp[:, NEGATIVE], POSITIVE, NEGATIVE)
    return {"dev_three_class_accuracy": round(float((pred3 == three[1]).mean()), 4),
            "dev_nsmc_binary_accuracy": round(float((pred2 == nsmc[1]).mean()), 4)}


def train(out: Path, n_features: int, min_df: int, c: float, max_train: int | None, seed: int,
          vary_style: bool = False, dev_examples: int = 6000) -> dict[str, Any]:
    """Fits on the training split, writes the model to `out`, returns its settings and dev figures."""
    t0 = time.time()
    corpus = load_corpus()
    train_df = training_frame(corpus, "train", max_train, seed)
    style_changed = 0.0
    if vary_style:
        train_df, style_changed = with_varied_style(train_df, seed)
    log.info("tokenising %d training texts", len(train_df))
    train_m = morphemes(train_df["text"].tolist())
    t1 = time.time()
    log.info("fitting (n_features=%d, min_df=%d, C=%g)", n_features, min_df, c)
    model = fit_lexical(train_m, train_df["label"].to_numpy(), n_features, min_df, c, seed)
    t2 = time.time()
    dev3 = training_frame(corpus, "dev", dev_examples, seed)
    dev2 = nsmc_binary(corpus, "dev", dev_examples // 2, seed)
    three = (morphemes(dev3["text"].tolist()), dev3["label"].to_numpy())
    nsmc = (morphemes(dev2["text"].tolist()), dev2["label"].to_numpy())
    fp32 = dev_figures(model, three, nsmc)
    settings: dict[str, Any] = {
        "features": "Kiwi form/tag morphemes + neighbouring pairs, hashed (alternate_sign=False), "
                    "sublinear tf x smoothed idf, L2",
        "n_features": n_features, "min_df": min_df, "c": c, "seed": seed,
        "class_weight": "balanced", "labels": ["negative", "neutral", "positive"],
        "train_examples": len(train_df), "style_varied_share": round(style_changed, 4),
        "train_by_source": {k: int(v) for k, v in train_df["source"].value_counts().sort_index().items()},
        "columns_kept": len(model.columns),
        "dev_examples": {"three_class": len(dev3), "nsmc_binary": len(dev2)},
        "dev_fp32": fp32,
        "seconds": {"tokenise": round(t1 - t0, 1), "fit": round(t2 - t1, 1)},
    }
    model.save(out)
    stored = LexicalSentiment.load(str(out))
    settings["dev_fp16"] = dev_figures(stored, three, nsmc)
    settings["size_bytes"] = (out / WEIGHTS_FILE).stat().st_size
    model.save(out, settings)
    return settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--n-features", type=int, default=2**20)
    p.add_argument("--min-df", type=int, default=3)
    p.add_argument("--c", type=float, default=2.0)
    p.add_argument("--max-train", type=int, default=None, help="cap the training rows (quick runs)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--vary-style", action="store_true",
                   help="vary the final register and period of training texts at random (vary_style)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = train(args.out, args.n_features, args.min_df, args.c, args.max_train, args.seed,
                     args.vary_style)
    print(json.dumps(settings, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
