"""Sentence sentiment (negative / neutral / positive) with calibrated probabilities.

The builtin model is multilingual-e5-small plus a LoRA adapter and classification head trained by
`models.training.train_sentiment` (a few MB committed under `models/weights/`); it is merged into the encoder
at load time so inference is a plain `BertForSequenceClassification` with no peft overhead. Any Hugging
Face id or local path of a full sequence-classification model works too (its labels are mapped by
name), so a site with a model hub can swap in a bigger Korean model by configuration alone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.text.normalize import normalize_text

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
BUILTIN_SENTIMENT = "builtin:sentiment-e5-lora"
WEIGHTS_DIR = Path(__file__).parent / "weights" / "sentiment-e5-lora"
SETTINGS_FILE = "sori_sentiment.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentimentSettings:
    """What inference must repeat from training: the text prefix, truncation length and temperature."""

    prefix: str = ""
    max_length: int = 128
    temperature: float = 1.0
    base: str | None = None

    @classmethod
    def read(cls, directory: Path) -> SentimentSettings:
        path = directory / SETTINGS_FILE
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: raw[k] for k in ("prefix", "max_length", "temperature", "base") if k in raw})


@dataclass
class SentimentScores:
    """Probabilities (n, 3) in the order negative, neutral, positive, with argmax labels."""

    probs: np.ndarray

    @property
    def labels(self) -> list[str]:
        return [LABELS[i] for i in self.probs.argmax(axis=1)] if len(self.probs) else []

    @property
    def p_negative(self) -> np.ndarray:
        return self.probs[:, 0]

    def __len__(self) -> int:
        return len(self.probs)


def softmax_with_temperature(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of logits / T; a column of -inf (class the model lacks) gets probability 0."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


_NAME_PATTERNS = (
    (0, re.compile(r"neg|부정|나쁨")),
    (1, re.compile(r"neu|중립|보통")),
    (2, re.compile(r"pos|긍정|좋음")),
)


def label_mapping(id2label: dict[int, str]) -> list[int]:
    """For each model output, its class index in LABELS (names with neg/neu/pos, case-insensitive).

    Unnamed 2-class models (LABEL_0, LABEL_1) follow the usual convention 0 = negative, 1 = positive.
    """
    names = {int(i): str(n).lower() for i, n in id2label.items()}
    if len(names) == 2 and all(re.fullmatch(r"label_\d", n) for n in names.values()):
        return [0, 2]
    mapping = []
    for i in sorted(names):
        hits = [c for c, pattern in _NAME_PATTERNS if pattern.search(names[i])]
        if len(hits) != 1:
            raise ValueError(
                f"cannot map the model's label {names[i]!r} to negative/neutral/positive; "
                "use a model whose id2label names contain neg/neu/pos"
            )
        mapping.append(hits[0])
    if 0 not in mapping or 2 not in mapping:
        raise ValueError(f"model labels {list(names.values())} lack a negative or a positive class")
    return mapping


class SentimentClassifier:
    """Calibrated 3-class sentence sentiment; load with `from_pretrained`, score with `predict`."""

    def __init__(
        self, model: Any, tokenizer: Any, settings: SentimentSettings, mapping: list[int], device: str
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.mapping = mapping
        self.device = device

    @classmethod
    def from_pretrained(
        cls, name_or_path: str = BUILTIN_SENTIMENT, device: str | None = None
    ) -> SentimentClassifier:
        """The builtin LoRA model, a local directory, or a hub id; loaded once per process and device."""
        return cls(*_load(name_or_path, _pick_device(device)))

    @property
    def temperature(self) -> float:
        return self.settings.temperature

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Uncalibrated logits (n, 3) in LABELS order; a class the model lacks is -inf.

        Inputs are sorted by token length and padded per batch only to that batch's longest text, which
        on CPU is several times faster than padding everything to max_length; the order is restored.
        """
        import torch

        out = np.full((len(texts), len(LABELS)), -np.inf, dtype=np.float32)
        if not texts:
            return out
        prefix = self.settings.prefix
        encoded = self.tokenizer(
            [prefix + normalize_text(t or "") for t in texts],
            truncation=True,
            max_length=self.settings.max_length,
        )["input_ids"]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        pad_id = self.tokenizer.pad_token_id or 0
        n_out = len(self.mapping)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = max(len(encoded[i]) for i in idx)
                ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                    mask[row, : len(encoded[i])] = 1
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                logits = logits.float().cpu().numpy()[:, :n_out]
                out[idx] = _to_label_order(logits, self.mapping)
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> SentimentScores:
        """Calibrated probabilities (temperature fitted on the dev split) for each text, in input order."""
        logits = self.predict_logits(texts, batch_size=batch_size)
        if not len(logits):
            return SentimentScores(np.zeros((0, len(LABELS)), dtype=np.float32))
        return SentimentScores(softmax_with_temperature(logits, self.settings.temperature))


