"""Topics of pain sentences with BERTopic, under sori ids that survive refits.

Embeddings come from the configured encoder (computed once by the embed component), the vectorizer
tokenises with Kiwi keywords (nouns, stems, negations kept), UMAP and HDBSCAN are seeded so the same
input gives the same topics. BERTopic numbers its topics 0..n-1 by size, so every refit would renumber
them; sori instead matches a refit's topics to the previous model's (centroid similarity, keyword
overlap and, where the previous model assigns the refit's sentences, how many of them the two topics
share; one-to-one by an optimal assignment) and a matched topic keeps its sori id, so trends, alerts
and analyst labels (`configs/topic_labels.yaml`) carry over. Each topic records its status against the
previous model (new, kept, merged, split; retired for an id with no successor) and the ids it came
from. The BERTopic → sori id map is saved with the model, and the nightly run assigns sori ids.

A sentence is assigned to the topic whose centroid is most similar, or to −1 (미분류) when no
centroid reaches the model's outlier threshold: the same rule reduces HDBSCAN's outliers at fit time
and assigns at night, so the saved model reproduces the fit as closely as nearest-centroid can.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml
from filelock import FileLock
from scipy.optimize import linear_sum_assignment
from sklearn.feature_extraction.text import CountVectorizer

from models.embedder import Embedder
from pipeline.config import TopicsConfig
from pipeline.document import stable_id
from pipeline.text.korean import NEGATIONS, KoreanAnalyzer

if TYPE_CHECKING:
    from bertopic import BERTopic

    from pipeline.topics.embeddings import BatchedMMR

# BERTopic, UMAP and HDBSCAN (numba) take seconds to import: they are imported where a model is fitted
# or read, so a process that only classifies, or has not reached the topic step yet, never waits for them.

log = logging.getLogger("sori.topics")

OUTLIER = -1
OUTLIER_LABEL = "미분류"
META_FILE = "sori_topics.json"
TOP_WORDS = 25  # words kept per topic: the label uses the first few, `keywords` the first ten
KEYWORDS = 10
MAX_LABEL = 256  # the warehouse's label column
# Matching: score = (1 − KEYWORD_WEIGHT) × centroid cosine + KEYWORD_WEIGHT × keyword Jaccard, with
# centroids centred on the refit corpus's mean embedding (raw e5 cosines all sit near 0.95).
KEYWORD_WEIGHT = 0.3
MIN_MATCH_SCORE = 0.35
# When the previous model can assign the refit's sentences, the score is half that and half the Dice
# overlap of the two topics' sentences: a topic continues where its sentences go.
OVERLAP_WEIGHT = 0.5
# An outlier joins its nearest topic when it is at least as similar to it as all but this share of
# HDBSCAN's own members are to theirs: the threshold adapts to the encoder's similarity scale.
OUTLIER_QUANTILE = 0.05
TOPIC_SHARE = 0.006


class Status(StrEnum):
    NEW = "new"
    KEPT = "kept"
    MERGED = "merged"
    SPLIT = "split"
    RETIRED = "retired"
    OUTLIERS = "outliers"


def topic_label(words: Sequence[str], size: int = 3) -> str:
    """A short Korean label from the topic's top words, skipping bare negations."""
    chosen = [w for w in words if w and w not in NEGATIONS][:size]
    return "·".join(chosen) or OUTLIER_LABEL


# --- matching a refit to the previous model ------------------------------------------------------


@dataclass(frozen=True)
class TopicProfile:
    """What identifies a topic across refits: its centroid embedding and its top keywords."""

    centroid: np.ndarray
    keywords: Sequence[str]


@dataclass(frozen=True)
class Lineage:
    """A topic's status against the previous model, the previous ids it came from, its match score."""

    status: str
    parents: tuple[int, ...] = ()
    score: float | None = None


@dataclass
class Matching:
    ids: dict[int, int]  # current topic → sori id
    lineage: dict[int, Lineage]  # sori id → lineage, for current topics and retired ids
    next_id: int  # the first id never handed out


