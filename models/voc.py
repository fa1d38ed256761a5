"""sori's VOC model: one pass of multilingual-e5-small gives a sentence's embedding and its heads
(sentiment, pain, categories, touchpoint, response needed).

The encoder's embeddings and lower `frozen_layers` layers are the base model's, unchanged, so their
states can be computed once and shared (training caches them; see `models.training.train_voc`); the
upper layers and the heads are what training changes, and all a trained model directory holds
(`voc_model.safetensors` + `voc_model.json`). At inference the shared states also go through the base
model's own upper layers, so the embedding a sentence gets is exactly the base encoder's (`one_pass`).
The pass has two branches over the shared states, `BRANCHES`: a caller that needs only the heads (a
document's sentiment) or only the embedding (example files, topic words) runs only that one.
Scores are per sentence: every sentence is encoded alone (padding is masked out of attention and
pooling), so its scores do not depend on its batch mates.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.digest import weights_spec

SETTINGS_FILE = "voc_model.json"
WEIGHTS_FILE = "voc_model.safetensors"
SENTIMENT_LABELS = ("negative", "neutral", "positive")
BUILTIN_VOC = "builtin:voc-e5"
WEIGHTS_DIR = Path(__file__).parent / "weights" / "voc-e5"


@dataclass
class VocSettings:
    """What inference must repeat from training, and the label order of every head."""

    base: str
    frozen_layers: int
    categories: list[str]
    touchpoints: list[str]
    prefix: str = "query: "
    max_length: int = 128  # the tokens training read of each text
    # The tokens inference reads: the base encoder's own limit, so the embedding is its embedding for
    # long sentences too (the heads read the longer texts' mean-pooled states as they read short ones).
    inference_max_length: int = 512
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


def resolve_voc(name_or_path: str) -> Path:
    """The directory of a VOC model: `builtin:voc-e5` is the committed one under `models/weights/`; any
    other value is a folder written by `models.training.train_voc`."""
    if name_or_path.startswith("builtin:") and name_or_path != BUILTIN_VOC:
        raise ValueError(f"unknown builtin VOC model {name_or_path!r}; the only one is {BUILTIN_VOC!r}")
    path = WEIGHTS_DIR if name_or_path == BUILTIN_VOC else Path(name_or_path).expanduser()
    if not (path / SETTINGS_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(f"{name_or_path}: no VOC model at {path} (it needs {SETTINGS_FILE} and "
                                f"{WEIGHTS_FILE}, as models.training.train_voc writes them)")
    return path


def load_trained(directory: Path, upper: Any, heads: Any) -> None:
    """Loads a trained model's upper layers and heads (`WEIGHTS_FILE` in `directory`) into the modules
    `build_modules` made: the same for inference and for training that starts from a trained model."""
    from safetensors.torch import load_file

    state = load_file(str(directory / WEIGHTS_FILE))
    for prefix, module in (("upper.", upper), ("heads.", heads)):
        module.load_state_dict(
            {k.removeprefix(prefix): v.float() for k, v in state.items() if k.startswith(prefix)}
        )


def voc_spec(name_or_path: str) -> str:
    """The model as rows record it: the builtin's weights change between releases under one name, so
    its spec carries a short digest of them (`builtin:voc-e5@1a2b3c4d`)."""
    if name_or_path != BUILTIN_VOC:
        return name_or_path
    return weights_spec(name_or_path, resolve_voc(name_or_path) / WEIGHTS_FILE)


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


def pooled_through(layers: Any, hidden: Any, mask: Any) -> Any:
    """The mean-pooled output of `layers` run on the frozen states."""
    extended = additive_mask(mask, hidden.dtype)
    for layer in layers:
        hidden = layer(hidden, attention_mask=extended)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return mean_pool(hidden, mask)


def upper_forward(upper: Any, heads: Any, hidden: Any, mask: Any) -> tuple[Any, dict[str, Any]]:
    """The trained part on the frozen states: (pooled output, logits per head)."""
    pooled = pooled_through(upper, hidden, mask)
    return pooled, {name: head(pooled) for name, head in heads.items()}


BRANCHES = ("embedding", "heads")  # the pass's branches over the shared states, in output-column order


@dataclass
class VocScores:
    """Per sentence: the base encoder's embedding (L2-normalised; see `one_pass`; None when the pass ran
    the heads alone) and each head's probabilities."""

    embeddings: np.ndarray | None
    sentiment: np.ndarray  # (n, 3) negative, neutral, positive; calibrated by the settings' temperature
    pain: np.ndarray  # (n,)
    categories: np.ndarray  # (n, categories), independent sigmoids
    touchpoints: np.ndarray  # (n, touchpoints), softmax
    response: np.ndarray  # (n,)


