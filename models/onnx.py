"""ONNX Runtime versions of sori's sentiment classifier and sentence encoder, optionally int8.

Why: on a laptop-class CPU the plain PyTorch models are the slowest stage of a run. Exported to ONNX,
run by ONNX Runtime on length-sorted batches, the same models classify several times faster; with int8
weights (static, calibrated at build time: `models.quantize`) faster still, for a fraction of an
accuracy point (`sori bench` measures both, on this machine, every time it runs; recorded figures:
docs/evaluation.md#speed).

Each model is exported once, on first use, into ``$SORI_HOME/onnx/<name>-<hash of its source
files>/`` (``model.onnx`` in fp32 and ``model.int8.onnx``, for a VOC model ``lower.onnx``,
``heads.int8.onnx`` and the rest of `VOC_GRAPHS` instead; the tokenizer and ``sori_onnx.json``). The
directory is assembled in a temporary sibling and renamed into place, so an interrupted build leaves
nothing half-written; a changed source model gets a new hash and so a new build. The build checks the
fp32 graph against PyTorch on Korean texts and refuses to install one that disagrees.

The classifier graph returns logits; label mapping, temperature, text prefix and truncation are
applied exactly as :class:`models.sentiment.SentimentClassifier` does. The encoder graph contains the
pooling and L2 normalisation, so it returns sentence embeddings directly. A VOC model is cut into a
graph per part (`VOC_GRAPHS`: the shared lower layers, then each branch on their states), so a caller
that needs one branch runs only that one: ONNX Runtime runs every node of a graph whatever outputs are
asked for.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models.encoder import (
    BUILTIN_ENCODER,
    SORI_HOME,
    _build_lock,
    _install,
    _remove_stale_builds,
    _tmp_prefix,
    load_sentence_encoder,
    resolve_model,
)
from models.sentiment import (
    BUILTIN_SENTIMENT,
    LABELS,
    SentimentClassifier,
    SentimentScores,
    SentimentSettings,
    _to_label_order,
    resolve_sentiment,
    softmax_with_temperature,
)
from models.voc import (
    BRANCHES,
    BUILTIN_VOC,
    VocModel,
    VocPasses,
    VocSettings,
    ordered_branches,
    output_width,
    resolve_voc,
)
from pipeline.text.normalize import normalize_text

log = logging.getLogger(__name__)

Backend = Literal["torch", "onnx", "onnx-int8"]
Precision = Literal["fp32", "int8"]

ONNX_HOME = SORI_HOME / "onnx"
OPSET = 17
# Bump when the exported graphs or the quantisation change, so older cached builds are redone.
EXPORT_VERSION = 4
MARKER = "sori_onnx.json"
FILES: dict[Precision, str] = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
# A VOC build's graphs, each cut from the exported whole by its inputs and outputs: the shared lower
# layers, then each branch (`models.voc.BRANCHES`) on their states.
VOC_GRAPHS: dict[str, tuple[list[str], list[str]]] = {
    "lower": (["input_ids", "attention_mask"], ["states"]),
    **{branch: (["states", "attention_mask"], [branch]) for branch in BRANCHES},
}
PRECISION: dict[str, Precision] = {"onnx": "fp32", "onnx-int8": "int8"}
FP32_TOLERANCE = 1e-3  # max |Δp| (classifier) or 1 - cosine (encoder) allowed against PyTorch

# Varied Korean the build checks the graphs on: lengths, spacing, slang, emoji, masks, English.
CHECK_TEXTS = [
    "배송 빠르고 너무 좋아요",
    "최악이에요 다시는 안 삽니다",
    "이거 언제 배송되나요?",
    "환불 요청했는데 일주일째 답이 없어요. 고객센터 전화도 안 받고 정말 답답합니다.",
    "포장이 꼼꼼하고 상품도 설명 그대로예요. 다음에 또 주문할게요!",
    "앱이 자꾸 튕겨요ㅠㅠ 업데이트 후로 로그인도 안 돼요",
    "보통이에요",
    "ㅋㅋㅋ 가성비 갑",
    "상담원 연결까지 40분 기다렸어요 [전화번호]로 연락 주세요",
    "배송은빨랐는데포장이엉망이라박스가다찌그러져왔어요",
    "The delivery was late but the product is fine 😊",
    "",
]


# --------------------------------------------------------------------------- building


def available_cores() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _slug(name: str) -> str:
    """A directory-name form of a model name: a path's last part, a hub id with '/' as '--'."""
    path = Path(name).expanduser()
    return path.name if path.is_dir() else name.replace("/", "--")


