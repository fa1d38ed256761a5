"""Which sentences are pain points: a complaint head over the sentence's embedding and sentiment.

The head (`ComplaintHead`) is a logistic regression over the embedding, the sentiment logits, a
complaint cue from the taxonomy and the neighbour margin, fitted on written complaint phrases and
`data/tagging/pain_examples.csv` (labelled by docs/labelling-guide.md); with `pain.examples: null` a
rule on sentiment and cues decides. A sentence must say something and not only deny a problem to be
a pain point; one that denies a problem and says more is judged by the rest, one that praises and then
complains by its tail too, and the customer's own verdict (stars, or the score a survey answer
explains) shifts its log-odds. Why: docs/decisions/0004-complaint-head.md; figures:
docs/evaluation.md#pain-detection.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from pipeline.components.tagger import configured_phrases
from pipeline.config import ComplaintCues, SentimentConfig, SoriConfig
from pipeline.document import Document, FeedbackItem, Sentence
from pipeline.resources import Arrays, Resources
from pipeline.text.korean import NEGATIONS, contains_word, has_content

_HANGUL_RUN = re.compile("[가-힣]+")
EXAMPLE_COLUMNS = ("text", "has_pain", "kind")

# Texts → their sentences as the pipeline scores them (sentiment and embeddings set).
TextScorer = Callable[[Sequence[str]], list[list[Sentence]]]


def complaint_cue(sentence: Sentence, cues: ComplaintCues) -> str | None:
    """The first cue in the sentence (a keyword or a phrase), or None."""
    negated = cues.negations and len(_HANGUL_RUN.findall(sentence.text)) >= 2
    for word in sentence.keywords:
        if word in cues.words or (negated and word in NEGATIONS):
            return word
    return next((phrase for phrase in cues.phrases if contains_word(sentence, phrase)), None)


@dataclass(frozen=True)
class PainExample:
    text: str
    has_pain: bool
    kind: str = ""  # the file's own grouping (praise, question, sarcasm, …); the head does not read it


def read_pain_examples(path: Path) -> list[PainExample]:
    """The example file's rows; a row without a text or with has_pain other than 0/1 is an error."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != EXAMPLE_COLUMNS:
            raise ValueError(f"{path}: columns must be {','.join(EXAMPLE_COLUMNS)}")
        examples = []
        for line, row in enumerate(reader, start=2):
            if not (row["text"] or "").strip() or row["has_pain"] not in ("0", "1"):
                raise ValueError(f"{path}:{line}: an example needs a text and has_pain 0 or 1: {row}")
            examples.append(PainExample(row["text"].strip(), row["has_pain"] == "1", row["kind"] or ""))
    return examples


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def base_features(sentences: Sequence[Sentence], cues: ComplaintCues, sentiment: bool = True) -> np.ndarray:
    """Per sentence: its embedding, logit P(negative) and logit P(positive) (with `sentiment`), and
    whether it has a cue."""
    if any(s.embedding is None for s in sentences):
        raise ValueError("the complaint head needs sentence embeddings: run the embed component first")
    scores = np.array([[s.p_negative, s.p_positive] for s in sentences]).reshape(-1, 2)
    cue = np.array([[complaint_cue(s, cues) is not None] for s in sentences], dtype=float).reshape(-1, 1)
    columns = [np.vstack([s.embedding for s in sentences]), *([_logit(scores)] if sentiment else []), cue]
    return np.hstack(columns)


def speaks_of_a_problem(sentence: Sentence) -> bool:
    """Whether the sentence can be a pain point at all: it says something, and not only that nothing
    is wrong ("특별히 없습니다", "불만 없어요")."""
    return has_content(sentence) and not sentence.denies_problem


def mean_top_k(similarities: np.ndarray, k: int) -> np.ndarray:
    """Per row, the mean of its k largest values (all of them when a row has fewer)."""
    k = min(k, similarities.shape[1])
    return np.partition(similarities, -k, axis=1)[:, -k:].mean(axis=1)