def heads_width(settings: VocSettings) -> int:
    """Columns of the heads branch: sentiment logits, pain logit, category logits, touchpoint logits,
    response logit, side by side."""
    return len(SENTIMENT_LABELS) + 1 + len(settings.categories) + len(settings.touchpoints) + 1


def ordered_branches(branches: Sequence[str]) -> list[str]:
    """The named branches in `BRANCHES` order, the order of their output columns; at least one, and
    none other."""
    if not branches or set(branches) - set(BRANCHES):
        raise ValueError(f"branches must be some of {BRANCHES}, not {tuple(branches)}")
    return [branch for branch in BRANCHES if branch in branches]


def output_width(settings: VocSettings, hidden: int, branches: Sequence[str] = BRANCHES) -> int:
    """Columns of the pass's output rows with these branches: the embedding (`hidden`), the heads."""
    widths = {"embedding": hidden, "heads": heads_width(settings)}
    return sum(widths[branch] for branch in ordered_branches(branches))


def scores_from_outputs(outputs: np.ndarray, settings: VocSettings, hidden: int,
                        embedded: bool = True) -> VocScores:
    """`VocScores` from output rows holding the heads, after the embedding when `embedded`, whichever
    runtime computed them."""
    from scipy.special import expit, softmax

    z = outputs.astype(np.float64)
    cuts = np.cumsum([hidden if embedded else 0, len(SENTIMENT_LABELS), 1, len(settings.categories),
                      len(settings.touchpoints)])
    embeddings, sentiment, pain, categories, touchpoints, response = np.split(z, cuts, axis=1)
    return VocScores(
        embeddings=embeddings.astype(np.float32) if embedded else None,
        sentiment=softmax(sentiment / settings.temperature, axis=1).astype(np.float32),
        pain=expit(pain[:, 0]).astype(np.float32),
        categories=expit(categories).astype(np.float32),
        touchpoints=softmax(touchpoints, axis=1).astype(np.float32),
        response=expit(response[:, 0]).astype(np.float32),
    )


def sentiment_logits(heads: np.ndarray) -> np.ndarray:
    """The sentiment head's uncalibrated logits (negative, neutral, positive) in heads-branch rows."""
    return heads[:, : len(SENTIMENT_LABELS)]


class VocPasses:
    """What every runtime of the VOC model offers over its `outputs`: every score, the heads alone, the
    embedding alone. A branch left out is not computed: `score_heads` and `embed` cost about three
    quarters of `score`."""

    settings: VocSettings
    hidden: int

    def outputs(self, texts: Sequence[str], batch_size: int = 64,
                branches: Sequence[str] = BRANCHES) -> np.ndarray:
        """Output rows in input order: the named branches' columns, in `BRANCHES` order."""
        raise NotImplementedError

    def score(self, texts: Sequence[str], batch_size: int = 64) -> VocScores:
        """The embedding and every head, in input order."""
        return scores_from_outputs(self.outputs(texts, batch_size), self.settings, self.hidden)

    def score_heads(self, texts: Sequence[str], batch_size: int = 64) -> VocScores:
        """Every head, without the embedding (None)."""
        return scores_from_outputs(self.outputs(texts, batch_size, ("heads",)), self.settings, self.hidden,
                                   embedded=False)

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The base encoder's embedding alone, (n, hidden), L2-normalised."""
        return self.outputs(texts, batch_size, ("embedding",))


def is_voc_model(name_or_path: str) -> bool:
    """Whether a model name is the builtin VOC model or a folder `train_voc` wrote."""
    return name_or_path == BUILTIN_VOC or (Path(name_or_path).expanduser() / SETTINGS_FILE).is_file()


