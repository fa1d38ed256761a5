"""The heavy things components read, built once per process and handed to each component.

Kiwi and the models (the one-pass VOC model, or the sentiment classifier and the encoder) are loaded
once per models configuration (`Resources.for_models`). Heads and prototypes fitted on example files
(`fitted`) are kept as arrays in a file cache, `$SORI_HEAD_CACHE` (default `$SORI_HOME/heads`, beside
the ONNX exports), under a digest of exactly what they were fitted on: the models (by the hash of their
files) and backend, the versions of sori and of the libraries that fit them, and the caller's key
(examples, taxonomy entries, hyper-parameters). The first process fits and stores them, every later
one loads them, so no process spends its start-up fitting; a taxonomy edit changes the digest, so new
heads are fitted once, then loaded. Components take everything heavy from here rather than building it,
so the nightly run, the refit and `sori classify` embed with the same encoder and backend.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import threading
import uuid
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from filelock import FileLock
from kiwipiepy import Kiwi
from pydantic import BaseModel

from models.embedder import Embedder
from models.encoder import SORI_HOME
from models.lexical import LexicalSentiment, blend_log_probabilities, kiwi_morphemes, lexical_spec
from models.onnx import sentiment_model, source_identity, voc_model
from models.sentiment import LABELS
from models.voc import VocEncoder, VocScores
from pipeline import __version__
from pipeline.config import ModelsConfig
from pipeline.document import Document, HeadScores, Sentence
from pipeline.text.korean import KoreanAnalyzer, shared_kiwi
from pipeline.text.normalize import normalize_text

log = logging.getLogger("sori.resources")

T = TypeVar("T")
Arrays = dict[str, np.ndarray]

HEAD_CACHE = Path(os.environ.get("SORI_HEAD_CACHE") or SORI_HOME / "heads").expanduser()
# Bump when what any head stores (its arrays' names or meaning) changes, so older files are not read.
HEAD_FORMAT = 1
# Libraries whose versions can move what a head learns or what the models output.
FITTING_LIBRARIES = ("numpy", "scikit-learn", "kiwipiepy", "onnxruntime", "torch", "sentence-transformers")

_by_models: dict[str, Resources] = {}
_by_models_lock = threading.Lock()


def canonical(value: object) -> object:
    """`value` as plain JSON data that is the same in every process: sets sorted (their iteration
    order changes with the string hash seed), dataclasses and pydantic models as their fields. A type
    that has no such form is an error, not a key that would silently never match again."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, ensure_ascii=False))
    if isinstance(value, Mapping):  # in its order: a taxonomy's order of keys is the order of a head's rows
        return [[canonical(k), canonical(v)] for k, v in value.items()]
    if isinstance(value, BaseModel):
        return [type(value).__name__, canonical(value.model_dump())]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, canonical({f.name: getattr(value, f.name)
                                                 for f in dataclasses.fields(value)})]
    raise TypeError(f"a fitted head cannot be keyed on a {type(value).__name__}: pass its contents "
                    "(texts, labels, numbers)")


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(canonical(value), ensure_ascii=False).encode()).hexdigest()[:32]


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in FITTING_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def read_arrays(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def write_arrays(path: Path, arrays: Arrays) -> None:
    """Written to a temporary file beside `path` and renamed over it: a reader sees the whole file or
    none, whichever process wrote it and however it ended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class HeadCache:
    """Fitted heads as arrays in `directory`, one `<digest>.npz` per key and `identity` (what every head
    depends on besides its own key), built once per key in this process."""

    def __init__(self, directory: Path, identity: Callable[[], object]):
        self.directory = directory
        self.identity = identity
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def path(self, key: object) -> Path:
        return self.directory / f"{digest([self.identity(), key])}.npz"

    def fitted(self, key: object, fit: Callable[[], Arrays], build: Callable[[Arrays], T]) -> T:
        """`build(arrays)`, where `arrays` are what `fit()` returned for this key: read from the cache
        when a process stored them before, else fitted and stored. Loaded or just fitted, the head is
        built from the same arrays, so it scores the same either way. Built once per key in this process
        (threads of one run share it); one process at a time fits a missing key, and the others then
        load what it stored. An unreadable file is fitted again and replaced."""
        path = self.path(key)
        with self._lock:
            if path.name not in self._built:
                self._built[path.name] = build(self._arrays(path, fit))
            return self._built[path.name]

    def _arrays(self, path: Path, fit: Callable[[], Arrays]) -> Arrays:
        stored = self._read(path)
        if stored is not None:
            return stored
        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.directory / ".fitting.lock")):
            stored = self._read(path)  # another process may have stored it meanwhile
            if stored is not None:
                return stored
            log.info("fitting a head the head cache does not hold yet (%s)", path)
            arrays = fit()
            write_arrays(path, arrays)
            return arrays

    @staticmethod
    def _read(path: Path) -> Arrays | None:
        try:
            return read_arrays(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("head cache file %s cannot be read (%s): fitting it again", path, exc)
            return None


class Resources:
    """With `models.voc` set, one VOC model scores sentiment, embedding and heads in one pass and is
    also the process's encoder; otherwise the sentiment classifier and the encoder run apart."""

    def __init__(self, models: ModelsConfig, kiwi: Kiwi | None = None, head_cache: Path = HEAD_CACHE):
        self.models = models
        self.kiwi = kiwi or shared_kiwi()
        self.analyzer = KoreanAnalyzer(self.kiwi)
        self.voc: Any = None
        self.classifier: Any = None
        if models.voc:
            self.voc = voc_model(models.voc, models.device, models.backend)
            # Its embedding is its base encoder's (models/voc.py, `one_pass`), and named so: topic
            # models and heads fitted on that encoder's embeddings stay valid.
            self.embedder = Embedder(self.voc.settings.base, batch_size=models.batch_size,
                                     encoder=VocEncoder(self.voc))
        else:
            self.classifier = sentiment_model(models.sentiment, models.device, models.backend)
            self.embedder = Embedder(models.encoder, models.device, models.batch_size, models.backend)
        # The lexical view whose log-probabilities are blended into the sentiment (`with_lexical`).
        self.lexical = LexicalSentiment.load(models.lexical_sentiment) if models.lexical_sentiment else None
        self.heads = HeadCache(head_cache, lambda: self.identity)

    @classmethod
    def for_models(cls, models: ModelsConfig) -> Resources:
        """The process's Resources for these models: every pipeline, refit and classify shares it."""
        key = models.model_dump_json()
        with _by_models_lock:
            if key not in _by_models:
                _by_models[key] = cls(models)
            return _by_models[key]

    @functools.cached_property
    def identity(self) -> dict[str, object]:
        """What every fitted head depends on besides its own key: sori, the models as files (not names)
        with their backend and settings, and the libraries that run and fit them."""
        models = self.models
        used = ({"voc": source_identity("voc", models.voc)} if models.voc else
                {"encoder": source_identity("encoder", models.encoder),
                 "sentiment": source_identity("classifier", models.sentiment)})
        if models.lexical_sentiment:
            used["lexical"] = lexical_spec(models.lexical_sentiment)
        return {"format": HEAD_FORMAT, "sori": __version__, "models": models.model_dump(), **used,
                "libraries": library_versions()}

    def fitted(self, key: object, fit: Callable[[], Arrays], build: Callable[[Arrays], T]) -> T:
        """A head fitted on what the models make of examples, from the head cache (`HeadCache.fitted`):
        `key` names everything else it was fitted on (examples, taxonomy entries, hyper-parameters)."""
        return self.heads.fitted(key, fit, build)

    def score_sentences(self, sentences: Sequence[Sentence]) -> None:
        """Sets each sentence's calibrated P(negative), P(positive) and label from what the models read
        of it (`Sentence.model_text`); with a VOC model, in the same pass, its embedding and heads."""
        texts = [s.model_text for s in sentences]
        if self.voc is None:
            probs = self.classifier.predict(texts, batch_size=self.models.batch_size).probs
        else:
            scores = self.voc.score(texts, self.models.batch_size)
            probs = scores.sentiment
            self._set_heads(sentences, scores)
        probs = self.with_lexical(probs, sentences)
        for sentence, p in zip(sentences, probs, strict=True):
            sentence.p_negative = round(float(p[0]), 4)
            sentence.p_positive = round(float(p[2]), 4)
            sentence.sentiment = LABELS[int(p.argmax())]

    def score_documents(self, docs: Sequence[Document]) -> None:
        """Sets each document's P(negative) and label from its whole text (with a VOC model, its heads
        branch alone: a document needs no embedding)."""
        texts = [doc.model_text for doc in docs]
        probs = (self.classifier.predict(texts, batch_size=self.models.batch_size).probs if self.voc is None
                 else self.voc.score_heads(texts, self.models.batch_size).sentiment)
        probs = self.with_lexical(probs, docs)
        for doc, p in zip(docs, probs, strict=True):
            doc.p_negative = round(float(p[0]), 4)
            doc.sentiment = LABELS[int(p.argmax())]

    def with_lexical(self, probs: np.ndarray, items: Sequence[Sentence] | Sequence[Document]) -> np.ndarray:
        """The model's calibrated probabilities (n, 3) blended with the lexical view's
        (`models.lexical.blend_log_probabilities`, `models.lexical_weight` and `lexical_temperature`), or
        as they are when the view is off. The view reads the morphemes the sentence split recorded, so
        Kiwi runs again only for an item without them (a sentence built without Kiwi)."""
        if self.lexical is None or not len(items):
            return probs
        lists: list[Sequence[str] | None] = [item.morphemes for item in items]
        missing = [i for i, m in enumerate(lists) if m is None]
        for i, morphemes in zip(missing, kiwi_morphemes([items[i].model_text for i in missing], self.kiwi),
                                strict=True):
            lists[i] = morphemes
        lexical = self.lexical.log_proba_morphemes([m or () for m in lists])
        return blend_log_probabilities(probs, lexical, self.models.lexical_weight,
                                       self.models.lexical_temperature)

    def embed_sentences(self, sentences: Sequence[Sentence]) -> None:
        """Sets each sentence's embedding from what the models read of it (`Sentence.model_text`); with
        a VOC model, its heads too."""
        if not sentences:
            return
        texts = [s.model_text for s in sentences]
        if self.voc is None:
            for sentence, vector in zip(sentences, self.embedder.embed(texts), strict=True):
                sentence.embedding = vector
        else:
            self._set_heads(sentences, self.voc.score(texts, self.models.batch_size))

    def _set_heads(self, sentences: Sequence[Sentence], scores: VocScores) -> None:
        categories, touchpoints = self.voc.settings.categories, self.voc.settings.touchpoints
        for i, sentence in enumerate(sentences):
            sentence.embedding = scores.embeddings[i]
            sentence.heads = HeadScores(
                pain=float(scores.pain[i]), response=float(scores.response[i]),
                categories=dict(zip(categories, scores.categories[i].tolist(), strict=True)),
                touchpoints=dict(zip(touchpoints, scores.touchpoints[i].tolist(), strict=True)))

    def score_texts(self, texts: Sequence[str]) -> list[list[Sentence]]:
        """Texts as the pipeline's first stages leave them: normalised, split, with sentiment and
        embeddings. Fitting heads on example files and judging parts of a sentence read text so."""
        split = self.analyzer.sentences([normalize_text(t) for t in texts])
        sentences = [s for group in split for s in group]
        self.score_sentences(sentences)
        self.embed_sentences([s for s in sentences if s.embedding is None])  # a VOC pass embedded them
        return split