def with_margin(base: np.ndarray, similarities: np.ndarray, targets: np.ndarray,
                neighbours: int) -> np.ndarray:
    """The base features and the neighbour margin (`ComplaintHead`) from each row's similarities to
    the examples, whose labels are `targets`."""
    margin = (mean_top_k(similarities[:, targets], neighbours)
              - mean_top_k(similarities[:, ~targets], neighbours))
    return np.hstack([base, ComplaintHead.MARGIN_SCALE * margin[:, None]])


class ComplaintHead:
    """P(complaint | sentence). Besides the base features, the neighbour margin: how much closer the
    sentence lies to its nearest complaint examples than to its nearest other examples. A linear model
    over embeddings draws one boundary; complaints come in many small clusters (a broken app, a rude
    clerk, a wish for a feature), which the nearest examples see. When fitting, a sentence is not its
    own neighbour. lbfgs on a fixed set is deterministic: the same examples, models and cues give the
    same head.

    A head is its arrays (`arrays`): the examples' embeddings and labels and the logistic regression's
    coefficients, so one stored in the head cache scores exactly as the one just fitted."""

    MARGIN_SCALE = 10.0  # cosine differences are small; scaled to the other features' range
    CHUNK = 2048

    def __init__(self, arrays: Arrays, cues: ComplaintCues, neighbours: int):
        self.cues = cues
        self.neighbours = neighbours
        self.examples = arrays["examples"]
        # Its features: the embedding, the two sentiment logits (or none), the cue and the margin.
        self.sentiment = arrays["coef"].shape[-1] == self.examples.shape[1] + 4
        self.targets = arrays["targets"]
        self.coef = arrays["coef"]
        self.intercept = arrays["intercept"]
        # Scored in float64: a float32 product's last bits follow the BLAS kernel and thread count, so a
        # Dask worker and the flow's own threads would store different probabilities for one sentence.
        self.examples_float64 = self.examples.astype(np.float64)

    @classmethod
    def fit(cls, sentences: Sequence[Sentence], targets: Sequence[bool], cues: ComplaintCues, c: float,
            neighbours: int, sentiment: bool = True) -> ComplaintHead:
        base = base_features(sentences, cues, sentiment)
        examples = base[:, : len(sentences[0].embedding)].astype(np.float32)
        labels = np.asarray(targets, dtype=bool)
        similarities = examples @ examples.T
        np.fill_diagonal(similarities, -1.0)  # the least similar a unit vector can be
        features = with_margin(base, similarities, labels, neighbours)
        model = LogisticRegression(C=c, max_iter=3000).fit(features, labels)
        return cls({"examples": examples, "targets": labels, "coef": model.coef_,
                    "intercept": model.intercept_}, cues, neighbours)

    def arrays(self) -> Arrays:
        return {"examples": self.examples, "targets": self.targets, "coef": self.coef,
                "intercept": self.intercept}

    def probabilities(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """In chunks, so a backfill's similarity matrix stays a few MB per chunk. The logistic
        function of the linear score, as scikit-learn's `predict_proba` computes it."""
        if not sentences:
            return np.zeros(0)
        base = base_features(sentences, self.cues, self.sentiment)
        width = self.examples.shape[1]
        chunks = [with_margin(part, part[:, :width].astype(np.float64) @ self.examples_float64.T,
                              self.targets, self.neighbours)
                  for part in np.array_split(base, max(1, len(base) // self.CHUNK))]
        return expit(np.vstack(chunks) @ self.coef.T + self.intercept).ravel()


def fit_complaint_head(examples: Sequence[PainExample], resources: Resources, cues: ComplaintCues,
                       c: float, neighbours: int, sentiment: bool = True) -> ComplaintHead:
    """The head for these examples; every sentence of an example carries its label."""
    split = resources.score_texts([e.text for e in examples])
    sentences = [s for group in split for s in group]
    targets = [e.has_pain for e, group in zip(examples, split, strict=True) for _ in group]
    return ComplaintHead.fit(sentences, targets, cues, c, neighbours, sentiment)


class PainDetector:
    """Sets whether each sentence is a pain point and how sure the complaint head is of it."""

    name: ClassVar[str] = "pain"
    requires: ClassVar[tuple[str, ...]] = ("sentence.sentiment", "sentence.embedding")
    assigns: ClassVar[tuple[str, ...]] = ("sentence.is_pain", "sentence.pain_probability")
    corpus_level: ClassVar[bool] = False

    def __init__(self, cues: ComplaintCues, sentiment: SentimentConfig, head: ComplaintHead | None = None,
                 min_probability: float = 0.5, score_texts: TextScorer | None = None,
                 rating_weight: float = 0.0, score_reasons: Collection[tuple[str, str]] = (),
                 model_weight: float = 0.0):
        self.cues = cues
        self.model_weight = model_weight
        self.sentiment = sentiment
        self.head = head
        self.min_probability = min_probability
        self.score_texts = score_texts
        self.rating_weight = rating_weight
        self.score_reasons = frozenset(score_reasons)

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> PainDetector:
        """With `pain.examples`, a head fitted on them plus every text of the tagging phrase file
        (written complaint sentences, whatever their labels: a taxonomy edit re-tags pain points but
        must not change which sentences are pain points, so not the taxonomy's examples either).
        The answers that give the reason for an NPS score weigh the score (`verdict`)."""
        taxonomy = config.load_taxonomy()
        cues, pain = taxonomy.complaint_cues, config.pain
        score_reasons = {(s.name, s.score_reason) for s in config.sources if s.score_reason}
        if pain.examples is None:
            return cls(cues, config.sentiment, score_reasons=score_reasons)
        if not pain.examples.is_file():
            raise FileNotFoundError(f"pain.examples: {pain.examples} is not a file (null decides by "
                                    "sentiment and complaint cues alone)")
        complaints = [p.text for p in configured_phrases(taxonomy, config.tagging.phrases)]
        examples = tuple([PainExample(text, True) for text in complaints] + read_pain_examples(pain.examples))
        # With a VOC model its sentiment is no feature: the model was trained on these very examples, so
        # its outputs on them are surer than on anyone's reviews, and a head fitted on them leans on
        # them (docs/decisions/0012-one-pass-voc-model.md); the model's judgement enters by the blend.
        sentiment = not config.models.voc
        head = resources.fitted(
            ("complaint-head", examples, cues, pain.head_c, pain.neighbours, sentiment),
            lambda: fit_complaint_head(examples, resources, cues, pain.head_c, pain.neighbours,
                                       sentiment).arrays(),
            lambda arrays: ComplaintHead(arrays, cues, pain.neighbours))
        return cls(cues, config.sentiment, head, pain.min_probability, resources.score_texts,
                   pain.rating_weight, score_reasons, pain.model_weight)

    def rule(self, sentence: Sentence) -> bool:
        """Negative enough, or a complaint cue in a sentence the model does not find clearly positive."""
        if sentence.p_negative >= self.sentiment.negative_threshold:
            return True
        limit = self.sentiment.cue_max_positive
        if limit is None or sentence.p_positive >= limit:
            return False
        return complaint_cue(sentence, self.cues) is not None

    def is_pain(self, sentence: Sentence) -> bool:
        return self.detect([sentence])[0]

    def rating_log_odds(self, rating: float | None) -> float:
        """What a review's star rating (1–5) adds to the log-odds of each of its sentences.

        The customer's own verdict is evidence, but a sentence's own text still decides most cases, so
        praise in a 1★ review and a complaint in a 5★ one stay what they are."""
        return 0.0 if rating is None else self.rating_weight * (3.0 - rating) / 2.0

    def verdict(self, item: FeedbackItem) -> float | None:
        """The customer's own verdict in stars: a review's rating, or for the answer that gives the reason
        for an NPS score, that score mapped onto 1–5 (0 → 1★, 5 → 3★, 10 → 5★).

        "그럭저럭" or "가끔 이용해서 잘 모르겠어요" as the reason for a 9 is no complaint; as the reason
        for a 2 it may well be. The answer to "what should we improve" is left alone: it asks for
        criticism whatever the score."""
        if item.rating is not None:
            return item.rating
        if item.nps is not None and (item.source, item.part) in self.score_reasons:
            return 1.0 + 0.4 * item.nps
        return None

    def detect(self, sentences: Sequence[Sentence],
               ratings: Sequence[float | None] | None = None) -> list[bool]:
        """Pain or not per sentence; `ratings` are their items' verdicts in stars (`verdict`; the head
        only)."""
        return [pain for pain, _ in self.judge(sentences, ratings)]

    def judge(self, sentences: Sequence[Sentence],
              ratings: Sequence[float | None] | None = None) -> list[tuple[bool, float | None]]:
        """Per sentence, pain or not and P(pain point): the head's, with the rating's log-odds, of the
        whole sentence (or of what it says besides the problems it denies) or of its tail after a
        contrast, whichever is higher, so a sentence is a pain point exactly when it reaches
        `min_probability`. None where no head judged: a sentence that says nothing, and every sentence
        when the rule decides."""
        speaking = [speaks_of_a_problem(s) for s in sentences]
        candidates = [s for s, ok in zip(sentences, speaking, strict=True) if ok]
        if self.head is None:
            decided = iter([(self.rule(s), None) for s in candidates])
        else:
            rated = ratings if ratings is not None else [None] * len(sentences)
            prior = np.array([self.rating_log_odds(r) for r, ok in zip(rated, speaking, strict=True) if ok])
            threshold = _logit(np.array(self.min_probability))
            log_odds = _logit(self.probabilities(candidates)) + prior
            denying = [i for i, s in enumerate(candidates) if s.undenied]
            if denying:  # "오류 없이 | 잘 돌아가요" is judged by what it says besides the denial
                undenied = self.clause_probabilities([candidates[i].undenied for i in denying])
                log_odds[denying] = _logit(undenied) + prior[denying]
            undecided = np.flatnonzero(log_odds < threshold)  # only these need their tail scored
            tails = self.tail_probabilities([candidates[i] for i in undecided])
            log_odds[undecided] = np.maximum(log_odds[undecided], _logit(tails) + prior[undecided])
            pain, probabilities = log_odds >= threshold, 1.0 / (1.0 + np.exp(-log_odds))
            decided = zip(pain.tolist(), probabilities.tolist(), strict=True)
        return [next(decided) if ok else (False, None) for ok in speaking]

    def probabilities(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """P(complaint) per sentence: the complaint head's, and where a VOC model scored the sentence,
        its pain head's blended in by `model_weight` in log-odds. The complaint head reads the examples
        an analyst edits; the model's head read thousands of labelled sentences."""
        assert self.head is not None
        head = self.head.probabilities(sentences)
        scored = [i for i, s in enumerate(sentences) if s.heads is not None]
        if not self.model_weight or not scored:
            return head
        model = np.array([sentences[i].heads.pain for i in scored])  # type: ignore[union-attr]
        blended = head.copy()
        blended[scored] = expit((1 - self.model_weight) * _logit(head[scored])
                                + self.model_weight * _logit(model))
        return blended

    def tail_probabilities(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """P(complaint) of what each sentence says after its last contrastive ending, 0 without one.

        Praise and then a complaint in one sentence ("다 좋은데 글씨 좀 키워 주세요") is a pain point by
        the labelling guide, but its features average the two halves; the tail alone is plainly a
        complaint. A drawback before the contrast and praise after it ("조금 좁지만 깔끔해서 좋았어요")
        keeps the whole sentence's verdict.
        """
        out = np.zeros(len(sentences))
        with_tail = [i for i, s in enumerate(sentences) if s.contrast_tail]
        if with_tail:
            out[with_tail] = self.clause_probabilities([sentences[i].contrast_tail for i in with_tail])
        return out

    def clause_probabilities(self, clauses: Sequence[str]) -> np.ndarray:
        """P(complaint) of each part of a sentence read on its own: the highest of its sentences that
        speak of a problem, 0 when none does (or no head can read it)."""
        out = np.zeros(len(clauses))
        if self.head is None or self.score_texts is None:
            return out
        speaking = [[c for c in group if speaks_of_a_problem(c)] for group in self.score_texts(clauses)]
        scores = iter(self.probabilities([c for group in speaking for c in group]))
        for i, group in enumerate(speaking):
            out[i] = max((next(scores) for _ in group), default=0.0)
        return out

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        sentences = [s for doc in docs for s in doc.sentences]
        ratings = [self.verdict(doc.item) for doc in docs for _ in doc.sentences]
        for sentence, (pain, probability) in zip(sentences, self.judge(sentences, ratings), strict=True):
            sentence.is_pain, sentence.pain_probability = pain, probability
        return docs
