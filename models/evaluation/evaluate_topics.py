"""Evaluate sori's topic model against scikit-learn LDA, and how well topic ids survive a refit.

    python -m models.evaluation.evaluate_topics [--limit N] [--seed S] [--json PATH]

Corpus: negative (1–2★) Play-store app reviews from `$SORI_SHARED_DATA/app_reviews_playstore` (default
`<repo>/../shared/data`), reviews taken in the order of a hash of their id (so the sample never depends
on file order), split into sentences with Kiwi; sentences with fewer than two Kiwi keywords carry no
topic and are skipped. The sentences are ordered by review date; the model is fitted on the first N
(`--limit`, default 2500), the refit on the N that start 20% later.

Figures, for sori and for LDA with the same number of topics on the same tokens (sori's topic
vectorizer: unigram Kiwi keywords less bare negations, in at least two sentences), fitted in the same
run:

* NPMI coherence of each topic's top 10 words, with document co-occurrence over the same sentences:
  NPMI(a, b) = log((P(a, b) + ε) / (P(a) P(b))) / −log(P(a, b) + ε), ε = 1e-12 (so a pair that never
  co-occurs scores about −1 instead of −∞), averaged over word pairs and then over topics (−1 left out);
* topic diversity: unique words among all topics' top 25 / words listed.

sori's own figures: the outlier share after HDBSCAN and after reducing outliers, and the agreement
between the fit-time assignments and those of the saved-and-loaded model. The refit is matched to the
first model; on the overlap a first-model topic continues when it and a refit topic are each other's
main counterpart (by sentences), and its id is kept when that refit topic has the same sori id.
Goals: NPMI above LDA's, diversity ≥ 0.8, ≥ 90% of ids kept.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csc_matrix
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.feature_extraction.text import CountVectorizer

from models.embedder import Embedder
from models.training.shared_data import require
from pipeline.config import ModelsConfig, TopicsConfig
from pipeline.text.korean import KoreanAnalyzer
from pipeline.text.normalize import normalize_text
from pipeline.topics.model import (
    KEYWORDS,
    OUTLIER,
    TOP_WORDS,
    TopicModel,
    agreement,
    share,
    topic_vectorizer,
)

log = logging.getLogger("evaluate_topics")
REVIEWS = Path("app_reviews_playstore") / "reviews.tsv.gz"
EPSILON = 1e-12
SHIFT = 0.2
DEFAULT_LIMIT = 2500
MIN_KEYWORDS = 2
GOALS = {"diversity": 0.8, "kept": 0.9}


def reviews_path() -> Path:
    return require([REVIEWS], "app reviews") / REVIEWS


@dataclass(frozen=True)
class Sentence:
    date: str
    review_id: str
    index: int
    text: str


def load_sentences(count: int, analyzer: KoreanAnalyzer, path: Path | None = None) -> list[Sentence]:
    """`count` sentences of negative reviews, deterministic, in date order."""
    with gzip.open(path or reviews_path(), "rt", encoding="utf-8", newline="") as fh:
        reviews = [row for row in csv.DictReader(fh, delimiter="\t")
                   if row["rating"] in ("1", "2") and (row["text"] or "").strip()]
    reviews.sort(key=lambda row: hashlib.blake2b(row["review_id"].encode(), digest_size=8).digest())
    sentences: list[Sentence] = []
    for offset in range(0, len(reviews), 500):
        batch = reviews[offset : offset + 500]
        split = analyzer.sentences([normalize_text(row["text"]) for row in batch])
        for row, parts in zip(batch, split, strict=True):
            sentences += [Sentence(row["date"], row["review_id"], s.index, s.text)
                          for s in parts if len(s.keywords) >= MIN_KEYWORDS]
        if len(sentences) >= count:
            break
    return sorted(sentences[:count], key=lambda s: (s.date, s.review_id, s.index))


def npmi(topics: Sequence[Sequence[str]], documents: csc_matrix, vocabulary: dict[str, int],
         top: int = 10) -> float:
    """Mean NPMI of each topic's top words over binary document co-occurrence (see the module doc)."""
    n = documents.shape[0]
    scores = []
    for words in topics:
        columns = [vocabulary[w] for w in words[:top] if w in vocabulary]
        if len(columns) < 2:
            continue
        sub = documents[:, columns].astype(np.float64)
        joint = (sub.T @ sub).toarray() / n
        single = np.diag(joint)
        pairs = np.triu_indices(len(columns), 1)
        p_ab = joint[pairs]
        pmi = np.log((p_ab + EPSILON) / (single[pairs[0]] * single[pairs[1]]))
        scores.append(float(np.mean(pmi / -np.log(p_ab + EPSILON))))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topics: Sequence[Sequence[str]], top: int = TOP_WORDS) -> float:
    """Unique words among all topics' top words / words listed (1.0: no topic repeats another's)."""
    listed = [w for words in topics for w in words[:top]]
    return len(set(listed)) / len(listed) if listed else float("nan")


