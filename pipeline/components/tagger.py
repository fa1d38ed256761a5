"""Pain categories and touchpoints for pain sentences.

Categories combine a head (one logistic regression per category over sentence embeddings, fitted on
`data/tagging/phrases.csv` plus the taxonomy's own examples, so an analyst's examples change what it
learns without a training step; with a VOC model, blended with the model's own category head by
`tagging.model_weight`) with the taxonomy's keywords. Keywords come first: when some match,
those categories compete (head probability plus keyword bonus; the best and those within `margin` are
kept); only when none matches does the head alone name the single likeliest category above
`min_probability`, else `other`. A pain sentence that names nothing takes the tags of the nearest named
pain sentence within `inherit_distance`, unless it is a verdict on the whole (the `other` keywords),
which stays `other`. A sentence that also denies a problem is tagged by what it says besides.
Touchpoints: similarity to each touchpoint's prototype plus keyword and prior bonuses (and the VOC
model's P(touchpoint) × `tagging.touchpoint_model_weight`), the primary
category's usual touchpoint among the priors (the labelling guide: "when two fit, take the one of the
primary category"). Why: docs/decisions/0005-category-phrases-not-review-sentences.md; figures:
docs/evaluation.md#tagging.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.linear_model import LogisticRegression

from models.embedder import Embedder
from pipeline.config import SoriConfig, TaggingConfig, Taxonomy, TaxonomyEntry
from pipeline.document import Document, Sentence
from pipeline.resources import Arrays, Resources
from pipeline.text.korean import contains_word

log = logging.getLogger(__name__)

OTHER = "other"
PHRASE_COLUMNS = ("text", "categories", "touchpoint")

# Channels whose every complaint already sits in one touchpoint unless the text says otherwise.
CHANNEL_TOUCHPOINT_PRIOR = {"chat": "support"}
CHANNEL_PRIOR_BONUS = 0.02


def keyword_hits(entry: TaxonomyEntry, sentence: Sentence) -> int:
    return sum(1 for keyword in entry.keywords if contains_word(sentence, keyword))


def prototypes(entries: dict[str, TaxonomyEntry], embedder: Embedder) -> Arrays:
    """One unit vector per entry with a description or examples: `keys` and their `vectors`."""
    keys = [key for key, entry in entries.items() if entry.description or entry.examples]
    vectors = []
    for key in keys:
        entry = entries[key]
        phrases = [entry.description, *entry.examples] if entry.description else entry.examples
        mean = embedder.embed(phrases).mean(axis=0)
        vectors.append(mean / np.linalg.norm(mean))
    return {"keys": np.array(keys, dtype=str), "vectors": np.vstack(vectors)}


@dataclass(frozen=True)
class LabelledPhrase:
    text: str
    categories: tuple[str, ...]


def read_phrases(path: Path, taxonomy: Taxonomy) -> list[LabelledPhrase]:
    """The phrase file's rows, labelled with the taxonomy's categories.

    A row without a text or a category is an error. Keys the taxonomy lacks are logged and dropped
    from the labels, the row kept as a counter-example for the other categories: the taxonomy is where
    an analyst removes a category, and its phrases then teach the head what the remaining ones are not.
    """
    return list(_parsed_phrases(path, path.read_text(encoding="utf-8"), frozenset(taxonomy.categories),
                                frozenset(taxonomy.touchpoints)))


@functools.lru_cache(maxsize=8)
def _parsed_phrases(path: Path, content: str, categories: frozenset[str],
                    touchpoints: frozenset[str]) -> tuple[LabelledPhrase, ...]:
    """Parsed once per content and taxonomy: the tagger and the complaint head both read the file,
    and an unknown label is logged once, not once per reader."""
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if tuple(reader.fieldnames or ()) != PHRASE_COLUMNS:
        raise ValueError(f"{path}: columns must be {','.join(PHRASE_COLUMNS)}")
    phrases, unknown = [], Counter[str]()
    for line, row in enumerate(reader, start=2):
        labels = [k for k in (row["categories"] or "").split(";") if k]
        if not (row["text"] or "").strip() or not labels:
            raise ValueError(f"{path}:{line}: a phrase needs a text and at least one category: {row}")
        unknown.update(k for k in labels if k not in categories)
        if row["touchpoint"] not in touchpoints:
            unknown[f"touchpoint {row['touchpoint']}"] += 1
        phrases.append(LabelledPhrase(row["text"].strip(), tuple(k for k in labels if k in categories)))
    if unknown:
        log.warning("%s: labels not in the taxonomy, ignored: %s", path, dict(unknown))
    return tuple(phrases)


def configured_phrases(taxonomy: Taxonomy, path: Path | None) -> list[LabelledPhrase]:
    """The phrase file's rows when one is configured (`tagging.phrases`), else none."""
    if path and not path.is_file():
        raise FileNotFoundError(f"tagging.phrases: {path} is not a file (null trains on the taxonomy's "
                                "examples alone)")
    return read_phrases(path, taxonomy) if path else []