def match_scores(previous: Sequence[TopicProfile], current: Sequence[TopicProfile],
                 center: np.ndarray | None = None) -> np.ndarray:
    """Previous × current scores in [−1, 1]: centred centroid cosine blended with keyword Jaccard."""
    def unit(profiles: Sequence[TopicProfile]) -> np.ndarray:
        vectors = np.array([p.centroid for p in profiles], dtype=np.float64)
        if center is not None:
            vectors = vectors - center
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    if not previous or not current:
        return np.zeros((len(previous), len(current)))
    cosine = unit(previous) @ unit(current).T
    jaccard = np.array([[_jaccard(p.keywords, c.keywords) for c in current] for p in previous])
    return (1 - KEYWORD_WEIGHT) * cosine + KEYWORD_WEIGHT * jaccard


def membership_overlap(before: Sequence[int], after: Sequence[int], previous_ids: Sequence[int],
                       current_ids: Sequence[int]) -> np.ndarray:
    """Previous × current Dice overlap of the same sentences' topics under the two models."""
    pairs = Counter(zip(before, after, strict=True))
    sizes_before, sizes_after = Counter(before), Counter(after)
    return np.array([[2 * pairs[(p, c)] / (sizes_before[p] + sizes_after[c]) if pairs[(p, c)] else 0.0
                      for c in current_ids] for p in previous_ids])


def _jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    union = set(a) | set(b)
    return len(set(a) & set(b)) / len(union) if union else 0.0


def match_topics(previous: Mapping[int, TopicProfile], current: Mapping[int, TopicProfile], next_id: int,
                 center: np.ndarray | None = None, min_score: float = MIN_MATCH_SCORE,
                 overlap: np.ndarray | None = None) -> Matching:
    """Give the current topics sori ids: an optimal one-to-one assignment to previous topics, pairs
    below `min_score` refused, keeps ids; the rest get fresh ids from `next_id` in size order.

    A previous topic left unmatched but related (score ≥ min_score) to a current one is merged into
    it; a current topic left unmatched but related to a previous one is split off it; a previous
    topic related to nothing is retired. `previous` is keyed by sori id, `current` by any key;
    `overlap`, in their order, is `membership_overlap` on the refit's sentences."""
    prev_ids, cur_keys = list(previous), list(current)
    scores = match_scores([previous[i] for i in prev_ids], [current[k] for k in cur_keys], center)
    if overlap is not None and scores.size:
        scores = (1 - OVERLAP_WEIGHT) * scores + OVERLAP_WEIGHT * overlap
    related = scores >= min_score
    # Refused pairs cost more than any set of allowed ones, so the assignment first matches as many
    # related pairs as it can (an unmatched related pair then always has a matched partner).
    cost = np.where(related, -scores, 2.0 * (min(scores.shape, default=0) + 1))
    pairs = {}
    if scores.size:
        for row, col in zip(*linear_sum_assignment(cost), strict=True):
            if related[row, col]:
                pairs[col] = row
    ids: dict[int, int] = {}
    for col, key in enumerate(cur_keys):
        if col in pairs:
            ids[key] = prev_ids[pairs[col]]
        else:
            ids[key], next_id = next_id, next_id + 1
    parents: dict[int, set[int]] = {ids[key]: set() for key in cur_keys}
    children: dict[int, set[int]] = {pid: set() for pid in prev_ids}
    matched_rows = set(pairs.values())
    for col, key in enumerate(cur_keys):
        rows = [pairs[col]] if col in pairs else []
        if not rows and related[:, col].any():
            rows = [int(np.argmax(np.where(related[:, col], scores[:, col], -np.inf)))]
        for row in rows:
            parents[ids[key]].add(prev_ids[row])
            children[prev_ids[row]].add(ids[key])
    for row, pid in enumerate(prev_ids):
        if row not in matched_rows and related[row].any():
            col = int(np.argmax(np.where(related[row], scores[row], -np.inf)))
            parents[ids[cur_keys[col]]].add(pid)
            children[pid].add(ids[cur_keys[col]])
    lineage: dict[int, Lineage] = {}
    for col, key in enumerate(cur_keys):
        sid, came_from = ids[key], tuple(sorted(parents[ids[key]]))
        if not came_from:
            status = Status.NEW
        elif len(came_from) > 1:
            status = Status.MERGED
        elif len(children[came_from[0]]) > 1:
            status = Status.SPLIT
        else:
            status = Status.KEPT
        best = max((scores[prev_ids.index(p), col] for p in came_from), default=None)
        lineage[sid] = Lineage(status.value, came_from, None if best is None else round(float(best), 4))
    for pid in prev_ids:
        if not children[pid]:
            lineage[pid] = Lineage(Status.RETIRED.value, (pid,))
    return Matching(ids, lineage, next_id)


