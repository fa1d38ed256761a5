"""`sori bench`: how fast sori classifies on this machine, PyTorch against ONNX Runtime, and at what cost.

Why: a speed-up is only worth what its measurement is. Every row is measured in the same run, on the
same sentences (Kiwi sentences of the bundled sample reviews); the rows take turns round by round, so
other jobs on a shared machine slow all of them alike, and each figure is the best of N rounds after an
untimed warm-up (the least disturbed run), with the median beside it.

Two tables. Per sentence: the sentiment classifier (`models.sentiment`) through a plain `transformers`
pipeline, sori's torch batches and ONNX Runtime, the two passes of `voc: null` (classifier + encoder),
and the VOC model's one pass (`models.voc`). The whole classify path (normalise … severity, what
`sori classify` runs) over the sample reviews, on each backend and with `voc: null`, against a plain
`transformers` sentiment pipeline over the same reviews. The accuracy side is printed with it: label
agreement and max |Δp| against sori's torch path on those sentences, and binary accuracy on the NSMC
by-movie test split when the development data is present.
"""

from __future__ import annotations

import logging
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.onnx import OnnxSentimentClassifier, OnnxVocModel, available_cores, sentence_model
from models.sentiment import SentimentClassifier
from models.voc import VocScores
from pipeline.config import PROJECT_ROOT, SoriConfig, load_config
from pipeline.text.normalize import normalize_text

SAMPLE_REVIEWS = PROJECT_ROOT / "data" / "samples" / "reviews.csv"
NSMC_TEXTS = 2000


@dataclass
class Timing:
    """Seconds per round of one row; rates are items per second."""

    label: str
    run: Callable[[], object]
    items: int
    seconds: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return self.items / min(self.seconds)

    @property
    def median(self) -> float:
        return self.items / statistics.median(self.seconds)


def sample_texts(sentences: int) -> tuple[list[str], list[str]]:
    """Sample reviews in file order until their Kiwi sentences reach `sentences`: (reviews, sentences)."""
    from pipeline.text.korean import KoreanAnalyzer

    analyzer = KoreanAnalyzer()
    reviews: list[str] = []
    split: list[str] = []
    texts = pd.read_csv(SAMPLE_REVIEWS, usecols=["review_text"])["review_text"].dropna()
    for text in texts:
        reviews.append(str(text))
        split += [s.text for s in analyzer.sentences([normalize_text(str(text))])[0]]
        if len(split) >= sentences:
            break
    return reviews, split[:sentences]


def measure(rows: Sequence[Timing], rounds: int) -> None:
    """One untimed warm-up each, then `rounds` rounds in which every row runs once, in turn."""
    for row in rows:
        row.run()
    for _ in range(rounds):
        for row in rows:
            started = time.perf_counter()
            row.run()
            row.seconds.append(time.perf_counter() - started)


def _plain_pipeline(classifier: SentimentClassifier, texts: list[str]) -> Callable[[], object]:
    """transformers' text-classification pipeline with its defaults (one text at a time), fp32."""
    from transformers import pipeline

    pipe = pipeline("text-classification", model=classifier.model, tokenizer=classifier.tokenizer,
                    device=classifier.device)
    prefixed = [classifier.settings.prefix + normalize_text(t) for t in texts]
    return lambda: pipe(prefixed)


def _gpu_classifier(classifier: SentimentClassifier) -> SentimentClassifier | None:
    """The same model in bf16 on the GPU, when there is one."""
    import copy

    import torch

    if not torch.cuda.is_available():
        return None
    model = copy.deepcopy(classifier.model).to("cuda", dtype=torch.bfloat16)
    return SentimentClassifier(model, classifier.tokenizer, classifier.settings, classifier.mapping, "cuda")


