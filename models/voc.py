"""sori's VOC model: one pass of multilingual-e5-small gives a sentence's embedding and its heads
(sentiment, pain, categories, touchpoint, response needed).

The encoder's embeddings and lower `frozen_layers` layers are the base model's, unchanged, so their
states can be computed once and shared (training caches them; see `models.training.train_voc`); the
upper layers and the heads are what training changes, and all a trained model directory holds
(`voc_model.safetensors` + `voc_model.json`). Scores are per sentence: every sentence is encoded alone
(padding is masked out of attention and pooling), so its scores do not depend on its batch mates.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SETTINGS_FILE = "voc_model.json"
WEIGHTS_FILE = "voc_model.safetensors"
SENTIMENT_LABELS = ("negative", "neutral", "positive")


@dataclass
class VocSettings:
    """What inference must repeat from training, and the label order of every head."""

    base: str
    frozen_layers: int
    categories: list[str]
    touchpoints: list[str]
    prefix: str = "query: "
    max_length: int = 128
    temperature: float = 1.0
    taxonomy_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, directory: Path) -> None:
        (directory / SETTINGS_FILE).write_text(
            json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    @classmethod
    def read(cls, directory: Path) -> VocSettings:
        return cls(**json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8")))


def _torch() -> Any:
    import torch

    return torch


def mean_pool(hidden: Any, mask: Any) -> Any:
    """e5's pooling: the mean of the token states the attention mask keeps."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def additive_mask(mask: Any, dtype: Any) -> Any:
    """The (batch, 1, 1, tokens) additive attention mask BERT layers take: 0 to attend, a large negative
    number for padding."""
    torch = _torch()
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def build_modules(
    base_dir: str, frozen_layers: int, n_categories: int, n_touchpoints: int
) -> tuple[Any, Any, Any]:
    """(lower, upper, heads) from a BERT-style encoder directory: `lower` is the base model with only its
    first `frozen_layers` layers, `upper` a copy of the rest, `heads` the five linear heads."""
    torch = _torch()
    from transformers import AutoModel

    base = AutoModel.from_pretrained(base_dir, local_files_only=True, attn_implementation="eager")
    layers = base.encoder.layer
    if not 0 <= frozen_layers < len(layers):
        raise ValueError(f"frozen_layers must be in 0 … {len(layers) - 1}, not {frozen_layers}")
    upper = torch.nn.ModuleList(copy.deepcopy(layers[frozen_layers:]))
    base.encoder.layer = torch.nn.ModuleList(layers[:frozen_layers])
    base.pooler = None
    hidden = base.config.hidden_size
    heads = torch.nn.ModuleDict(
        {
            "sentiment": torch.nn.Linear(hidden, len(SENTIMENT_LABELS)),
            "pain": torch.nn.Linear(hidden, 1),
            "categories": torch.nn.Linear(hidden, n_categories),
            "touchpoints": torch.nn.Linear(hidden, n_touchpoints),
            "response": torch.nn.Linear(hidden, 1),
        }
    )
    return base, upper, heads


def lower_states(lower: Any, input_ids: Any, mask: Any) -> Any:
    """The frozen part: embeddings and the first layers."""
    out = lower(input_ids=input_ids, attention_mask=mask)
    return out.last_hidden_state


def upper_forward(upper: Any, heads: Any, hidden: Any, mask: Any) -> tuple[Any, dict[str, Any]]:
    """The trained part on the frozen states: (pooled sentence embedding, logits per head)."""
    extended = additive_mask(mask, hidden.dtype)
    for layer in upper:
        hidden = layer(hidden, attention_mask=extended)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    pooled = mean_pool(hidden, mask)
    return pooled, {name: head(pooled) for name, head in heads.items()}


@dataclass
class VocScores:
    """Per sentence: the pooled embedding (L2-normalised) and each head's probabilities."""

    embeddings: np.ndarray
    sentiment: np.ndarray  # (n, 3) negative, neutral, positive; calibrated by the settings' temperature
    pain: np.ndarray  # (n,)
    categories: np.ndarray  # (n, categories), independent sigmoids
    touchpoints: np.ndarray  # (n, touchpoints), softmax
    response: np.ndarray  # (n,)


class VocModel:
    """A trained VOC model directory, loaded over its base encoder, for scoring sentences."""

    def __init__(self, directory: str | Path, device: str = "cpu"):
        torch = _torch()
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from models.encoder import resolve_model

        self.directory = Path(directory)
        self.settings = VocSettings.read(self.directory)
        base_dir = resolve_model(self.settings.base)
        self.tokenizer = AutoTokenizer.from_pretrained(base_dir)
        self.lower, self.upper, self.heads = build_modules(
            base_dir,
            self.settings.frozen_layers,
            len(self.settings.categories),
            len(self.settings.touchpoints),
        )
        state = load_file(str(self.directory / WEIGHTS_FILE))
        self.upper.load_state_dict(
            {k.removeprefix("upper."): v.float() for k, v in state.items() if k.startswith("upper.")}
        )
        self.heads.load_state_dict(
            {k.removeprefix("heads."): v.float() for k, v in state.items() if k.startswith("heads.")}
        )
        self.device = device
        for module in (self.lower, self.upper, self.heads):
            module.to(device).eval()
        self._no_grad = torch.inference_mode

    def score(self, texts: Sequence[str], batch_size: int = 64) -> VocScores:
        """Scores in input order; sentences are batched by length, which does not change them."""
        torch = _torch()
        n = len(texts)
        hidden_size = self.heads["pain"].in_features
        out = {
            "embeddings": np.zeros((n, hidden_size), np.float32),
            "sentiment": np.zeros((n, 3), np.float32),
            "pain": np.zeros(n, np.float32),
            "categories": np.zeros((n, len(self.settings.categories)), np.float32),
            "touchpoints": np.zeros((n, len(self.settings.touchpoints)), np.float32),
            "response": np.zeros(n, np.float32),
        }
        ids = self.tokenizer(
            [self.settings.prefix + t for t in texts], truncation=True, max_length=self.settings.max_length
        )["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        with self._no_grad():
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                input_ids, mask = pad([ids[i] for i in rows], self.tokenizer.pad_token_id or 0)
                input_ids, mask = input_ids.to(self.device), mask.to(self.device)
                pooled, logits = upper_forward(
                    self.upper, self.heads, lower_states(self.lower, input_ids, mask), mask
                )
                out["embeddings"][rows] = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
                out["sentiment"][rows] = (
                    torch.softmax(logits["sentiment"].float() / self.settings.temperature, -1).cpu().numpy()
                )
                out["pain"][rows] = torch.sigmoid(logits["pain"].float()).squeeze(-1).cpu().numpy()
                out["categories"][rows] = torch.sigmoid(logits["categories"].float()).cpu().numpy()
                out["touchpoints"][rows] = torch.softmax(logits["touchpoints"].float(), -1).cpu().numpy()
                out["response"][rows] = torch.sigmoid(logits["response"].float()).squeeze(-1).cpu().numpy()
        return VocScores(**out)


def pad(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """Token ids padded to the longest of the batch, with the attention mask."""
    torch = _torch()
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = torch.tensor(list(x))
        mask[row, : len(x)] = 1
    return input_ids, mask