def lda_topics(texts: Sequence[str], vectorizer: CountVectorizer, topics: int, seed: int) -> list[list[str]]:
    """scikit-learn LDA on the same Kiwi tokens; each topic's words by weight."""
    counts = vectorizer.transform(texts)
    lda = LatentDirichletAllocation(n_components=topics, learning_method="batch", max_iter=50,
                                    random_state=seed).fit(counts)
    words = vectorizer.get_feature_names_out()
    return [[str(words[i]) for i in np.argsort(-row)[:TOP_WORDS]] for row in lda.components_]


def kept_ids(first: Sequence[int], refit: Sequence[int]) -> tuple[int, int]:
    """(first-model topics that continue in the refit, of those how many kept their id).

    A topic continues when it and a refit topic are each other's main counterpart on the overlap
    sentences (most of its sentences go there, most of that topic's sentences come from it): there
    the id should carry over. Merges and splits, where only one side can keep an id, are left out."""
    pairs = Counter(zip(first, refit, strict=True))

    def counterpart(side: int) -> dict[int, int]:
        best: dict[int, tuple[int, int]] = {}
        for pair, count in sorted(pairs.items()):
            key, other = pair[side], pair[1 - side]
            if count > best.get(key, (0, OUTLIER))[0]:
                best[key] = (count, other)
        return {key: other for key, (_, other) in best.items()}

    forward, backward = counterpart(0), counterpart(1)
    continuing = [t for t, s in forward.items() if OUTLIER not in (t, s) and backward.get(s) == t]
    return len(continuing), sum(forward[t] == t for t in continuing)


