"""Pain categories and touchpoints for negative sentences.

Two signals from the taxonomy file, combined: the sentence's embedding against each entry's prototype
(mean embedding of its description and example phrases), and keywords looked up in the spacing-free
sentence. Encoders compress cosine similarities into a narrow band, so the decision is relative and
keywords come first: when keywords of some categories match, those categories compete (similarity plus
keyword bonus ranks them; the best and those close behind it are kept), because short colloquial
complaints often embed ambiguously while naming the thing that hurts ("택배 아직도 안옴"). Only when no
keyword matches does similarity alone name a category, the single closest one and only if it is close
enough on its own; otherwise `other`. (Letting similarity add categories next to matched keywords
mostly added wrong ones on the hand-labelled review sentences of models/evaluate_tagging.py.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.config import TaggingConfig, Taxonomy, TaxonomyEntry
from pipeline.document import Document, Sentence
from pipeline.embedding import Embedder

OTHER = "other"

# Channels whose every complaint already sits in one touchpoint unless the text says otherwise.
CHANNEL_TOUCHPOINT_PRIOR = {"chat": "support"}
CHANNEL_PRIOR_BONUS = 0.02


def keyword_hits(entry: TaxonomyEntry, compact_text: str) -> int:
    return sum(1 for keyword in entry.keywords if keyword in compact_text)


def prototypes(entries: dict[str, TaxonomyEntry], embedder: Embedder) -> tuple[list[str], np.ndarray]:
    """One unit vector per entry with a description or examples."""
    keys = [key for key, entry in entries.items() if entry.description or entry.examples]
    vectors = []
    for key in keys:
        entry = entries[key]
        phrases = [entry.description, *entry.examples] if entry.description else entry.examples
        mean = embedder.embed(phrases).mean(axis=0)
        vectors.append(mean / np.linalg.norm(mean))
    return keys, np.vstack(vectors)


class PainTagger:
    """Pipeline component: tags the pain sentences of each document in place."""

    name = "tag"

    def __init__(self, taxonomy: Taxonomy, embedder: Embedder, config: TaggingConfig):
        self.taxonomy = taxonomy
        self.config = config
        self.embedder = embedder
        self.category_keys, self.category_vectors = prototypes(
            {k: v for k, v in taxonomy.categories.items() if k != OTHER}, embedder
        )
        self.touchpoint_keys, self.touchpoint_vectors = prototypes(taxonomy.touchpoints, embedder)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc in docs:
            for sentence in doc.pain_sentences:
                if sentence.embedding is None:
                    raise ValueError("PainTagger needs sentence embeddings: run the embed component first")
                self.tag_sentence(sentence, doc.item.kind)
        return docs

    def tag_sentence(self, sentence: Sentence, channel_kind: str) -> None:
        assert sentence.embedding is not None
        similarities = self.category_vectors @ sentence.embedding
        matched, similar = [], []
        for key, similarity in zip(self.category_keys, similarities, strict=True):
            hits = keyword_hits(self.taxonomy.categories[key], sentence.compact)
            score = float(similarity) + self.config.keyword_bonus * min(hits, 2)
            sentence.category_scores[key] = round(score, 4)
            if hits:
                matched.append((score, key))
            elif similarity >= self.config.min_similarity:
                similar.append((score, key))
        scored = sorted(matched or sorted(similar, reverse=True)[:1], reverse=True)
        chosen = [key for score, key in scored if score >= scored[0][0] - self.config.margin]
        sentence.categories = chosen[: self.config.max_categories] or [OTHER]
        sentence.touchpoint = self.touchpoint_for(sentence, channel_kind)

    def touchpoint_for(self, sentence: Sentence, channel_kind: str) -> str:
        assert sentence.embedding is not None
        similarities = self.touchpoint_vectors @ sentence.embedding
        prior = CHANNEL_TOUCHPOINT_PRIOR.get(channel_kind)
        best_key, best_score = self.touchpoint_keys[0], -np.inf
        for key, similarity in zip(self.touchpoint_keys, similarities, strict=True):
            hits = keyword_hits(self.taxonomy.touchpoints[key], sentence.compact)
            score = float(similarity) + self.config.keyword_bonus * min(hits, 2)
            if key == prior:
                score += CHANNEL_PRIOR_BONUS
            if score > best_score:
                best_key, best_score = key, score
        return best_key