def _nsmc() -> pd.DataFrame | None:
    """The balanced NSMC by-movie test split (2,000 texts), or None without the development data."""
    from models.evaluation.evaluate_sentiment import SEED
    from models.training.sentiment_data import load_corpus, nsmc_binary
    from models.training.shared_data import SharedDataMissing

    try:
        return nsmc_binary(load_corpus(), "test", NSMC_TEXTS // 2, SEED)
    except SharedDataMissing:
        return None


def _binary_accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    from models.evaluation.evaluate_sentiment import binary_view
    from models.training.sentiment_data import POSITIVE

    return float((binary_view(probs).argmax(1) == (labels == POSITIVE)).mean())


def _classify_path(config: SoriConfig, backend: str, reviews: list[str],
                   voc: bool = True) -> Callable[[], object]:
    """`sori classify` over the reviews with the config's models on one backend (`voc` False: without
    the VOC model, the classifier and the encoder in two passes)."""
    from pipeline.classify import classify_texts
    from pipeline.nlp import Pipeline

    config = config.model_copy(deep=True)
    config.models.backend = backend  # type: ignore[assignment]
    if not voc:
        config.models.voc = None
    pipeline = Pipeline.from_config(config)
    rows = [(str(i), text) for i, text in enumerate(reviews)]
    return lambda: classify_texts(rows, pipeline)


def _load() -> str:
    """The 1-minute load average: on a shared machine, how much else was running."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "unknown"


def run(config: SoriConfig, sentences: int = 1000, rounds: int = 3, accuracy: bool = True) -> str:
    """Measure everything and return the report (minutes with the defaults: docs/evaluation.md#speed)."""
    import onnxruntime
    import torch

    models = config.models
    batch = models.batch_size
    reviews, texts = sample_texts(sentences)
    load_before = _load()

    torch_clf = SentimentClassifier.from_pretrained(models.sentiment, "cpu")
    onnx_fp32 = OnnxSentimentClassifier.from_pretrained(models.sentiment, "cpu", "fp32")
    onnx_int8 = OnnxSentimentClassifier.from_pretrained(models.sentiment, "cpu", "int8")
    outputs: dict[str, np.ndarray] = {}

    def scored(name: str, classifier: object) -> Callable[[], object]:
        def score() -> None:
            outputs[name] = classifier.predict(texts, batch_size=batch).probs  # type: ignore[attr-defined]

        return score

    n = len(texts)
    rows = [
        Timing("(a) transformers pipeline, fp32, default settings", _plain_pipeline(torch_clf, texts), n),
        Timing(f"(b) sori torch fp32, length-sorted batches of {batch}", scored("torch", torch_clf), n),
        Timing("(c) ONNX Runtime fp32, same batches", scored("onnx", onnx_fp32), n),
        Timing("(d) ONNX Runtime int8 (static, calibrated)", scored("onnx-int8", onnx_int8), n),
    ]
    encoder = sentence_model(models.encoder, "cpu", "onnx")
    rows.append(Timing("(e) voc: null, ONNX fp32: (c) + the encoder's pass",
                       lambda: (onnx_fp32.predict(texts, batch), encoder.encode(texts, "query", batch)), n))
    voc_scores: dict[str, VocScores] = {}
    if models.voc:
        for precision, label in (("fp32", "(f) VOC model, ONNX fp32: one pass, every head"),
                                 ("int8", "(f8) VOC model, ONNX int8 (static): the same")):
            voc = OnnxVocModel.from_pretrained(models.voc, "cpu", precision)
            rows.append(Timing(label, _voc_pass(voc, texts, batch, voc_scores, precision), n))
    gpu = _gpu_classifier(torch_clf)
    if gpu is not None:
        rows.append(Timing("(g) (a)'s model in bf16 on the GPU, batches of 256",
                           lambda: gpu.predict(texts, 256), n))
    measure(rows, rounds)

    plain = _plain_pipeline(torch_clf, reviews)
    paths = [Timing("(p) transformers pipeline, sentiment of each review only", plain, len(reviews))]
    paths += [Timing(f"backend {backend}" + (", VOC model" if models.voc else ""),
                     _classify_path(config, backend, reviews), len(reviews))
              for backend in ("torch", "onnx", "onnx-int8")]
    if models.voc:
        two_passes = _classify_path(config, "onnx", reviews, voc=False)
        paths.append(Timing("backend onnx, voc: null (two passes)", two_passes, len(reviews)))
    measure(paths, rounds)

    base = rows[0].best
    model = (f"VOC model {models.voc}, classifier {models.sentiment}" if models.voc
             else f"model {models.sentiment}")
    lines = [
        f"sori bench: {n:,} sentences of {len(reviews):,} sample reviews; {model}",
        f"best of {rounds} interleaved rounds after a warm-up [median]; torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, {torch.get_num_threads()} torch threads",
        f"machine: {available_cores()} CPU cores ({platform.processor() or platform.machine()}), "
        f"load average {load_before} at the start, {_load()} at the end",
        "",
        f"{'classifier':54s} {'sentences/s':>18s} {'vs (a)':>7s}",
    ]
    lines += [f"{r.label:54s} {r.best:9.0f} [{r.median:6.0f}] {r.best / base:6.1f}×" for r in rows]
    lines += ["", f"{'whole classify path (normalise … severity)':54s} {'texts/s':>18s} {'vs (p)':>7s}"]
    lines += [f"{r.label:54s} {r.best:9.1f} [{r.median:6.1f}] {r.best / paths[0].best:6.1f}×"
              for r in paths]
    lines += ["", f"{'agreement with (b) on the same sentences':54s} {'labels':>9s} {'max |Δp|':>9s}"]
    for name, label in (("onnx", "(c) ONNX Runtime fp32"), ("onnx-int8", "(d) ONNX Runtime int8")):
        same = (outputs[name].argmax(1) == outputs["torch"].argmax(1)).mean()
        lines.append(f"{label:54s} {100 * same:8.1f}% {np.abs(outputs[name] - outputs['torch']).max():9.4f}")
    if voc_scores:
        fp32, int8 = voc_scores["fp32"], voc_scores["int8"]
        lines.append(f"{'(f8) against (f): sentiment / pain / top category':54s} "
                     f"{100 * (int8.sentiment.argmax(1) == fp32.sentiment.argmax(1)).mean():8.1f}% "
                     f"{np.abs(int8.sentiment - fp32.sentiment).max():9.4f}  "
                     f"pain {100 * ((int8.pain >= 0.5) == (fp32.pain >= 0.5)).mean():.1f}%, "
                     f"category {100 * (int8.categories.argmax(1) == fp32.categories.argmax(1)).mean():.1f}%")
    nsmc = _nsmc() if accuracy else None
    if nsmc is not None:
        gold = nsmc["label"].to_numpy()
        scores = {name: _binary_accuracy(clf.predict(nsmc["text"].tolist(), batch_size=batch).probs, gold)
                  for name, clf in (("torch", torch_clf), ("onnx", onnx_fp32), ("onnx-int8", onnx_int8))}
        lines += ["", f"NSMC by-movie test, binary accuracy ({len(nsmc):,} texts, balanced)"]
        lines += [f"  {name:10s} {100 * acc:6.2f}%  ({100 * (acc - scores['torch']):+.2f} points vs torch)"
                  for name, acc in scores.items()]
    else:
        lines += ["", "NSMC accuracy: skipped (" + ("--quick" if not accuracy else
                                                    "no development data; set SORI_SHARED_DATA") + ")"]
    return "\n".join(lines)


def _voc_pass(voc: OnnxVocModel, texts: list[str], batch: int, into: dict[str, VocScores], key: str
              ) -> Callable[[], object]:
    def score() -> None:
        into[key] = voc.score(texts, batch)

    return score


def main(quick: bool = False, config_path: str | None = None) -> int:
    """`sori bench [--quick]`: print the report; --quick is a smoke run of a few dozen sentences."""
    logging.getLogger("sori").setLevel(logging.WARNING)  # the pipeline's per-stage progress lines
    config = load_config(config_path)
    report = run(config, sentences=32, rounds=1, accuracy=False) if quick else run(config)
    print(report)
    return 0