def training_phrases(taxonomy: Taxonomy, path: Path | None) -> list[LabelledPhrase]:
    """The phrase file (when configured) and every category's taxonomy examples."""
    examples = [LabelledPhrase(text, (key,)) for key, entry in taxonomy.categories.items()
                for text in entry.examples]
    return configured_phrases(taxonomy, path) + examples


def phrases_digest(path: Path | None) -> str:
    """A short hash of the phrase file: rows record what the head learned from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8] if path else "none"


class CategoryHead:
    """One-vs-rest logistic regressions on sentence embeddings: P(category | sentence) per key.

    A category without phrases gets no model and probability 0, so it is found by keywords only.
    lbfgs on a fixed set is deterministic: the same phrases give the same head. The fitted
    coefficients are stacked into one matrix, so scoring a sentence is one product, not a
    `predict_proba` call per category; those arrays are the head (`arrays`), so one stored in the
    head cache scores exactly as the one just fitted.
    """

    def __init__(self, arrays: Arrays):
        self.keys: list[str] = arrays["keys"].tolist()
        self.weights = arrays["weights"]
        self.bias = arrays["bias"]

    @classmethod
    def fit(cls, keys: Sequence[str], phrases: Sequence[LabelledPhrase], embedder: Embedder,
            c: float) -> CategoryHead:
        vectors = embedder.embed([p.text for p in phrases])
        weights = np.zeros((len(keys), vectors.shape[1]))
        bias = np.full(len(keys), -np.inf)  # no model: probability 0
        for row, key in enumerate(keys):
            target = np.array([key in p.categories for p in phrases])
            if target.any() and not target.all():
                model = LogisticRegression(C=c, max_iter=2000).fit(vectors, target)
                weights[row], bias[row] = model.coef_[0], model.intercept_[0]
        return cls({"keys": np.array(keys, dtype=str), "weights": weights, "bias": bias})

    def arrays(self) -> Arrays:
        return {"keys": np.array(self.keys, dtype=str), "weights": self.weights, "bias": self.bias}

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.weights @ embedding + self.bias)))


class PainTagger:
    """Tags the pain sentences of each document in place: categories with their scores, and one
    touchpoint. The category head and touchpoint prototypes come from the Resources' head cache."""

    name: ClassVar[str] = "tag"
    requires: ClassVar[tuple[str, ...]] = ("sentence.is_pain", "sentence.embedding")
    assigns: ClassVar[tuple[str, ...]] = ("sentence.categories", "sentence.touchpoint")
    corpus_level: ClassVar[bool] = False

    def __init__(self, taxonomy: Taxonomy, config: TaggingConfig, resources: Resources):
        self.taxonomy = taxonomy
        self.config = config
        self.resources = resources
        self.category_keys = [key for key in taxonomy.categories if key != OTHER]
        phrases = tuple(training_phrases(taxonomy, config.phrases))
        self.head = resources.fitted(
            ("category-head", self.category_keys, phrases, config.head_c),
            lambda: CategoryHead.fit(self.category_keys, phrases, resources.embedder, config.head_c).arrays(),
            CategoryHead)
        touchpoints = taxonomy.touchpoints
        self.touchpoint_keys, self.touchpoint_vectors = resources.fitted(
            ("touchpoint-prototypes", touchpoints), lambda: prototypes(touchpoints, resources.embedder),
            lambda arrays: (arrays["keys"].tolist(), arrays["vectors"]))

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> PainTagger:
        return cls(config.load_taxonomy(), config.tagging, resources)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        said = self.said_besides_denials([s for doc in docs for s in doc.pain_sentences if s.undenied])
        for doc in docs:
            pains = doc.pain_sentences
            named = [self.tag_sentence(s, doc.item.kind, said.get(id(s))) for s in pains]
            sources = [s for s, ok in zip(pains, named, strict=True) if ok]
            for sentence, ok in zip(pains, named, strict=True):
                if not ok and not self.is_verdict(sentence):
                    self.inherit_from_neighbour(sentence, sources)
        return docs

    def inherit_from_neighbour(self, sentence: Sentence, named: Sequence[Sentence]) -> None:
        """A pain sentence that names nothing ("빨리 고쳐 주세요") takes the tags of the nearest named
        pain sentence within `inherit_distance`, the previous one on a tie: the labelling guide reads
        it by what it refers to."""
        near = [s for s in named if 0 < abs(s.index - sentence.index) <= self.config.inherit_distance]
        if near:
            source = min(near, key=lambda s: (abs(s.index - sentence.index), s.index > sentence.index))
            sentence.categories = list(source.categories)
            sentence.touchpoint = source.touchpoint

    def is_verdict(self, sentence: Sentence) -> bool:
        """It passes judgement on the whole ("최악의 여행", "다시는 안 가요"): when nothing in it names a
        category, the labelling guide's general dissatisfaction, `other`, not what its neighbours say."""
        return keyword_hits(self.taxonomy.categories[OTHER], sentence) > 0

    def said_besides_denials(self, sentences: Sequence[Sentence]) -> dict[int, Sentence]:
        """Per pain sentence that denies a problem (by id), what it says besides as a sentence of its own,
        embedded: "광고 없어서 좋은데 결제가 자꾸 실패해요" names payment, not ads, and "배송 지연 없이
        왔는데 포장이 엉망이에요" packaging, not delivery. A remainder Kiwi splits in two is left out (the
        whole sentence is read)."""
        analyzed = self.resources.analyzer.sentences([s.undenied for s in sentences])
        single = [(s, parts[0]) for s, parts in zip(sentences, analyzed, strict=True) if len(parts) == 1]
        self.resources.embed_sentences([clause for _, clause in single])
        return {id(s): clause for s, clause in single}

    def category_probabilities(self, sentence: Sentence) -> np.ndarray:
        """P(category) per key of `category_keys`: the example-fitted head's, blended with the VOC
        model's category head (`model_weight`) for the categories the model was trained on."""
        assert sentence.embedding is not None
        probabilities = self.head.probabilities(sentence.embedding)
        model = sentence.heads.categories if sentence.heads is not None else {}
        weight = self.config.model_weight
        return np.array([(1 - weight) * p + weight * model[key] if key in model else p
                         for key, p in zip(self.category_keys, probabilities, strict=True)])

    def tag_sentence(self, sentence: Sentence, channel_kind: str, said: Sentence | None = None) -> bool:
        """Tags the sentence by what it says (`said`: besides the problems it denies, else all of it);
        False when nothing in it names a category (it is `other` for now)."""
        read = said or sentence
        probabilities = self.category_probabilities(read)
        matched, likely = [], []
        for key, probability in zip(self.category_keys, probabilities, strict=True):
            hits = keyword_hits(self.taxonomy.categories[key], read)
            score = float(probability) + self.config.keyword_bonus * min(hits, 2)
            sentence.category_scores[key] = round(score, 4)
            if hits:
                matched.append((score, key))
            elif probability >= self.config.min_probability:
                likely.append((score, key))
        scored = sorted(matched or sorted(likely, reverse=True)[:1], reverse=True)
        chosen = [key for score, key in scored if score >= scored[0][0] - self.config.margin]
        sentence.categories = chosen[: self.config.max_categories] or [OTHER]
        sentence.touchpoint = self.touchpoint_for(read, sentence.categories[0], channel_kind)
        return bool(chosen)

    def touchpoint_for(self, sentence: Sentence, primary_category: str, channel_kind: str) -> str:
        assert sentence.embedding is not None
        similarities = self.touchpoint_vectors @ sentence.embedding
        model = sentence.heads.touchpoints if sentence.heads is not None else {}
        prior = CHANNEL_TOUCHPOINT_PRIOR.get(channel_kind)
        primary = self.taxonomy.categories.get(primary_category)
        usual = primary.touchpoint if primary else None
        best_key, best_score = self.touchpoint_keys[0], -np.inf
        for key, similarity in zip(self.touchpoint_keys, similarities, strict=True):
            hits = keyword_hits(self.taxonomy.touchpoints[key], sentence)
            score = (float(similarity) + self.config.touchpoint_keyword_bonus * min(hits, 2)
                     + self.config.touchpoint_model_weight * model.get(key, 0.0))
            if key == prior:
                score += CHANNEL_PRIOR_BONUS
            if key == usual:
                score += self.config.category_touchpoint_bonus
            if score > best_score:
                best_key, best_score = key, score
        return best_key
