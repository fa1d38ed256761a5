"""Train sori's VOC model (`models.voc`): e5-small with frozen lower layers, trained upper layers and five
heads (sentiment, pain, categories, touchpoint, response needed), on a CPU in minutes to an hour.

    python -m models.training.train_voc --out models/weights/voc-e5 \
        [--frozen-layers 8] [--epochs 2] [--sentiment-examples 60000] [--time-budget-min 60] [--resume]
        [--init builtin:voc-e5]

The recipe, in the order of what it saves: the frozen layers run once per example and their states are
cached (on disk, keyed by what produced them, so a resumed run skips them); batches are length-bucketed
and padded only to their longest example; forward passes run under bf16 autocast on CUDA
and on a CPU with native bf16 (fp32 elsewhere).
Heads a row has no label for are masked out of its loss: sentiment rows (NSMC, KOTE, petitions via
`models.training.sentiment_data`, CC0/MIT) teach the sentiment head only; the written VOC corpus
(`data/voc`, `models.training.voc_corpus`) and the tagging files (`data/tagging/`) teach pain, categories,
touchpoints and response needed.

The run stops at its epochs or its time budget, whichever comes first; with a budget the learning rate
decays on the larger of step share and time share, so a cut run still ends cooled down. A checkpoint
(`checkpoint.pt`: trained weights, optimiser, position in the epoch, seconds trained) is written every
`--checkpoint-min` minutes and at the end; `--resume` continues from it, over the same batch order.
`--init` starts the upper layers and heads from a trained model rather than the base encoder, for a
corpus that grew: a shorter run with a sentiment sample beside the new rows, so the sentiment head keeps
what it learned.
Writes `voc_model.safetensors` (upper layers in fp16, heads), `voc_model.json`, `training_run.json` and
MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.encoder import BUILTIN_ENCODER, resolve_model
from models.sentiment import expected_calibration_error, fit_temperature, softmax_with_temperature
from models.training.train_sentiment import bucketed_batches, lr_factor, seed_everything
from models.training.voc_corpus import CORPUS_DIR, TAXONOMY, load_voc_corpus
from models.voc import (
    SENTIMENT_LABELS,
    WEIGHTS_FILE,
    VocSettings,
    build_modules,
    load_trained,
    lower_states,
    pad,
    resolve_voc,
    upper_forward,
)
from pipeline.config import load_taxonomy

log = logging.getLogger("train_voc")

REPO = Path(__file__).resolve().parents[2]
TAGGING_DIR = REPO / "data" / "tagging"
CHECKPOINT = "checkpoint.pt"
MASKED = -1


@dataclass
class Examples:
    """Texts with one label array per head; MASKED (−1) where a row has no label for that head."""

    texts: list[str]
    sentiment: np.ndarray  # int, class index
    pain: np.ndarray  # float 0/1
    categories: np.ndarray  # float multi-hot (n, categories); rows of −1 where masked
    touchpoint: np.ndarray  # int, touchpoint index
    response: np.ndarray  # float 0/1
    source: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def concat(cls, parts: list[Examples]) -> Examples:
        return cls(
            [t for p in parts for t in p.texts],
            *(
                np.concatenate([getattr(p, k) for p in parts])
                for k in ("sentiment", "pain", "categories", "touchpoint", "response")
            ),
            [s for p in parts for s in p.source],
        )

    def take(self, rows: np.ndarray) -> Examples:
        return Examples(
            [self.texts[i] for i in rows],
            self.sentiment[rows],
            self.pain[rows],
            self.categories[rows],
            self.touchpoint[rows],
            self.response[rows],
            [self.source[i] for i in rows],
        )


def _blank(n: int, n_categories: int) -> dict[str, np.ndarray]:
    return {
        "sentiment": np.full(n, MASKED, np.int64),
        "pain": np.full(n, MASKED, np.float32),
        "categories": np.full((n, n_categories), MASKED, np.float32),
        "touchpoint": np.full(n, MASKED, np.int64),
        "response": np.full(n, MASKED, np.float32),
    }


def tagging_examples(
    categories: list[str],
    touchpoints: list[str],
    corpus_dir: Path = CORPUS_DIR,
    tagging_dir: Path = TAGGING_DIR,
) -> Examples:
    """The written VOC corpus plus the tagging files: phrases.csv (complaints with categories and a
    touchpoint) and pain_examples.csv (pain or not)."""
    texts, labels, sources = [], [], []

    def add(
        text: str,
        source: str,
        pain: float,
        cats: list[str] | None = None,
        touchpoint: str | None = None,
        response: float = MASKED,
    ) -> None:
        row = _blank(1, len(categories))
        row["pain"][0] = pain
        if cats is not None:
            row["categories"][0] = [1.0 if key in cats else 0.0 for key in categories]
        if touchpoint is not None:
            row["touchpoint"][0] = touchpoints.index(touchpoint)
        row["response"][0] = response
        texts.append(text)
        labels.append(row)
        sources.append(source)

    for s in load_voc_corpus(corpus_dir):
        add(
            s.text,
            "voc",
            float(s.has_pain),
            list(s.categories) if s.has_pain else None,
            s.touchpoint,
            float(s.response_needed) if s.response_needed is not None else MASKED,
        )
    with (tagging_dir / "phrases.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            add(row["text"], "phrases", 1.0, row["categories"].split(";"), row["touchpoint"])
    with (tagging_dir / "pain_examples.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            add(row["text"], "pain_examples", float(row["has_pain"]))
    merged = (
        {k: np.concatenate([r[k] for r in labels]) for k in labels[0]}
        if labels
        else _blank(0, len(categories))
    )
    return Examples(texts, **merged, source=sources)


def sentiment_examples(split: str, n: int, n_categories: int, seed: int) -> Examples:
    """A balanced 3-class sample of one split of the sentiment corpora (needs ../shared/data)."""
    from models.training.sentiment_data import load_corpus, training_frame

    frame = training_frame(load_corpus(), split, n, seed)
    labels = _blank(len(frame), n_categories)
    labels["sentiment"] = frame["label"].to_numpy().astype(np.int64)
    return Examples(frame["text"].tolist(), **labels, source=frame["source"].tolist())


def split_tagging(examples: Examples, dev_share: float) -> tuple[Examples, Examples]:
    """Train and dev by a hash of the text, so a sentence stays on its side whatever else changes."""

    def bucket(text: str) -> float:
        return int(hashlib.sha256(("voc-dev:" + "".join(text.split())).encode()).hexdigest()[:8], 16) / 2**32

    dev = np.array([bucket(t) < dev_share for t in examples.texts], dtype=bool)
    return examples.take(np.flatnonzero(~dev)), examples.take(np.flatnonzero(dev))


def masked_loss(logits: dict[str, Any], batch: dict[str, Any], weights: dict[str, float]) -> Any:
    """The sum over heads of each head's mean loss over the rows labelled for it."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    total = logits["pain"].new_zeros(())
    sentiment = batch["sentiment"] != MASKED
    if sentiment.any():
        total = total + weights["sentiment"] * F.cross_entropy(
            logits["sentiment"][sentiment].float(), batch["sentiment"][sentiment]
        )
    for head, target in (("pain", "pain"), ("response", "response")):
        keep = batch[target] != MASKED
        if keep.any():
            total = total + weights[head] * F.binary_cross_entropy_with_logits(
                logits[head].squeeze(-1)[keep].float(), batch[target][keep]
            )
    keep = batch["categories"][:, 0] != MASKED
    if keep.any():
        # Summed over the categories, averaged over the rows: a mean over all sixteen outputs would shrink
        # each row's one positive to a sixteenth of a single-label loss, and the head would learn "none".
        per_output = F.binary_cross_entropy_with_logits(
            logits["categories"][keep].float(), batch["categories"][keep], reduction="none"
        )
        total = total + weights["categories"] * per_output.sum(1).mean()
    keep = batch["touchpoint"] != MASKED
    if keep.any():
        total = total + weights["touchpoints"] * F.cross_entropy(
            logits["touchpoints"][keep].float(), batch["touchpoint"][keep]
        )
    return total if total.requires_grad else total + torch.zeros((), requires_grad=True)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere torch emulates bf16,
    which is several times slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device: str) -> Any:
    """bf16 autocast on CUDA and on a CPU with native bf16; plain fp32 on any other CPU."""
    import contextlib

    import torch

    if device == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cache_lower(
    lower: Any, ids: list[list[int]], pad_id: int, device: str, batch_size: int, path: Path | None
) -> list[Any]:
    """The frozen layers' states of every example (bf16, unpadded), loaded from `path` when it holds them."""
    import torch

    if path is not None and path.is_file():
        log.info("frozen-layer states from %s", path)
        return torch.load(path)
    started = time.time()
    states: list[Any] = [None] * len(ids)
    order = np.argsort([len(x) for x in ids], kind="stable")
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            input_ids, mask = pad([ids[i] for i in rows], pad_id)
            hidden = lower_states(lower, input_ids.to(device), mask.to(device)).to(torch.bfloat16).cpu()
            for j, i in enumerate(rows):
                states[i] = hidden[j, : len(ids[i])].clone()
            done = start + len(rows)
            if done * 10 // len(order) > start * 10 // len(order):
                log.info("frozen-layer states: %d of %d (%.0f/s)", done, len(order),
                         done / max(time.time() - started, 1e-9))
    log.info(
        "cached frozen-layer states of %d examples in %.1f min (%.0f/s)",
        len(ids),
        (time.time() - started) / 60,
        len(ids) / max(time.time() - started, 1e-9),
    )
    if path is not None:
        tmp = path.with_suffix(".tmp")
        torch.save(states, tmp)
        tmp.replace(path)
    return states


