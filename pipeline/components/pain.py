"""Which sentences are pain points: a complaint head over the sentence's embedding and sentiment.

A classifier trained on opinionated reviews is a poor judge of complaints on its own. It scores plain
questions ("영상 통화하면 돈 드나요?") and slang praise ("여기야말로 지상낙원") negative, and
descriptive complaints ("앱이 안 열려요", "다 좋은데 글씨 좀 키워 주세요") neutral. The complaint head
is a logistic regression over the sentence embedding, the sentiment logits, a complaint cue (a
negated predicate, a complaint word, a request for a fix, from the taxonomy) and the neighbour margin
(see `ComplaintHead`). It is fitted when the pipeline is built, on sentences written for the project:
the complaint phrases of the category head plus `data/tagging/pain_examples.csv` (has_pain 0/1,
labelled by docs/labelling-guide.md). On the tune split of models/evaluation/evaluate_tagging.py has_pain
accuracy went from 0.80 (P(negative) ≥ 0.5 or a cue) to 0.85 with the head, and to 0.90 with the
neighbour margin. A review's star rating then shifts the log-odds of its sentences (0.909 → 0.920,
`PainDetector.rating_log_odds`). Polite praise ending in a period ("배송이 항상 빨라요.") reads as neutral
to the sentiment adapter and lies next to its complaining twin in the embedding; praise examples in that
style keep it out (tune split of 380 sentences: 0.905 → 0.910; test 0.866 → 0.868). With
`pain.examples: null` that rule decides instead.

Either way the sentence must say something: an emoji, "네...", "6번." or an order number tells how
someone feels or answers a question, not what hurts. It still counts in its document's sentiment, but
it is no evidence for a pain point. A negation is a cue only next to another word, what it negates
("답이 없어요"), so a survey's bare "없어요" (nothing to improve) is not one. Nor is a sentence that only
denies a problem ("개선할 점은 없습니다", "한 번도 실망한 적이 없어요", "나쁘진 않네요";
`korean.says_nothing_is_wrong`): the sentiment model reads it as negative and the head, which sees a
complaint word and a negation, flagged it. A sentence that denies a problem and says more ("광고가 없어서
좋아요", P 0.84 read whole) is judged by what it says besides (`Sentence.undenied`: "좋아요"), so praise
by denial is no pain point and a complaint beside a denial ("렉 없이 켜지다가 갑자기 꺼져요") still is.
Real reviews rarely praise so (test split has_pain 0.868 → 0.871, tune unchanged at 0.908, KOTE test
0.782 → 0.784); a customer trying sori on one such sentence sees it at once.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline.components.embedder import Embedder
from pipeline.components.sentiment import score_sentences
from pipeline.config import ComplaintCues, PainConfig, SentimentConfig
from pipeline.document import Document, FeedbackItem, Sentence
from pipeline.text.korean import NEGATIONS, KoreanAnalyzer, contains_word, has_content, shared_kiwi
from pipeline.text.normalize import normalize_text

_HANGUL_RUN = re.compile("[가-힣]+")
EXAMPLE_COLUMNS = ("text", "has_pain", "kind")
EMBEDDING = slice(None, -3)  # the columns of `base_features` before the two logits and the cue

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


def base_features(sentences: Sequence[Sentence], cues: ComplaintCues) -> np.ndarray:
    """Per sentence: its embedding, logit P(negative), logit P(positive) and whether it has a cue."""
    if any(s.embedding is None for s in sentences):
        raise ValueError("the complaint head needs sentence embeddings: run the embed component first")
    scores = np.array([[s.p_negative, s.p_positive] for s in sentences]).reshape(-1, 2)
    cue = np.array([[complaint_cue(s, cues) is not None] for s in sentences], dtype=float).reshape(-1, 1)
    return np.hstack([np.vstack([s.embedding for s in sentences]), _logit(scores), cue])


def speaks_of_a_problem(sentence: Sentence) -> bool:
    """Whether the sentence can be a pain point at all: it says something, and not only that nothing
    is wrong ("특별히 없습니다", "불만 없어요")."""
    return has_content(sentence) and not sentence.denies_problem


def mean_top_k(similarities: np.ndarray, k: int) -> np.ndarray:
    """Per row, the mean of its k largest values (all of them when a row has fewer)."""
    k = min(k, similarities.shape[1])
    return np.partition(similarities, -k, axis=1)[:, -k:].mean(axis=1)


class ComplaintHead:
    """P(complaint | sentence). Besides the base features, the neighbour margin: how much closer the
    sentence lies to its nearest complaint examples than to its nearest other examples. A linear model
    over embeddings draws one boundary; complaints come in many small clusters (a broken app, a rude
    clerk, a wish for a feature), which the nearest examples see (tune split, the same examples: AUC
    0.933 → 0.95). When fitting, a sentence is not its own neighbour. lbfgs on a fixed set is
    deterministic: the same examples, models and cues give the same head."""

    MARGIN_SCALE = 10.0  # cosine differences are small; scaled to the other features' range
    CHUNK = 2048

    def __init__(self, sentences: Sequence[Sentence], targets: Sequence[bool], cues: ComplaintCues, c: float,
                 neighbours: int):
        self.cues = cues
        self.neighbours = neighbours
        base = base_features(sentences, cues)
        self.examples = base[:, EMBEDDING].astype(np.float32)
        self.targets = np.asarray(targets, dtype=bool)
        similarities = self.examples @ self.examples.T
        np.fill_diagonal(similarities, -1.0)  # the least similar a unit vector can be
        self.model = LogisticRegression(C=c, max_iter=3000).fit(self.with_margin(base, similarities),
                                                                self.targets)

    def with_margin(self, base: np.ndarray, similarities: np.ndarray) -> np.ndarray:
        margin = (mean_top_k(similarities[:, self.targets], self.neighbours)
                  - mean_top_k(similarities[:, ~self.targets], self.neighbours))
        return np.hstack([base, self.MARGIN_SCALE * margin[:, None]])

    def probabilities(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """In chunks, so a backfill's similarity matrix stays a few MB per chunk."""
        if not sentences:
            return np.zeros(0)
        base = base_features(sentences, self.cues)
        chunks = [self.with_margin(part, part[:, EMBEDDING].astype(np.float32) @ self.examples.T)
                  for part in np.array_split(base, max(1, len(base) // self.CHUNK))]
        return self.model.predict_proba(np.vstack(chunks))[:, 1]


def scored_sentences(texts: Sequence[str], classifier: Any, embedder: Embedder) -> list[list[Sentence]]:
    """Texts as the pipeline sees them: normalised, split, with sentiment and embeddings."""
    split = KoreanAnalyzer(shared_kiwi()).sentences([normalize_text(t) for t in texts])
    sentences = [s for group in split for s in group]
    score_sentences(sentences, classifier, embedder.batch_size)
    embedder.embed_sentences(sentences)
    return split


@functools.lru_cache(maxsize=4)
def fitted_complaint_head(examples: tuple[PainExample, ...], classifier: Any, embedder: Embedder,
                          cues_json: str, c: float, neighbours: int) -> ComplaintHead:
    """The head for these examples and models, fitted once per process; every sentence of an
    example carries its label."""
    split = scored_sentences([e.text for e in examples], classifier, embedder)
    sentences = [s for group in split for s in group]
    targets = [e.has_pain for e, group in zip(examples, split, strict=True) for _ in group]
    return ComplaintHead(sentences, targets, ComplaintCues.model_validate_json(cues_json), c, neighbours)


class PainDetector:
    name = "pain"

    def __init__(self, cues: ComplaintCues, sentiment: SentimentConfig, head: ComplaintHead | None = None,
                 min_probability: float = 0.5, score_texts: TextScorer | None = None,
                 rating_weight: float = 0.0, score_reasons: Collection[tuple[str, str]] = ()):
        self.cues = cues
        self.sentiment = sentiment
        self.head = head
        self.min_probability = min_probability
        self.score_texts = score_texts
        self.rating_weight = rating_weight
        self.score_reasons = frozenset(score_reasons)

    @classmethod
    def from_config(cls, cues: ComplaintCues, sentiment: SentimentConfig, pain: PainConfig,
                    complaints: Sequence[str], classifier: Any, embedder: Embedder,
                    score_reasons: Collection[tuple[str, str]] = ()) -> PainDetector:
        """With `pain.examples`, a head fitted on them plus `complaints` (written complaint sentences).
        `score_reasons`: the (source, answer) pairs whose text gives the reason for an NPS score."""
        if pain.examples is None:
            return cls(cues, sentiment, score_reasons=score_reasons)
        if not pain.examples.is_file():
            raise FileNotFoundError(f"pain.examples: {pain.examples} is not a file (null decides by "
                                    "sentiment and complaint cues alone)")
        examples = tuple([PainExample(text, True) for text in complaints] + read_pain_examples(pain.examples))
        head = fitted_complaint_head(examples, classifier, embedder, cues.model_dump_json(), pain.head_c,
                                     pain.neighbours)
        return cls(cues, sentiment, head, pain.min_probability,
                   functools.partial(scored_sentences, classifier=classifier, embedder=embedder),
                   pain.rating_weight, score_reasons)

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

        The customer's own verdict is evidence: on the tune split 63 of the 65 sentences of 1★ reviews
        are pain points, 14 of the 78 of 5★ ones. A sentence's own text still decides most cases, so
        praise in a 1★ review and a complaint in a 5★ one stay what they are (has_pain 0.909 → 0.920 at
        rating_weight 0.5; 0.913–0.920 from 0.25 to 1.0)."""
        return 0.0 if rating is None else self.rating_weight * (3.0 - rating) / 2.0

    def verdict(self, item: FeedbackItem) -> float | None:
        """The customer's own verdict in stars: a review's rating, or for the answer that gives the reason
        for an NPS score, that score mapped onto 1–5 (0 → 1★, 5 → 3★, 10 → 5★).

        "그럭저럭" or "가끔 이용해서 잘 모르겠어요" as the reason for a 9 is no complaint; as the reason
        for a 2 it may well be. On the bundled sample's 801 survey responses (pain or not per response,
        against the generator's ground truth) 0.916 → 0.940: 20 fewer false alarms, one more miss. The
        answer to "what should we improve" is left alone: it asks for criticism whatever the score
        (weighing it too: 0.934, six more misses)."""
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
            log_odds = _logit(self.head.probabilities(candidates)) + prior
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

    def tail_probabilities(self, sentences: Sequence[Sentence]) -> np.ndarray:
        """P(complaint) of what each sentence says after its last contrastive ending, 0 without one.

        Praise and then a complaint in one sentence ("다 좋은데 글씨 좀 키워 주세요") is a pain point by
        the labelling guide, but its features average the two halves; the tail alone is plainly a
        complaint. A drawback before the contrast and praise after it ("조금 좁지만 깔끔해서 좋았어요")
        keeps the whole sentence's verdict. Tune split: has_pain 0.894 → 0.909 (five sentences
        corrected, one new false alarm).
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
        scores = iter(self.head.probabilities([c for group in speaking for c in group]))
        for i, group in enumerate(speaking):
            out[i] = max((next(scores) for _ in group), default=0.0)
        return out

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        sentences = [s for doc in docs for s in doc.sentences]
        ratings = [self.verdict(doc.item) for doc in docs for _ in doc.sentences]
        for sentence, (pain, probability) in zip(sentences, self.judge(sentences, ratings), strict=True):
            sentence.is_pain, sentence.pain_probability = pain, probability
        return docs