# --- analyst labels ------------------------------------------------------------------------------


def load_topic_labels(path: Path) -> dict[int, str]:
    """Validated `topic id → label` from YAML; an empty file means no overrides."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: topic labels must be a mapping of topic id → label, "
                         f"got {type(raw).__name__}")
    labels = {}
    for key, value in raw.items():
        if isinstance(key, bool) or not isinstance(key, int) or key < 0:
            raise ValueError(f"{path}: {key!r} is not a topic id (an integer ≥ 0; "
                             f"−1 is always {OUTLIER_LABEL})")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{path}: the label of topic {key} must be a non-empty string")
        if len(value.strip()) > MAX_LABEL:
            raise ValueError(f"{path}: the label of topic {key} is longer than {MAX_LABEL} characters")
        labels[key] = value.strip()
    return labels


class TopicLabels:
    """Analyst labels, re-read whenever the file changes, so a served process picks up an edit."""

    def __init__(self, path: Path | None):
        self.path = path
        self._stamp: int | None = -1
        self._labels: dict[int, str] = {}

    def get(self) -> dict[int, str]:
        stamp = self.path.stat().st_mtime_ns if self.path and self.path.is_file() else None
        if stamp != self._stamp:
            if stamp is None and self.path:
                log.warning("topic labels file %s not found: generated labels are used", self.path)
            self._labels = load_topic_labels(self.path) if stamp is not None and self.path else {}
            self._stamp = stamp
        return self._labels


# --- the model -----------------------------------------------------------------------------------


@dataclass
class TopicMeta:
    """sori's record of a model, saved as META_FILE beside BERTopic's files."""

    version: str
    encoder: str
    ids: dict[int, int]  # BERTopic topic → sori id (−1 → −1)
    next_id: int
    threshold: float  # minimum centroid similarity for a topic; below it a sentence is −1
    lineage: dict[int, Lineage] = field(default_factory=dict)
    retired: dict[int, dict[str, str]] = field(default_factory=dict)  # sori id → label, keywords
    previous_version: str | None = None
    outliers_before: float | None = None  # HDBSCAN's outlier share
    outliers_after: float | None = None  # after reducing outliers

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> TopicMeta:
        data = json.loads(text)
        ids = {int(k): int(v) for k, v in data.get("ids", {}).items()}
        return cls(
            version=data["version"], encoder=data["encoder"], ids=ids,
            next_id=data.get("next_id", max(ids.values(), default=-1) + 1),
            threshold=data.get("threshold", -1.0),
            lineage={int(k): Lineage(v["status"], tuple(v["parents"]), v["score"])
                     for k, v in data.get("lineage", {}).items()},
            retired={int(k): v for k, v in data.get("retired", {}).items()},
            previous_version=data.get("previous_version"),
            outliers_before=data.get("outliers_before"), outliers_after=data.get("outliers_after"),
        )


class TopicTokens:
    """Kiwi keywords less bare negations: alone, 안 or 없다 says nothing about a topic and crowds them all."""

    def __init__(self, analyzer: KoreanAnalyzer):
        self.analyzer = analyzer

    def __call__(self, text: str) -> list[str]:
        return [word for word in self.analyzer.keywords(text) if word not in NEGATIONS]


def topic_vectorizer(analyzer: KoreanAnalyzer, min_df: int = 2) -> CountVectorizer:
    """Unigram Kiwi keywords (bigrams of keywords read as noise) in at least `min_df` documents."""
    return CountVectorizer(tokenizer=TopicTokens(analyzer), lowercase=False, token_pattern=None,
                           min_df=min_df)


def min_topic_size(config: TopicsConfig, sentences: int) -> int:
    """At least `min_topic_size` sentences and TOPIC_SHARE of the corpus, so a 90-day refit gives
    tens of topics an analyst can read rather than hundreds of near-duplicates."""
    wanted = max(config.min_topic_size, math.ceil(TOPIC_SHARE * sentences))
    # HDBSCAN refuses a cluster size beyond the sample (a user's min_topic_size above min_documents).
    return max(2, min(wanted, sentences - 1))


class CosineUMAP:
    """UMAP on cosine distances, seeded: what BERTopic's `umap_model` is given.

    Below UMAP's own small-data size it computes every pairwise distance, and with a named metric it
    does so by calling the metric's numba function from Python once per pair (millions of calls for a
    few thousand sentences). One matrix product gives the same distances, handed to UMAP precomputed;
    a larger corpus goes to UMAP's cosine nearest-neighbour search as before."""

    SMALL_DATA = 4096  # umap-learn's threshold for exact distances

    def __init__(self, seed: int, n_neighbors: int = 15, n_components: int = 5, min_dist: float = 0.0):
        self.options = {"n_neighbors": n_neighbors, "n_components": n_components, "min_dist": min_dist,
                        "random_state": seed}

    def fit_transform(self, embeddings: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        import warnings

        from umap import UMAP

        _cache_umap_kernels()

        if len(embeddings) >= self.SMALL_DATA:
            return UMAP(metric="cosine", **self.options).fit_transform(embeddings, y=y)
        unit = _unit(embeddings)
        distances = np.clip(1.0 - unit @ unit.T, 0.0, None)
        np.fill_diagonal(distances, 0.0)
        with warnings.catch_warnings():  # "inverse_transform will be unavailable": sori never inverts
            warnings.filterwarnings("ignore", message="using precomputed metric")
            return UMAP(metric="precomputed", **self.options).fit_transform(distances, y=y)


@functools.cache
def _cache_umap_kernels() -> None:
    """umap-learn compiles its parallel numba kernels without numba's cache, so every process that fits
    a topic model, or loads one and draws the report's topic map (BERTopic's `visualize_topics` runs
    UMAP on the topics), spent seconds compiling them again. With caching turned on they are compiled
    once and read back (numba's cache: beside umap-learn, in the user's cache folder where that is
    read-only, or in $NUMBA_CACHE_DIR); the compiled code is the same, so is the layout. Once per
    process."""
    import umap.layouts
    import umap.umap_

    for kernel in (umap.umap_.fast_knn_indices, umap.umap_.smooth_knn_dist,
                   umap.umap_.compute_membership_strengths,
                   umap.layouts._nb_optimize_layout_euclidean_single_epoch):
        kernel.enable_caching()


def import_fitting_libraries() -> None:
    """Imports what `TopicModel.fit` and `TopicModel.load` import (BERTopic, with the transformers
    pipelines its representations import, UMAP, HDBSCAN), for a process that would rather spend those
    seconds before its topic step (`TopicAssigner.warm_up`)."""
    import bertopic  # noqa: F401
    import hdbscan  # noqa: F401

    _cache_umap_kernels()


def _representation() -> BatchedMMR:
    """Words are ranked by c-TF-IDF (frequent words damped, which keeps topics apart) and re-ranked by
    maximal marginal relevance against the topic, which drops near-synonyms (페이스북, 페북) from the
    top words; KeyBERTInspired was tried and chose vaguer words (기존, 확인) with this encoder."""
    from pipeline.topics.embeddings import BatchedMMR

    return BatchedMMR(diversity=0.3, top_n_words=TOP_WORDS)


def _bertopic(config: TopicsConfig, embedder: Embedder, analyzer: KoreanAnalyzer, sentences: int) -> BERTopic:
    """The seeded BERTopic of sori; `language` is not English so BERTopic keeps Hangul for Kiwi.

    It clusters with plain c-TF-IDF words: `TopicModel.fit` re-ranks the words of the final topics
    (`_representation`) once, after outliers are reduced, rather than for the clusters first too."""
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer
    from hdbscan import HDBSCAN

    from pipeline.topics.embeddings import SoriEmbeddings

    return BERTopic(
        embedding_model=SoriEmbeddings(embedder),
        umap_model=CosineUMAP(config.seed),
        hdbscan_model=HDBSCAN(min_cluster_size=min_topic_size(config, sentences), metric="euclidean",
                              cluster_selection_method="eom", prediction_data=True),
        # BERTopic runs the vectorizer over one joined document per topic: a min_df of 2 there would
        # mean "in two topics", dropping the words that set a topic apart, and a fit whose sentences
        # are all outliers would keep no word at all. c-TF-IDF already damps rare words.
        vectorizer_model=topic_vectorizer(analyzer, min_df=1),
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        top_n_words=TOP_WORDS,
        language="multilingual",
        calculate_probabilities=False,
    )


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _centroids(embeddings: np.ndarray, assigned: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Unit mean embedding per topic, in BERTopic's row order (sorted ids, −1 first when present)."""
    ids = sorted({int(t) for t in assigned})
    return ids, np.vstack([_unit(embeddings[assigned == t].mean(axis=0)) for t in ids])


def _outlier_threshold(embeddings: np.ndarray, clustered: np.ndarray) -> float:
    """The OUTLIER_QUANTILE of HDBSCAN members' similarity to their own topic's centroid."""
    members = clustered != OUTLIER
    if not members.any():
        return 1.0
    ids, centroids = _centroids(embeddings[members], clustered[members])
    rows = np.searchsorted(ids, clustered[members])
    own = np.einsum("ij,ij->i", _unit(embeddings[members]), centroids[rows])
    return float(np.quantile(own, OUTLIER_QUANTILE))


def share(assigned: Sequence[int], value: int = OUTLIER) -> float:
    """The share of assignments equal to `value` (by default the outlier share)."""
    return float(np.mean(np.asarray(assigned) == value)) if len(assigned) else 0.0


def agreement(a: Sequence[int], b: Sequence[int]) -> float:
    """The share of sentences given the same topic by two assignments."""
    return float(np.mean(np.asarray(a) == np.asarray(b))) if len(a) else 1.0


def saved_meta(directory: Path, embedder: Embedder, check_encoder: bool = True) -> TopicMeta:
    """The saved model's metadata; with `check_encoder`, refused when it was fitted on the embeddings
    of another encoder than `embedder`'s."""
    meta = TopicMeta.from_json((directory / META_FILE).read_text(encoding="utf-8"))
    if check_encoder and meta.encoder != embedder.model_name:
        raise ValueError(
            f"the topic model in {directory} was fitted on {meta.encoder!r} embeddings, but the "
            f"encoder is now {embedder.model_name!r}: refit the topics (sori refit) after changing it"
        )
    return meta


class TopicModel:
    """A fitted BERTopic model plus sori's ids, lineage and labels."""

    def __init__(self, model: BERTopic, meta: TopicMeta, labels: TopicLabels | None = None):
        self.model = model
        self.meta = meta
        self.labels = labels or TopicLabels(None)
        self.fitted: list[int] = []  # sori ids of the fitted sentences (only on a model just fitted)

    @property
    def version(self) -> str:
        return self.meta.version

    @classmethod
    def fit(cls, texts: Sequence[str], embeddings: np.ndarray, config: TopicsConfig, embedder: Embedder,
            analyzer: KoreanAnalyzer, previous: TopicModel | None = None,
            labels: TopicLabels | None = None) -> TopicModel:
        """Fit, reduce outliers with the encoder-relative threshold, and give the topics sori ids:
        matched to `previous` when given, else numbered from 0."""
        texts = list(texts)
        model = _bertopic(config, embedder, analyzer, len(texts))
        clustered = np.asarray(model.fit_transform(texts, embeddings)[0])
        threshold = _outlier_threshold(embeddings, clustered)
        final = clustered
        if (clustered == OUTLIER).any() and (clustered != OUTLIER).any():
            final = np.asarray(model.reduce_outliers(texts, clustered.tolist(), strategy="embeddings",
                                                     embeddings=embeddings, threshold=threshold))
        model.update_topics(texts, topics=final.tolist(), top_n_words=TOP_WORDS,
                            vectorizer_model=model.vectorizer_model, ctfidf_model=model.ctfidf_model,
                            representation_model=_representation())
        # Nightly assignment is by nearest centroid: the centroids are those of the final topics.
        internal, model.topic_embeddings_ = _centroids(embeddings, final)
        version = stable_id("topics", datetime.now(UTC).isoformat(), len(texts))
        fitted = cls(model, TopicMeta(version, embedder.model_name, {}, 0, threshold), labels)
        current = {t: TopicProfile(c, fitted.words(t)[:KEYWORDS])
                   for t, c in zip(internal, model.topic_embeddings_, strict=True) if t != OUTLIER}
        if previous is None:
            matching = match_topics({}, current, 0)
        else:
            # Another encoder's centroids cannot be compared: its topics retire, ids continue after them.
            comparable = previous.meta.encoder == embedder.model_name
            profiles = previous.profiles()
            overlap = membership_overlap(previous.assign(texts, embeddings), final.tolist(), list(profiles),
                                         list(current)) if comparable else None
            matching = match_topics(profiles, current, previous.meta.next_id,
                                    center=embeddings.mean(axis=0),
                                    min_score=MIN_MATCH_SCORE if comparable else np.inf, overlap=overlap)
            fitted.meta.previous_version = previous.version
            fitted.meta.retired = {
                sid: {"label": previous.generated_label(sid),
                      "keywords": ";".join(previous.sori_words(sid)[:KEYWORDS])}
                for sid, line in matching.lineage.items() if line.status == Status.RETIRED}
        fitted.meta.ids = {OUTLIER: OUTLIER, **matching.ids}
        fitted.meta.next_id = matching.next_id
        fitted.meta.lineage = matching.lineage
        fitted.meta.outliers_before, fitted.meta.outliers_after = share(clustered), share(final)
        fitted.fitted = [fitted.meta.ids[int(t)] for t in final]
        return fitted

    def save(self, directory: Path) -> None:
        """Written beside and then swapped in, so a crash never leaves half a model. Callers hold
        `writer_lock(directory)`, so two processes never swap at once."""
        staging = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.parent.mkdir(parents=True, exist_ok=True)
        # The encoder is recorded by sori, not BERTopic: BERTopic would try to load it by name on load.
        self.model.save(staging, serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
        (staging / META_FILE).write_text(self.meta.to_json(), encoding="utf-8")
        shutil.rmtree(directory, ignore_errors=True)
        staging.rename(directory)

    @classmethod
    def load(cls, directory: Path, embedder: Embedder, labels: TopicLabels | None = None,
             check_encoder: bool = True) -> TopicModel:
        """A saved model; one saved before sori ids existed gets BERTopic's ids as its sori ids."""
        from bertopic import BERTopic

        from pipeline.topics.embeddings import SoriEmbeddings

        meta = saved_meta(directory, embedder, check_encoder)
        _cache_umap_kernels()  # the nightly run's report draws the topic map with UMAP
        model = BERTopic.load(str(directory), embedding_model=SoriEmbeddings(embedder))
        loaded = cls(model, meta, labels)
        if not meta.ids:
            meta.ids = {t: t for t in loaded.internal_ids()}
            meta.next_id = max(meta.ids.values(), default=-1) + 1
        return loaded

    def internal_ids(self) -> list[int]:
        """BERTopic's topic ids in the row order of its topic embeddings."""
        return sorted(int(t) for t in self.model.get_topics())

    def words(self, internal: int) -> list[str]:
        return [word for word, _ in (self.model.get_topic(internal) or []) if word]

    def _internal(self, sori_id: int) -> int | None:
        return next((i for i, s in self.meta.ids.items() if s == sori_id), None)

    def sori_words(self, sori_id: int) -> list[str]:
        internal = self._internal(sori_id)
        return [] if internal is None or sori_id == OUTLIER else self.words(internal)

    def profiles(self) -> dict[int, TopicProfile]:
        """Each topic's centroid and keywords by sori id, for matching the next refit."""
        rows = dict(zip(self.internal_ids(), np.asarray(self.model.topic_embeddings_), strict=True))
        return {self.meta.ids[t]: TopicProfile(rows[t], self.words(t)[:KEYWORDS])
                for t in rows if t != OUTLIER}

    def assign(self, texts: Sequence[str], embeddings: np.ndarray) -> list[int]:
        """Sori ids by nearest topic centroid; −1 when none reaches the model's threshold."""
        if not len(texts):
            return []
        internal = self.internal_ids()
        rows = [row for row, t in enumerate(internal) if t != OUTLIER]
        if not rows:
            return [OUTLIER] * len(texts)
        similarity = _unit(embeddings) @ _unit(np.asarray(self.model.topic_embeddings_)[rows]).T
        best = similarity.argmax(axis=1)
        return [self.meta.ids[internal[rows[b]]] if similarity[i, b] >= self.meta.threshold else OUTLIER
                for i, b in enumerate(best)]

    def generated_label(self, sori_id: int) -> str:
        if sori_id == OUTLIER:
            return OUTLIER_LABEL
        if sori_id in self.meta.retired:
            return self.meta.retired[sori_id]["label"]
        return topic_label(self.sori_words(sori_id))

    def label(self, sori_id: int) -> str:
        """The analyst's label when the labels file has one, else the generated one."""
        if sori_id == OUTLIER:
            return OUTLIER_LABEL
        return self.labels.get().get(sori_id) or self.generated_label(sori_id)

    def table(self) -> list[dict[str, object]]:
        """Rows for the warehouse `topics` table: every topic of this version, −1 and retired ids too."""
        sizes = {int(t): int(n) for t, n in self.model.topic_sizes_.items()}
        rows = []
        for internal, sori_id in sorted(self.meta.ids.items(), key=lambda item: item[1]):
            line = self.meta.lineage.get(sori_id)
            rows.append(self._row(sori_id, ";".join(self.sori_words(sori_id)[:KEYWORDS]),
                                  sizes.get(internal, 0), line))
        for sori_id, info in sorted(self.meta.retired.items()):
            rows.append(self._row(sori_id, info["keywords"], 0, self.meta.lineage.get(sori_id)))
        return rows

    def _row(self, sori_id: int, keywords: str, size: int, line: Lineage | None) -> dict[str, object]:
        if sori_id == OUTLIER:
            line = Lineage(Status.OUTLIERS.value)
        return {
            "model_version": self.version, "topic_id": sori_id, "label": self.label(sori_id),
            "generated_label": self.generated_label(sori_id), "keywords": keywords, "size": size,
            "status": line.status if line else Status.NEW.value,
            "lineage": ";".join(str(p) for p in line.parents) if line else "",
            "match_score": line.score if line else None,
            "previous_version": self.meta.previous_version,
        }


@dataclass
class RefitReport:
    """What a refit did, for the flow's log and return value."""

    version: str
    previous_version: str | None
    sentences: int
    topics: int
    statuses: dict[str, int]
    outliers_before: float  # HDBSCAN's outlier share
    outliers_after: float  # after reduce_outliers, at fit time
    outliers_assigned: float  # as the saved model assigns the same sentences
    agreement: float  # fit-time vs saved-and-loaded assignments

    def __str__(self) -> str:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        return (f"{self.version} ({self.topics} topics on {self.sentences} sentences: {statuses}; outliers "
                f"{self.outliers_before:.1%} → {self.outliers_after:.1%}; save/load agreement "
                f"{self.agreement:.1%})")


def writer_lock(directory: Path) -> FileLock:
    """The lock every writer of the saved topic model holds from reading the model it replaces (or
    finding none) to saving its own: two first runs, or a refit beside a first run, cannot both fit
    and leave rows numbered by a model that was overwritten."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(directory.with_name(directory.name + ".lock")))


def refit(texts: Sequence[str], embeddings: np.ndarray, config: TopicsConfig, embedder: Embedder,
          analyzer: KoreanAnalyzer) -> tuple[TopicModel, list[int], RefitReport]:
    """A new model fitted on these pain sentences, matched to the saved one so topic ids carry over,
    saved for the nightly runs and loaded back; with the loaded model's assignment of the same
    sentences, so the rows they came from can agree with the model now in use."""
    labels = TopicLabels(config.labels)
    with writer_lock(config.model_dir):
        previous = None
        if (config.model_dir / META_FILE).exists():
            previous = TopicModel.load(config.model_dir, embedder, labels, check_encoder=False)
        model = TopicModel.fit(texts, embeddings, config, embedder, analyzer, previous, labels)
        model.save(config.model_dir)
        loaded = TopicModel.load(config.model_dir, embedder, labels)
    assigned = loaded.assign(texts, embeddings)
    statuses = Counter(str(row["status"]) for row in loaded.table())
    report = RefitReport(
        version=loaded.version, previous_version=loaded.meta.previous_version, sentences=len(texts),
        topics=sum(1 for t in loaded.meta.ids if t != OUTLIER), statuses=dict(statuses),
        outliers_before=model.meta.outliers_before or 0.0, outliers_after=model.meta.outliers_after or 0.0,
        outliers_assigned=share(assigned),
        agreement=agreement(model.fitted, assigned),
    )
    return loaded, assigned, report