def _to_label_order(logits: np.ndarray, mapping: list[int]) -> np.ndarray:
    """Merge model outputs into LABELS columns (log-sum-exp, so several "negative" outputs add up)."""
    out = np.full((len(logits), len(LABELS)), -np.inf, dtype=np.float32)
    for c in range(len(LABELS)):
        cols = [j for j, m in enumerate(mapping) if m == c]
        if cols:
            out[:, c] = np.logaddexp.reduce(logits[:, cols], axis=1)
    return out


def _pick_device(device: str | None) -> str:
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_sentiment(name_or_path: str) -> str:
    """`builtin:sentiment-e5-lora` is the committed adapter directory; anything else passes through."""
    if name_or_path == BUILTIN_SENTIMENT:
        if not (WEIGHTS_DIR / "adapter_config.json").is_file():
            raise FileNotFoundError(f"builtin sentiment weights missing at {WEIGHTS_DIR}")
        return str(WEIGHTS_DIR)
    if name_or_path.startswith("builtin:"):
        raise ValueError(f"unknown builtin sentiment model {name_or_path!r}; known: {BUILTIN_SENTIMENT}")
    return name_or_path


def sentiment_spec(name_or_path: str) -> str:
    """The model as rows record it: the builtin adapter's weights change between releases under one
    name, so its spec carries a short digest of them (`builtin:sentiment-e5-lora@1a2b3c4d`)."""
    if name_or_path != BUILTIN_SENTIMENT:
        return name_or_path
    weights = Path(resolve_sentiment(name_or_path)) / "adapter_model.safetensors"
    with open(weights, "rb") as fh:
        return f"{name_or_path}@{hashlib.file_digest(fh, 'sha256').hexdigest()[:8]}"


def load_lora_classifier(adapter_dir: Path, settings: SentimentSettings) -> Any:
    """Base encoder + LoRA adapter + trained head, merged into one plain BertForSequenceClassification."""
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from models.encoder import BUILTIN_ENCODER, resolve_model

    base_dir = resolve_model(settings.base or BUILTIN_ENCODER)
    config = AutoConfig.from_pretrained(
        base_dir,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
    )
    local = Path(base_dir).is_dir()
    with _quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(
            base_dir, config=config, local_files_only=local
        )
    return PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()


@functools.lru_cache(maxsize=4)
def _load(name_or_path: str, device: str) -> tuple[Any, Any, SentimentSettings, list[int], str]:
    """Load once per process: flows call `from_pretrained` per run and must not pay the load again."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from models.encoder import BUILTIN_ENCODER, resolve_model

    resolved = resolve_sentiment(name_or_path)
    path = Path(resolved).expanduser()
    settings = SentimentSettings.read(path) if path.is_dir() else SentimentSettings()
    if (path / "adapter_config.json").is_file():
        model = load_lora_classifier(path, settings)
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(settings.base or BUILTIN_ENCODER))
    else:
        local = path.is_dir()
        model = AutoModelForSequenceClassification.from_pretrained(resolved, local_files_only=local)
        tokenizer = AutoTokenizer.from_pretrained(resolved, local_files_only=local)
    mapping = label_mapping(model.config.id2label)
    model.to(device).eval()
    log.info("sentiment model %s on %s (T=%.3f)", name_or_path, device, settings.temperature)
    return model, tokenizer, settings, mapping, device


class _quiet_transformers:
    """The base encoder has no head yet (the adapter brings it): hide the 'newly initialised' warning."""

    def __enter__(self) -> None:
        from transformers.utils import logging as hf_logging

        self._level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()

    def __exit__(self, *exc: object) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(self._level)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising dev negative log-likelihood of softmax(logits / T) (Guo et al., 2017).

    A 1-D problem: a coarse log-spaced grid, then a fine grid around the best point; deterministic and
    dependency-free, and accurate to well under a per cent of T.
    """
    labels = np.asarray(labels, dtype=np.int64)

    def nll(t: float) -> float:
        p = softmax_with_temperature(logits, t).astype(np.float64)
        return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).mean())

    coarse = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    best = float(coarse[int(np.argmin([nll(t) for t in coarse]))])
    fine = np.linspace(best / 1.06, best * 1.06, 61)
    return round(float(fine[int(np.argmin([nll(t) for t in fine]))]), 4)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """How far calibrated probabilities are from observed accuracy, beside `fit_temperature`.

    Top-label ECE: |accuracy - confidence| per equal-width confidence bin, weighted by bin size."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)