def collate_states(states: list[Any], rows: list[int], examples: Examples, device: str) -> dict[str, Any]:
    import torch

    width = max(states[i].shape[0] for i in rows)
    hidden = torch.zeros((len(rows), width, states[rows[0]].shape[1]), dtype=states[rows[0]].dtype)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for j, i in enumerate(rows):
        hidden[j, : states[i].shape[0]] = states[i]
        mask[j, : states[i].shape[0]] = 1
    return {
        # Stored in bf16 to halve the cache; computed in fp32, or in bf16 under autocast.
        "hidden": hidden.to(device, dtype=torch.float32),
        "mask": mask.to(device),
        "sentiment": torch.from_numpy(examples.sentiment[rows]).to(device),
        "pain": torch.from_numpy(examples.pain[rows]).to(device),
        "categories": torch.from_numpy(examples.categories[rows]).to(device),
        "touchpoint": torch.from_numpy(examples.touchpoint[rows]).to(device),
        "response": torch.from_numpy(examples.response[rows]).to(device),
    }


def predict(
    upper: Any, heads: Any, states: list[Any], examples: Examples, device: str, batch_size: int = 128
) -> dict[str, np.ndarray]:
    """Raw logits of every head for cached examples, in example order."""
    import torch

    upper.eval()
    heads.eval()
    out: dict[str, np.ndarray] = {}
    order = np.argsort([s.shape[0] for s in states], kind="stable")
    with torch.inference_mode(), autocast(device):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size].tolist()
            batch = collate_states(states, rows, examples, device)
            _, logits = upper_forward(upper, heads, batch["hidden"], batch["mask"])
            for name, value in logits.items():
                if name not in out:
                    out[name] = np.zeros((len(examples), value.shape[-1]), np.float32)
                out[name][rows] = value.float().cpu().numpy()
    upper.train()
    heads.train()
    return out