def _local_dir(name_or_path: str) -> Path:
    """The directory holding a model's files: the path itself, or the hub cache's snapshot."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    from transformers.utils import cached_file

    config = cached_file(name_or_path, "config.json")
    if config is None:
        raise FileNotFoundError(f"no config.json for {name_or_path!r}")
    return Path(config).parent


def _fingerprint(kind: str, directories: Sequence[Path]) -> str:
    """Hash of the model files (contents, not dates) and of this exporter's version."""
    digest = hashlib.sha256(f"{kind}:{EXPORT_VERSION}:{OPSET}".encode())
    for directory in directories:
        for file in sorted(directory.rglob("*")):
            relative = file.relative_to(directory)
            if not file.is_file() or file.suffix == ".md" or any(p.startswith(".") for p in relative.parts):
                continue
            digest.update(f"{relative}\0".encode())
            digest.update(_file_digest(file))
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _file_digest(file: Path) -> bytes:
    """Once per file and process: the classifier's LoRA adapter hashes the base encoder's weights too,
    which the encoder itself hashes again."""
    with open(file, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").digest()


def _classifier_source(name_or_path: str) -> tuple[str, Path, list[Path]]:
    """(directory name, settings directory, files to hash): a LoRA adapter also hashes its base encoder."""
    resolved = resolve_sentiment(name_or_path)
    path = Path(resolved).expanduser()
    if (path / "adapter_config.json").is_file():
        base = SentimentSettings.read(path).base or BUILTIN_ENCODER
        return path.name, path, [path, Path(resolve_model(base))]
    return _slug(resolved), path, [_local_dir(resolved)]


def _is_built(path: Path) -> bool:
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("export_version") == EXPORT_VERSION


Kind = Literal["classifier", "encoder", "voc"]


def _voc_source(name_or_path: str) -> tuple[str, list[Path]]:
    """(directory name, files to hash): a VOC model's trained part and the base encoder under it."""
    path = resolve_voc(name_or_path)
    base = VocSettings.read(path).base
    return f"voc-{path.name}", [path, _local_dir(resolve_model(base))]


@functools.lru_cache(maxsize=8)
def source_identity(kind: Kind, name_or_path: str) -> str:
    """`<name>-<hash of the model's source files>`: what a model is, whatever its path or backend (the
    name of its ONNX build, and part of the key of heads fitted on its outputs)."""
    if kind == "classifier":
        name, _, sources = _classifier_source(name_or_path)
    elif kind == "voc":
        name, sources = _voc_source(name_or_path)
    else:
        resolved = resolve_model(name_or_path)
        name, sources = _slug(resolved), [_local_dir(resolved)]
    return f"{name}-{_fingerprint(kind, sources)}"


@functools.lru_cache(maxsize=8)
def build(kind: Kind, name_or_path: str, root: Path | None = None) -> Path:
    """The directory of the ONNX build of a model, exporting and quantising it on first use.

    ``kind`` is "classifier" (a sentiment model as `SentimentClassifier` loads it), "encoder" (a
    sentence-transformers model) or "voc" (a VOC model as `models.voc.VocModel` loads it). Cached per
    process; across processes the hash of the source files decides whether an existing build is still
    the right one.
    """
    exporters: dict[str, Callable[[str, Path], dict[str, Any]]] = {
        "classifier": _export_classifier, "encoder": _export_encoder, "voc": _export_voc}
    exporter = exporters[kind]
    out = (root or ONNX_HOME) / source_identity(kind, name_or_path)
    if _is_built(out):
        return out
    with _build_lock(out):
        if _is_built(out):
            return out
        log.info("exporting %s %s to ONNX in %s (once)", kind, name_or_path, out)
        _remove_stale_builds(out)
        tmp = out.with_name(f"{_tmp_prefix(out)}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
        try:
            with _quiet_export_logs():
                meta = exporter(name_or_path, tmp)
            meta.update(kind=kind, source=name_or_path, export_version=EXPORT_VERSION, opset=OPSET)
            (tmp / MARKER).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            _install(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return out


@contextlib.contextmanager
def _quiet_export_logs() -> Iterator[None]:
    """The exporter and quantiser log hundreds of INFO lines per build (the quantiser on the root
    logger): keep their errors only, so a first `sori run` stays readable."""

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname

    root = logging.getLogger()
    chatty = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [logger.level for logger in chatty]
    root.addFilter(keep)
    for logger in chatty:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.removeFilter(keep)
        for logger, level in zip(chatty, levels, strict=True):
            logger.setLevel(level)


def _export(module: Any, sample: dict[str, Any], path: Path, outputs: dict[str, dict[int, str]]) -> None:
    """torch.onnx.export with dynamic batch and sequence axes, through the TorchScript exporter;
    `outputs` names the module's outputs with their dynamic axes.

    That exporter is deprecated in favour of the torch.export-based one, but its BERT graph is the one
    ONNX Runtime's CPU fusions recognise (GELU, SkipLayerNorm, fused MatMuls), so it runs faster. torch
    is pinned, so the exporter cannot vanish. Figures: docs/evaluation.md#speed.
    """
    import torch

    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=list(outputs),
            dynamic_axes={"input_ids": axes, "attention_mask": axes, **outputs},
            opset_version=OPSET,
            dynamo=False,
        )


@contextlib.contextmanager
def _eager_attention(model: Any) -> Iterator[None]:
    """Trace the plain attention ops, not SDPA, then give the (shared, cached) model its own back."""
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(before)


def _quantize(out: Path, config: Any, tokenizer: Any, prefix: str) -> dict[str, Any]:
    """The static int8 graph beside the fp32 one (`models.quantize`: calibrated at build time, so
    batch-invariant); returns what the build records of it."""
    from models.quantize import calibration_texts, quantize_int8

    texts, source = calibration_texts(CHECK_TEXTS)
    counts = quantize_int8(out / FILES["fp32"], out / FILES["int8"], config, tokenizer,
                           [prefix + text for text in texts])
    return {"int8_calibration": source, **counts}


def _sample(tokenizer: Any, prefix: str) -> dict[str, Any]:
    """A padded batch of two texts: the export traces batch and sequence as dynamic, not as 2 and N."""
    return dict(tokenizer([prefix + t for t in CHECK_TEXTS[:2]], padding=True, return_tensors="pt"))


def _export_classifier(name_or_path: str, out: Path) -> dict[str, Any]:
    import torch

    torch_model = SentimentClassifier.from_pretrained(name_or_path, "cpu")

    class Logits(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    sample = _sample(torch_model.tokenizer, torch_model.settings.prefix)
    with _eager_attention(torch_model.model):
        _export(Logits(torch_model.model), sample, out / FILES["fp32"], {"logits": {0: "batch"}})
    quantised = _quantize(out, torch_model.model.config, torch_model.tokenizer, torch_model.settings.prefix)
    torch_model.tokenizer.save_pretrained(out)

    reference = torch_model.predict(CHECK_TEXTS).probs
    tokenizer = _tokenizer(out)
    checks: dict[str, float] = {}
    for precision, file in FILES.items():
        onnx_model = OnnxSentimentClassifier(
            _session(out / file, "cpu"), tokenizer, torch_model.settings, torch_model.mapping
        )
        probs = onnx_model.predict(CHECK_TEXTS).probs
        checks[f"{precision}_max_abs_dp"] = round(float(np.abs(probs - reference).max()), 6)
        checks[f"{precision}_label_agreement"] = float((probs.argmax(1) == reference.argmax(1)).mean())
    if checks["fp32_max_abs_dp"] > FP32_TOLERANCE:
        raise RuntimeError(f"the ONNX export of {name_or_path} does not match PyTorch: {checks}")
    return {"mapping": torch_model.mapping, "checks": checks, **quantised}


def _export_encoder(name_or_path: str, out: Path) -> dict[str, Any]:
    import torch

    st = load_sentence_encoder(name_or_path, "cpu")
    names = [type(m).__name__ for m in st]
    pooling = st[1].get_config_dict() if len(st) > 1 else {}
    mode = pooling.get("pooling_mode")
    if names[:2] != ["Transformer", "Pooling"] or mode not in ("mean", "cls") or set(names[2:]) - {
        "Normalize"
    }:
        raise ValueError(f"the ONNX backends take Transformer → mean/cls Pooling encoders, not {st}")
    if mode == "mean" and not pooling.get("include_prompt", True):
        raise ValueError("the ONNX encoder averages the prompt tokens too; this model excludes them")

    class Embeddings(torch.nn.Module):
        """Transformer → masked mean (or first token) → L2 norm, so the graph returns embeddings."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    prompts = dict(st.prompts or {})
    prompt = prompts.get("query", "")
    sample = _sample(st.tokenizer, prompt)
    with _eager_attention(st[0].auto_model):
        _export(Embeddings(st[0].auto_model), sample, out / FILES["fp32"], {"embeddings": {0: "batch"}})
    quantised = _quantize(out, st[0].auto_model.config, st.tokenizer, prompt)
    st.tokenizer.save_pretrained(out)

    meta: dict[str, Any] = {
        "prompts": prompts,
        "max_length": st.max_seq_length,
        "dimension": st.get_sentence_embedding_dimension(),
    }
    reference = st.encode(
        CHECK_TEXTS, prompt=prompt, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    tokenizer = _tokenizer(out)
    checks: dict[str, float] = {}
    for precision, file in FILES.items():
        encoder = OnnxSentenceEncoder(_session(out / file, "cpu"), tokenizer, meta)
        cosine = (encoder.encode(CHECK_TEXTS, prompt_name="query") * reference).sum(axis=1)
        checks[f"{precision}_min_cosine"] = round(float(cosine.min()), 6)
    if checks["fp32_min_cosine"] < 1 - FP32_TOLERANCE:
        raise RuntimeError(f"the ONNX export of {name_or_path} does not match PyTorch: {checks}")
    return {**meta, "checks": checks, **quantised}


def _export_voc(name_or_path: str, out: Path) -> dict[str, Any]:
    """The VOC model's one pass (`models.voc.one_pass`) exported and quantised whole, then cut into
    `VOC_GRAPHS` (`_cut_voc`); the graphs are checked together against PyTorch on `CHECK_TEXTS`."""
    torch_model = VocModel(name_or_path)
    texts = [torch_model.settings.prefix + t for t in CHECK_TEXTS[:2]]
    sample = dict(torch_model.tokenizer(texts, padding=True, return_tensors="pt"))
    outputs = {"states": {0: "batch", 1: "sequence"}, **{branch: {0: "batch"} for branch in BRANCHES}}
    _export(torch_model.module, sample, out / FILES["fp32"], outputs)
    quantised = _quantize(out, torch_model.module.lower.config, torch_model.tokenizer,
                          torch_model.settings.prefix)
    _cut_voc(out)
    torch_model.tokenizer.save_pretrained(out)

    reference = torch_model.score(CHECK_TEXTS)
    tokenizer = _tokenizer(out)
    checks: dict[str, float] = {}
    for precision in FILES:
        sessions = {graph: _session(out / _voc_file(graph, precision), "cpu") for graph in VOC_GRAPHS}
        onnx_model = OnnxVocModel(sessions, tokenizer, torch_model.settings, torch_model.hidden)
        scores = onnx_model.score(CHECK_TEXTS)
        probabilities = [(getattr(scores, name), getattr(reference, name))
                         for name in ("sentiment", "pain", "categories", "touchpoints", "response")]
        largest = max(float(np.abs(a - b).max()) for a, b in probabilities)
        checks[f"{precision}_max_abs_dp"] = round(largest, 6)
        cosine = (scores.embeddings * reference.embeddings).sum(axis=1)
        checks[f"{precision}_min_cosine"] = round(float(cosine.min()), 6)
    if checks["fp32_max_abs_dp"] > FP32_TOLERANCE or checks["fp32_min_cosine"] < 1 - FP32_TOLERANCE:
        raise RuntimeError(f"the ONNX export of {name_or_path} does not match PyTorch: {checks}")
    return {"hidden": torch_model.hidden, "checks": checks, **quantised}


def _voc_file(graph: str, precision: Precision) -> str:
    """`lower.onnx`, `heads.int8.onnx`, …: a VOC graph's file name in a build."""
    return FILES[precision].replace("model", graph, 1)


def _cut_voc(out: Path) -> None:
    """Each precision's whole graph cut into `VOC_GRAPHS` (the cut runs the same nodes, quantised as they
    were in the whole), then removed: a build holds the parts only."""
    import onnx
    from onnx.utils import Extractor

    for precision, file in FILES.items():
        extractor = Extractor(onnx.load(str(out / file)))
        for graph, (inputs, outputs) in VOC_GRAPHS.items():
            onnx.save(extractor.extract_model(inputs, outputs), str(out / _voc_file(graph, precision)))
        (out / file).unlink()


# --------------------------------------------------------------------------- inference


def _session(path: Path, device: str | None) -> Any:
    """An ONNX Runtime session using every core this process may run on, all graph optimisations on.

    Its worker threads sleep between runs instead of spinning: between batches the process's own
    Python (Kiwi, masking, tagging, a warm-up thread) needs those cores, and spinning workers took
    CPU from it without making a run faster (docs/evaluation.md, "Warm-up beside Prefect's server")."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = available_cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CPUExecutionProvider"]
    if (device or "cuda").startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), options, providers=providers)


def _batches(encoded: list[list[int]], batch_size: int, pad_id: int) -> Iterator[tuple[Any, ...]]:
    """(row indices, input_ids, attention_mask) by ascending length, each padded only to its longest.

    Padding everything to the longest text wastes most of the work on short sentences.
    """
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(encoded[i]) for i in rows)
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, i in enumerate(rows):
            ids[row, : len(encoded[i])] = encoded[i]
            mask[row, : len(encoded[i])] = 1
        yield rows, ids, mask


Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _graph(session: Any) -> Forward:
    """A one-graph model's forward pass: (input_ids, attention_mask) → its single output."""
    return lambda ids, mask: session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _run(forward: Forward, tokenizer: BuiltTokenizer, texts: Sequence[str], max_length: int, batch_size: int,
         width: int) -> np.ndarray:
    """The forward pass's output (n, width) for each text, in input order.

    Each distinct text runs once: a text's row does not depend on what it is batched with, so a
    repeated one (a chat's "감사합니다", a template answer) gets the same row without another pass."""
    first: dict[str, int] = {}
    positions = [first.setdefault(text, len(first)) for text in texts]
    out = np.zeros((len(first), width), dtype=np.float32)
    if not first:
        return out
    encoded = tokenizer.encode(list(first), max_length)
    for rows, ids, mask in _batches(encoded, batch_size, tokenizer.pad_token_id):
        out[rows] = forward(ids, mask)
    return out[positions]


class OnnxSentimentClassifier:
    """`SentimentClassifier` on ONNX Runtime: same labels, calibration, prefix and truncation."""

    def __init__(self, session: Any, tokenizer: BuiltTokenizer, settings: SentimentSettings,
                 mapping: list[int], precision: Precision = "fp32"):
        self.session = session
        self.tokenizer = tokenizer
        self.settings = settings
        self.mapping = mapping
        self.precision = precision

    @classmethod
    def from_pretrained(cls, name_or_path: str = BUILTIN_SENTIMENT, device: str | None = None,
                        precision: Precision = "fp32") -> OnnxSentimentClassifier:
        """Any model `SentimentClassifier.from_pretrained` takes; exported on first use, loaded once."""
        return _load_classifier(name_or_path, device, precision)

    @property
    def temperature(self) -> float:
        return self.settings.temperature

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Uncalibrated logits (n, 3) in LABELS order; a class the model lacks is -inf."""
        prefixed = [self.settings.prefix + normalize_text(t or "") for t in texts]
        logits = _run(_graph(self.session), self.tokenizer, prefixed, self.settings.max_length, batch_size,
                      self.session.get_outputs()[0].shape[-1])
        return _to_label_order(logits[:, : len(self.mapping)], self.mapping)

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> SentimentScores:
        """Calibrated probabilities for each text, in input order."""
        if not texts:
            return SentimentScores(np.zeros((0, len(LABELS)), dtype=np.float32))
        return SentimentScores(softmax_with_temperature(self.predict_logits(texts, batch_size),
                                                        self.settings.temperature))


class OnnxSentenceEncoder:
    """A sentence encoder on ONNX Runtime, usable where sori uses a SentenceTransformer.

    It offers what `models.embedder.Embedder` calls (`encode`, `prompts`, the dimension); the topic
    model reaches it through the Embedder, so loading it never imports BERTopic.
    """

    def __init__(self, session: Any, tokenizer: BuiltTokenizer, meta: dict[str, Any],
                 precision: Precision = "fp32"):
        self.session = session
        self.tokenizer = tokenizer
        self.prompts: dict[str, str] = meta["prompts"]
        self.max_length: int = meta["max_length"]
        self.dimension: int = meta["dimension"]
        self.precision = precision

    @classmethod
    def from_pretrained(cls, name_or_path: str = BUILTIN_ENCODER, device: str | None = None,
                        precision: Precision = "fp32") -> OnnxSentenceEncoder:
        """Any sentence-transformers model `load_sentence_encoder` takes; exported on first use."""
        return _load_encoder(name_or_path, device, precision)

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, sentences: Sequence[str], prompt_name: str | None = None, batch_size: int = 64,
               **_st_options: object) -> np.ndarray:
        """L2-normalised float32 rows with the named prompt prepended.

        The sentence-transformers options `Embedder` passes (numpy output, normalised, no progress
        bar) are what this always does, so they are accepted and need no handling.
        """
        prompt = self.prompts.get(prompt_name, "") if prompt_name else ""
        return _run(_graph(self.session), self.tokenizer, [prompt + s for s in sentences], self.max_length,
                    batch_size, self.dimension)


class OnnxVocModel(VocPasses):
    """`models.voc.VocModel` on ONNX Runtime: the same pass, tokenisation and post-processing, with a
    session per graph of `VOC_GRAPHS`; each batch runs the lower graph, then the branches asked for on
    its states."""

    def __init__(self, sessions: dict[str, Any], tokenizer: BuiltTokenizer, settings: VocSettings,
                 hidden: int, precision: Precision = "fp32"):
        self.sessions = sessions
        self.tokenizer = tokenizer
        self.settings = settings
        self.hidden = hidden
        self.precision = precision

    @classmethod
    def from_pretrained(cls, name_or_path: str = BUILTIN_VOC, device: str | None = None,
                        precision: Precision = "fp32") -> OnnxVocModel:
        """Any VOC model directory; exported on first use, loaded once per process."""
        return _load_voc(name_or_path, device, precision)

    def outputs(self, texts: Sequence[str], batch_size: int = 64,
                branches: Sequence[str] = BRANCHES) -> np.ndarray:
        """Output rows (`models.voc.output_width`) in input order, batched by length (which does not
        change them)."""
        width = output_width(self.settings, self.hidden, branches)
        chosen = ordered_branches(branches)

        def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            states = self.sessions["lower"].run(None, {"input_ids": ids, "attention_mask": mask})[0]
            feed = {"states": states, "attention_mask": mask}
            return np.concatenate([self.sessions[branch].run(None, feed)[0] for branch in chosen], axis=1)

        return _run(forward, self.tokenizer, [self.settings.prefix + t for t in texts],
                    self.settings.inference_max_length, batch_size, width)


class BuiltTokenizer:
    """The tokenizer saved with a build (its `tokenizer.json`), run by the `tokenizers` library alone.

    The ids are those of the model's `transformers` tokenizer, special tokens and truncation included
    (tests/models/test_onnx.py), but loading it imports neither transformers nor torch, which took
    most of a warm start-up's model load. The graphs never depend on the source model's files.
    """

    def __init__(self, directory: Path):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.no_padding()
        config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = config.get("pad_token")
        self.pad_token_id: int = (self._tokenizer.token_to_id(pad) if isinstance(pad, str) else None) or 0
        self._max_length: int | None = None

    def encode(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids of each text, special tokens added, cut to `max_length` as `truncation=True` does."""
        if max_length != self._max_length:
            self._tokenizer.enable_truncation(max_length)
            self._max_length = max_length
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]


def _tokenizer(directory: Path) -> BuiltTokenizer:
    return BuiltTokenizer(directory)


def _read_built(kind: Kind, name_or_path: str) -> tuple[Path, dict[str, Any], BuiltTokenizer]:
    directory = build(kind, name_or_path)
    meta = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    return directory, meta, _tokenizer(directory)


@functools.lru_cache(maxsize=4)
def _load_classifier(name_or_path: str, device: str | None, precision: Precision) -> OnnxSentimentClassifier:
    directory, meta, tokenizer = _read_built("classifier", name_or_path)
    settings_dir = _classifier_source(name_or_path)[1]
    settings = SentimentSettings.read(settings_dir) if settings_dir.is_dir() else SentimentSettings()
    session = _session(directory / FILES[precision], device)
    log.info("sentiment model %s on ONNX Runtime %s (T=%.3f)", name_or_path, precision, settings.temperature)
    return OnnxSentimentClassifier(session, tokenizer, settings, meta["mapping"], precision)


@functools.lru_cache(maxsize=4)
def _load_encoder(name_or_path: str, device: str | None, precision: Precision) -> OnnxSentenceEncoder:
    directory, meta, tokenizer = _read_built("encoder", name_or_path)
    return OnnxSentenceEncoder(_session(directory / FILES[precision], device), tokenizer, meta, precision)


@functools.lru_cache(maxsize=4)
def _load_voc(name_or_path: str, device: str | None, precision: Precision) -> OnnxVocModel:
    directory, meta, tokenizer = _read_built("voc", name_or_path)
    settings = VocSettings.read(resolve_voc(name_or_path))
    log.info("VOC model %s on ONNX Runtime %s", name_or_path, precision)
    sessions = {graph: _session(directory / _voc_file(graph, precision), device) for graph in VOC_GRAPHS}
    return OnnxVocModel(sessions, tokenizer, settings, meta["hidden"], precision)


def voc_model(name_or_path: str, device: str | None, backend: Backend) -> VocModel | OnnxVocModel:
    """The configured VOC model: PyTorch, or ONNX Runtime in fp32 or int8."""
    if backend == "torch":
        return VocModel(name_or_path, device or "cpu")
    return OnnxVocModel.from_pretrained(name_or_path, device, PRECISION[backend])


def sentiment_model(name_or_path: str, device: str | None, backend: Backend) -> Any:
    """The configured classifier: PyTorch, or ONNX Runtime in fp32 or int8."""
    if backend == "torch":
        return SentimentClassifier.from_pretrained(name_or_path, device)
    return OnnxSentimentClassifier.from_pretrained(name_or_path, device, PRECISION[backend])


def sentence_model(name_or_path: str, device: str | None, backend: Backend) -> Any:
    """The configured encoder: a SentenceTransformer, or ONNX Runtime in fp32 or int8."""
    if backend == "torch":
        return load_sentence_encoder(name_or_path, device)
    return OnnxSentenceEncoder.from_pretrained(name_or_path, device, PRECISION[backend])