def one_pass(lower: Any, upper: Any, heads: Any, base_upper: Any) -> Any:
    """The whole model as one torch module: `forward` (input_ids, attention_mask) → (shared states,
    embedding, heads), what the ONNX export traces (and cuts into a graph per part), and `branch`, what
    `VocModel` runs on the states for each branch it is asked for.

    The shared frozen states go through the trained upper layers to the heads, and through the base
    model's own upper layers to the embedding, which is therefore exactly the base encoder's. Why not
    the trained layers' pooled output: the examples, prototypes and thresholds an analyst edits, and the
    saved topic models, are fitted in the base encoder's space, and in the trained space they tagged
    worse (docs/decisions/0012-one-pass-voc-model.md). The base upper layers cost a third of a pass,
    so a caller that needs no embedding skips them (`VocPasses.score_heads`)."""
    torch = _torch()

    class OnePass(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lower, self.upper, self.heads, self.base_upper = lower, upper, heads, base_upper

        def branch(self, name: str, states: Any, attention_mask: Any) -> Any:
            if name == "embedding":
                base = pooled_through(self.base_upper, states, attention_mask)
                return torch.nn.functional.normalize(base, p=2.0, dim=-1)
            _, logits = upper_forward(self.upper, self.heads, states, attention_mask)
            order = ("sentiment", "pain", "categories", "touchpoints", "response")
            return torch.cat([logits[head] for head in order], dim=-1)

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, ...]:
            states = lower_states(self.lower, input_ids, attention_mask)
            return states, *(self.branch(name, states, attention_mask) for name in BRANCHES)

    return OnePass().eval()


class VocModel(VocPasses):
    """A trained VOC model directory, loaded over its base encoder, scoring sentences with PyTorch."""

    def __init__(self, directory: str | Path, device: str = "cpu"):
        from transformers import AutoTokenizer

        from models.encoder import resolve_model

        self.directory = resolve_voc(str(directory))
        self.settings = VocSettings.read(self.directory)
        base_dir = resolve_model(self.settings.base)
        self.tokenizer = AutoTokenizer.from_pretrained(base_dir)
        lower, upper, heads = build_modules(
            base_dir,
            self.settings.frozen_layers,
            len(self.settings.categories),
            len(self.settings.touchpoints),
        )
        base_upper = copy.deepcopy(upper)  # the base model's own upper layers, for the embedding
        load_trained(self.directory, upper, heads)
        self.hidden = heads["pain"].in_features
        self.device = device
        self.module = one_pass(lower, upper, heads, base_upper).to(device)

    def outputs(self, texts: Sequence[str], batch_size: int = 64,
                branches: Sequence[str] = BRANCHES) -> np.ndarray:
        """Output rows in input order; sentences are batched by length, which does not change them
        (padding is masked out)."""
        torch = _torch()
        out = np.zeros((len(texts), output_width(self.settings, self.hidden, branches)), np.float32)
        if not texts:
            return out
        ids = self.tokenizer(
            [self.settings.prefix + t for t in texts],
            truncation=True,
            max_length=self.settings.inference_max_length,
        )["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                input_ids, mask = (t.to(self.device) for t in pad([ids[i] for i in rows],
                                                                  self.tokenizer.pad_token_id or 0))
                states = lower_states(self.module.lower, input_ids, mask)
                parts = [self.module.branch(name, states, mask) for name in ordered_branches(branches)]
                out[rows] = torch.cat(parts, dim=-1).float().cpu().numpy()
        return out


class VocEncoder:
    """A VOC model (`VocModel` or its ONNX Runtime twin) seen as a sentence encoder, with the interface
    `models.embedder.Embedder` calls: example files, prototypes and topics embed with the same pass that
    scores sentences, its embedding branch alone. The model adds its own prefix, so there are no prompts
    to name."""

    prompts: dict[str, str] = {}

    def __init__(self, model: VocPasses):
        self.model = model

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.model.hidden)

    def encode(self, sentences: Sequence[str], prompt_name: str | None = None, batch_size: int = 64,
               **_st_options: object) -> np.ndarray:
        return self.model.embed(list(sentences), batch_size)


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