def dev_metrics(logits: dict[str, np.ndarray], examples: Examples) -> dict[str, float]:
    """Accuracy of pain, touchpoint, response; macro-F1 of categories (0.5 cut, on labelled pain rows);
    sentiment accuracy and ECE before and after the fitted temperature."""
    metrics: dict[str, float] = {}
    pain = examples.pain != MASKED
    if pain.any():
        metrics["pain_accuracy"] = float(((logits["pain"][pain, 0] > 0) == (examples.pain[pain] == 1)).mean())
    cats = examples.categories[:, 0] != MASKED
    if cats.any():
        predicted, truth = logits["categories"][cats] > 0, examples.categories[cats] == 1
        f1 = [
            2 * (p & t).sum() / max(p.sum() + t.sum(), 1)
            for p, t in zip(predicted.T, truth.T, strict=True)
            if t.any()
        ]
        metrics["category_macro_f1"] = float(np.mean(f1))
        primary = examples.categories[cats].argmax(1)
        metrics["category_top1_accuracy"] = float((logits["categories"][cats].argmax(1) == primary).mean())
    touch = examples.touchpoint != MASKED
    if touch.any():
        metrics["touchpoint_accuracy"] = float(
            (logits["touchpoints"][touch].argmax(1) == examples.touchpoint[touch]).mean()
        )
    response = examples.response != MASKED
    if response.any():
        metrics["response_accuracy"] = float(
            ((logits["response"][response, 0] > 0) == (examples.response[response] == 1)).mean()
        )
    sentiment = examples.sentiment != MASKED
    if sentiment.any():
        z, y = logits["sentiment"][sentiment], examples.sentiment[sentiment]
        temperature = fit_temperature(z, y)
        metrics["sentiment_accuracy"] = float((z.argmax(1) == y).mean())
        metrics["sentiment_ece_before"] = expected_calibration_error(softmax_with_temperature(z), y)
        metrics["sentiment_ece_after"] = expected_calibration_error(
            softmax_with_temperature(z, temperature), y
        )
        metrics["temperature"] = temperature
    return metrics


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def _save_atomic(obj: Any, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def checked_init(args: argparse.Namespace, categories: list[str], touchpoints: list[str]) -> Path:
    """The trained VOC model `--init` starts from (its upper layers and heads, so a corpus that grew is
    learned in a fraction of a run from the base encoder), checked before any data is read: it must have
    been trained on the same base, frozen layers, input format and label sets, or its weights would mean
    other things."""
    directory = resolve_voc(args.init)
    settings = VocSettings.read(directory)
    wanted = {"base": args.base, "frozen_layers": args.frozen_layers, "prefix": args.prefix,
              "max_length": args.max_length, "categories": categories, "touchpoints": touchpoints}
    differ = [key for key, value in wanted.items() if getattr(settings, key) != value]
    if differ:
        raise ValueError(f"--init {args.init}: trained with other {', '.join(differ)} than this run "
                         f"({', '.join(f'{k}={getattr(settings, k)!r}' for k in differ)}); train from the "
                         "base encoder instead")
    return directory


def started_from(directory: Path) -> str:
    """How the model `--init` started from was trained (its own command), so the card of a run that
    continued it says what it continued."""
    record = directory / "training_run.json"
    if not record.is_file():
        return str(directory)
    return json.loads(record.read_text(encoding="utf-8"))["command"]


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    started = time.time()
    seed_everything(args.seed)
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    taxonomy = load_taxonomy(Path(args.taxonomy))
    categories, touchpoints = list(taxonomy.categories), list(taxonomy.touchpoints)
    init = checked_init(args, categories, touchpoints) if args.init else None

    tagging_train, tagging_dev = split_tagging(
        tagging_examples(categories, touchpoints, Path(args.corpus), Path(args.tagging)), args.dev_share
    )
    train_parts, dev_parts = [tagging_train], [tagging_dev]
    if args.sentiment_examples:
        train_parts.append(sentiment_examples("train", args.sentiment_examples, len(categories), args.seed))
        dev_parts.append(sentiment_examples("dev", args.sentiment_dev, len(categories), args.seed))
    train_set, dev_set = Examples.concat(train_parts), Examples.concat(dev_parts)
    log.info(
        "train %d (%s), dev %d",
        len(train_set),
        {s: train_set.source.count(s) for s in sorted(set(train_set.source))},
        len(dev_set),
    )

    base_dir = resolve_model(args.base)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    pad_id = tokenizer.pad_token_id or 0

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer([args.prefix + t for t in texts], truncation=True, max_length=args.max_length)[
            "input_ids"
        ]

    lower, upper, heads = build_modules(base_dir, args.frozen_layers, len(categories), len(touchpoints))
    if init is not None:
        load_trained(init, upper, heads)
        log.info("starting from the trained model %s", init)
    lower.to(device).eval()
    upper.to(device).train()
    heads.to(device).train()
    cache_key = _digest(args.base, args.frozen_layers, args.max_length, args.prefix)
    states = {}
    for name, examples in (("train", train_set), ("dev", dev_set)):
        path = out / f"frozen-{name}-{_digest(cache_key, examples.texts)}.pt" if args.cache_states else None
        states[name] = cache_lower(lower, encode(examples.texts), pad_id, device, args.batch_size * 2, path)
    del lower

    params = [*upper.parameters(), *heads.parameters()]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    weights = {
        "sentiment": 1.0,
        "pain": 1.0,
        "categories": args.category_weight,
        "touchpoints": 1.0,
        "response": 0.5,
    }
    lengths = [s.shape[0] for s in states["train"]]
    steps_per_epoch = math.ceil(len(train_set) / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    budget_s = args.time_budget_min * 60 if args.time_budget_min else math.inf
    position = {"epoch": 0, "batch": 0, "step": 0, "seen": 0, "trained_s": 0.0}
    losses: list[float] = []
    checkpoint = out / CHECKPOINT
    if args.resume and checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        upper.load_state_dict(saved["upper"])
        heads.load_state_dict(saved["heads"])
        optimizer.load_state_dict(saved["optimizer"])
        position, losses = saved["position"], saved["losses"]
        log.info(
            "resumed at epoch %d batch %d (step %d)", position["epoch"], position["batch"], position["step"]
        )

    def save_checkpoint() -> None:
        _save_atomic(
            {
                "upper": upper.state_dict(),
                "heads": heads.state_dict(),
                "optimizer": optimizer.state_dict(),
                "position": position,
                "losses": losses,
            },
            checkpoint,
        )

    stopped_by = "epochs"
    last_checkpoint = time.time()
    while position["epoch"] < args.epochs:
        # The same order on a resume: it is a function of the seed and the epoch alone.
        batches = bucketed_batches(
            lengths, args.batch_size, np.random.default_rng(args.seed + position["epoch"])
        )
        while position["batch"] < len(batches):
            if args.max_steps and position["step"] >= args.max_steps:
                stopped_by = "max_steps"
                break
            segment_start = time.time()
            progress = max(position["step"] / total_steps, position["trained_s"] / budget_s)
            if progress >= 1.0:
                stopped_by = "time budget"
                break
            for group in optimizer.param_groups:
                group["lr"] = args.lr * lr_factor(progress, args.warmup)
            rows = batches[position["batch"]]
            batch = collate_states(states["train"], rows, train_set, device)
            with autocast(device):
                _, logits = upper_forward(upper, heads, batch["hidden"], batch["mask"])
            loss = masked_loss(logits, batch, weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.item()))
            position["batch"] += 1
            position["step"] += 1
            position["seen"] += len(rows)
            position["trained_s"] += time.time() - segment_start
            if position["step"] % args.log_every == 0:
                log.info(
                    "epoch %d step %d/%d loss %.4f lr %.2e %.1f samples/s",
                    position["epoch"],
                    position["step"],
                    total_steps,
                    np.mean(losses[-args.log_every :]),
                    optimizer.param_groups[0]["lr"],
                    position["seen"] / max(position["trained_s"], 1e-9),
                )
            if time.time() - last_checkpoint >= args.checkpoint_min * 60:
                save_checkpoint()
                last_checkpoint = time.time()
        else:
            position["epoch"] += 1
            position["batch"] = 0
            continue
        break
    save_checkpoint()
    throughput = position["seen"] / max(position["trained_s"], 1e-9)
    log.info(
        "trained %d steps, %d samples in %.1f min, %.1f samples/s (stopped by %s)",
        position["step"],
        position["seen"],
        position["trained_s"] / 60,
        throughput,
        stopped_by,
    )

    metrics = dev_metrics(predict(upper, heads, states["dev"], dev_set, device), dev_set)
    log.info("dev %s", json.dumps(metrics))
    tensors = {f"upper.{k}": v.detach().to(torch.float16).contiguous() for k, v in upper.state_dict().items()}
    tensors |= {f"heads.{k}": v.detach().float().contiguous() for k, v in heads.state_dict().items()}
    save_file(tensors, str(out / WEIGHTS_FILE))
    VocSettings(
        base=args.base,
        frozen_layers=args.frozen_layers,
        categories=categories,
        touchpoints=touchpoints,
        prefix=args.prefix,
        max_length=args.max_length,
        temperature=metrics.get("temperature", 1.0),
        taxonomy_version=taxonomy.version,
    ).write(out)
    run = {
        "command": "python -m models.training.train_voc " + " ".join(args.argv),
        "date": dt.date.today().isoformat(),
        "hardware": torch.cuda.get_device_name(0)
        if device == "cuda"
        else f"CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
        "seed": args.seed,
        "frozen_layers": args.frozen_layers,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "lr": args.lr,
        "train_examples": len(train_set),
        "dev_examples": len(dev_set),
        "train_by_source": {s: train_set.source.count(s) for s in sorted(set(train_set.source))},
        "steps": position["step"],
        "samples_seen": position["seen"],
        "epochs_completed": round(position["seen"] / max(len(train_set), 1), 3),
        "stopped_by": stopped_by,
        "train_minutes": round(position["trained_s"] / 60, 1),
        "throughput_samples_per_s": round(throughput, 1),
        "first_loss": round(float(np.mean(losses[: args.log_every])), 4) if losses else None,
        "last_loss": round(float(np.mean(losses[-args.log_every :])), 4) if losses else None,
        "weights_mb": round((out / WEIGHTS_FILE).stat().st_size / 2**20, 1),
        "wall_minutes": round((time.time() - started) / 60, 1),
        "started_from": started_from(init) if init is not None else None,
        **{k: round(v, 4) for k, v in metrics.items()},
    }
    (out / "training_run.json").write_text(
        json.dumps(run, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_model_card(out, run)
    return run


def write_model_card(out: Path, run: dict[str, Any]) -> None:
    """MODEL_CARD.md from the training run: data, recipe, throughput and dev figures."""
    rows = "\n".join(
        f"| {k} | {run[k]} |"
        for k in (
            "pain_accuracy",
            "category_macro_f1",
            "category_top1_accuracy",
            "touchpoint_accuracy",
            "response_accuracy",
            "sentiment_accuracy",
            "sentiment_ece_before",
            "sentiment_ece_after",
            "temperature",
        )
        if k in run
    )
    sources = ", ".join(f"{k} {v:,}" for k, v in run["train_by_source"].items())
    started = (f"\n- Started from the model that `{run['started_from']}` trained, not from the base encoder."
               if run.get("started_from") else "")
    (out / "MODEL_CARD.md").write_text(
        f"""# voc-e5

sori's VOC model (`models/voc.py`): multilingual-e5-small (MIT) with its embeddings and lower
{run["frozen_layers"]} layers frozen, the upper layers fine-tuned, and heads for sentiment
({", ".join(SENTIMENT_LABELS)}), pain, categories, touchpoint and response needed, read off one
mean-pooled pass.

## Data
{sources}. `voc`: the written corpus of `data/voc` (datasheet there); `phrases`, `pain_examples`: the
tagging files of `data/tagging`; `nsmc`, `kote`, `petition`: sentiment rows (CC0 / MIT /
CC0, `models/training/sentiment_data.py`). Heads a row has no label for are masked out of its loss.
Dev: a hash split of the written rows, and the sentiment corpora's dev split.

## Training run
- Command: `{run["command"]}`{started}
- Date {run["date"]}; {run["hardware"]}; seed {run["seed"]}; batch {run["batch_size"]}, max length
  {run["max_length"]}, lr {run["lr"]}.
- {run["samples_seen"]:,} samples ({run["epochs_completed"]} epochs, {run["steps"]} steps) in
  {run["train_minutes"]} min at {run["throughput_samples_per_s"]} samples/s; stopped by {run["stopped_by"]}.
  Loss {run["first_loss"]} → {run["last_loss"]}. Weights {run["weights_mb"]} MB.

## Dev figures
| metric | value |
|---|---|
{rows}
""",
        encoding="utf-8",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (weights, settings, checkpoint, model card)")
    p.add_argument("--base", default=BUILTIN_ENCODER, help="encoder: builtin, Hugging Face id or local path")
    p.add_argument("--taxonomy", default=str(TAXONOMY))
    p.add_argument("--corpus", default=str(CORPUS_DIR), help="folder of the written VOC corpus CSVs")
    p.add_argument("--tagging", default=str(TAGGING_DIR), help="folder of phrases.csv and pain_examples.csv")
    p.add_argument("--frozen-layers", type=int, default=8)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in all (0: no cap)")
    p.add_argument("--time-budget-min", type=float, default=None, help="training-time budget")
    p.add_argument("--checkpoint-min", type=float, default=5.0)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument(
        "--init",
        default=None,
        help="start from a trained VOC model (builtin:voc-e5 or a folder), not the base encoder's layers",
    )
    p.add_argument(
        "--sentiment-examples",
        type=int,
        default=0,
        help="balanced sentiment rows from ../shared/data (0: tagging data only)",
    )
    p.add_argument("--sentiment-dev", type=int, default=3000)
    p.add_argument("--dev-share", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--prefix", default="query: ")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--category-weight", type=float, default=1.0)
    p.add_argument(
        "--no-cache-states",
        dest="cache_states",
        action="store_false",
        help="do not keep the frozen-layer states on disk for a resume",
    )
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