def saved_and_loaded(model: TopicModel, embedder: Embedder, texts: Sequence[str],
                     embeddings: np.ndarray) -> tuple[TopicModel, list[int]]:
    """The model as the nightly run sees it, and its assignments of the given sentences."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "model")
        loaded = TopicModel.load(Path(tmp) / "model", embedder)
    return loaded, loaded.assign(texts, embeddings)


def evaluate(limit: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    analyzer = KoreanAnalyzer()
    shift = round(SHIFT * limit)
    sentences = load_sentences(limit + shift, analyzer)
    if len(sentences) < limit + shift:
        raise ValueError(f"only {len(sentences)} sentences; --limit {limit} needs {limit + shift}")
    texts = [s.text for s in sentences]
    embedder = Embedder(ModelsConfig().encoder)
    embeddings = embedder.embed(analyzer.model_texts(texts))  # as the nightly run embeds them
    log.info("%d sentences embedded in %.0f s", len(texts), time.perf_counter() - started)
    config = TopicsConfig(seed=seed, labels=None)

    first_texts, first_embeddings = texts[:limit], embeddings[:limit]
    first = TopicModel.fit(first_texts, first_embeddings, config, embedder, analyzer)
    first_loaded, first_assigned = saved_and_loaded(first, embedder, first_texts, first_embeddings)
    internal = [t for t in first.internal_ids() if t != OUTLIER]
    sori_topics = [first.words(t) for t in internal]

    vectorizer = topic_vectorizer(analyzer)
    documents = csc_matrix((vectorizer.fit_transform(first_texts) > 0).astype(np.int8))
    vocabulary = vectorizer.vocabulary_
    lda = lda_topics(first_texts, vectorizer, len(internal), seed)

    refit_texts, refit_embeddings = texts[shift : shift + limit], embeddings[shift : shift + limit]
    refit = TopicModel.fit(refit_texts, refit_embeddings, config, embedder, analyzer, previous=first_loaded)
    _, refit_assigned = saved_and_loaded(refit, embedder, refit_texts, refit_embeddings)
    overlap_first, overlap_refit = first_assigned[shift:], refit_assigned[: limit - shift]
    successors, kept = kept_ids(overlap_first, overlap_refit)
    statuses = Counter(line.status for line in refit.meta.lineage.values())
    return {
        "sentences": limit, "refit_shift": shift, "topics": len(internal), "seed": seed,
        "sori": {"npmi": npmi(sori_topics, documents, vocabulary),
                 "diversity": diversity(sori_topics)},
        "lda": {"npmi": npmi(lda, documents, vocabulary), "diversity": diversity(lda)},
        "outliers_before": first.meta.outliers_before, "outliers_after": first.meta.outliers_after,
        "outliers_assigned": share(first_assigned),
        "save_load_agreement": agreement(first.fitted, first_assigned),
        "refit": {"topics": sum(1 for t in refit.meta.ids if t != OUTLIER), "statuses": dict(statuses),
                  "successors": successors, "kept": kept,
                  "kept_share": kept / successors if successors else float("nan"),
                  "same_id_sentences": agreement(overlap_first, overlap_refit)},
        "examples": {first.meta.ids[t]: first.words(t)[:KEYWORDS] for t in internal[:5]},
        "seconds": round(time.perf_counter() - started),
    }


def report(result: dict[str, Any]) -> str:
    sori, lda, refit = result["sori"], result["lda"], result["refit"]

    def goal(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    lines = [
        f"corpus: {result['sentences']} negative app-review sentences, {result['topics']} sori topics "
        f"(seed {result['seed']})",
        f"{'':24}{'sori':>8}{'LDA':>8}",
        f"{'NPMI (top 10)':24}{sori['npmi']:8.3f}{lda['npmi']:8.3f}   {goal(sori['npmi'] > lda['npmi'])}",
        f"{'diversity (top 25)':24}{sori['diversity']:8.3f}{lda['diversity']:8.3f}   "
        f"{goal(sori['diversity'] >= GOALS['diversity'])}",
        f"outliers: {result['outliers_before']:.1%} after HDBSCAN, {result['outliers_after']:.1%} after "
        f"reduce_outliers, {result['outliers_assigned']:.1%} as the saved model assigns",
        f"save/load agreement: {result['save_load_agreement']:.1%} of sentences",
        f"refit on a window shifted by {result['refit_shift']} sentences: {refit['topics']} topics, "
        + ", ".join(f"{n} {s}" for s, n in sorted(refit["statuses"].items())),
        f"ids kept: {refit['kept']} of {refit['successors']} topics that continue "
        f"({refit['kept_share']:.1%})   {goal(refit['kept_share'] >= GOALS['kept'])}; overlap sentences "
        f"with the same id in both models: {refit['same_id_sentences']:.1%}",
        "examples: " + " | ".join(f"{t}: {' '.join(w[:5])}" for t, w in result["examples"].items()),
        f"{result['seconds']} s",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="sentences per window")
    parser.add_argument("--seed", type=int, default=TopicsConfig().seed)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = evaluate(args.limit, args.seed)
    except FileNotFoundError as exc:
        print(f"evaluate_topics: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
