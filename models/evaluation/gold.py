"""The hand-labelled gold sets of pain sentences, and the public corpora their texts come from.

`models/evaluation/gold/pain_sentences.csv` (app and hotel reviews) and `gold/shopping_sentences.csv`
(shopping and service comments among KOTE's online comments, MIT) are labelled by hand following
docs/labelling-guide.md and hold ids, a sentence checksum and labels only. The texts are read at run time
from the corpora in `$SORI_SHARED_DATA` (default `<repo>/../shared/data`), split with Kiwi exactly as
when they were labelled, and checked against the checksum, so a changed corpus or sentence splitter is
reported (`LabelDrift`) instead of silently scoring other sentences. `draw_sample` and
`draw_shopping_sample` re-draw the candidate sentences exactly as they were drawn for labelling.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.training.shared_data import require

LABELS_FILE = Path(__file__).resolve().parent / "gold" / "pain_sentences.csv"
SHOPPING_LABELS_FILE = Path(__file__).resolve().parent / "gold" / "shopping_sentences.csv"
LABEL_COLUMNS = ("dataset", "review_id", "sentence_index", "sentence_sha1", "has_pain", "categories",
                 "touchpoint", "split", "response_needed")
DATASETS = ("app_reviews_playstore", "hotel_reviews_yanolja")
# Shopping reviews among KOTE's online comments (MIT): a second domain, scored on its own. Its tune split
# is KOTE's validation part, its test split KOTE's test part, which the sentiment adapter never saw.
SHOPPING_DATASET = "kote_emotions"
# Each corpus's id column when it is not `review_id`, and its star-rating column if it has one.
ID_COLUMNS = {SHOPPING_DATASET: "comment_id"}
RATING_COLUMNS = {"app_reviews_playstore": "rating", "hotel_reviews_yanolja": "rating"}
SPLITS = ("tune", "test")

# How the labelled set was drawn (see docs/labelling-guide.md): per dataset, rounds of per-rating quotas
# taken round-robin across the grouping column. The second round topped up 4–5★ reviews so that about
# half the sentences are pain; the third added low-rated hotel and app reviews so that tune holds enough
# staff, policy and waiting complaints. Each continues the random streams, so earlier rounds are unchanged.
DRAW_SEED = 7
MIN_REVIEW_CHARS = 15
MIN_SENTENCE_CHARS = 6
DRAW_ROUNDS: dict[str, tuple[str, list[dict[int, int]]]] = {
    "app_reviews_playstore": ("app", [{1: 90, 2: 40, 3: 45, 4: 35, 5: 55}, {4: 25, 5: 50},
                                      {1: 30, 2: 20, 3: 20, 4: 15, 5: 15}]),
    "hotel_reviews_yanolja": ("hotel", [{1: 40, 2: 35, 3: 35, 4: 22, 5: 23}, {4: 25, 5: 30},
                                        {1: 35, 2: 30, 3: 25, 4: 10, 5: 10}]),
}
# How the shopping set was drawn: KOTE comments that name a purchase, a delivery, a service or an app,
# 300 of them at random, every sentence with at least MIN_SENTENCE_CHARS; comments that turned out not
# to be a customer's feedback (news, politics, chatter) were left out when labelling.
SHOPPING_SEED = 11
SHOPPING_COMMENTS = 300
SHOPPING_FILTER = re.compile(
    "앱|어플|배송|환불|결제|직원|호텔|숙소|상담|고객센터|로그인|업데이트|택배|주문|제품|상품|구매|반품|교환|포장|"
    "가격|사장님|매장|서비스|리뷰|별점|객실|체크인|프런트|프론트|예약|쿠폰|포인트|회원|가입|광고|알림|오류|버그|"
    "품질|불량|사이즈|냄새")


class LabelDrift(ValueError):
    """A labelled sentence no longer matches its checksum (corpus or sentence splitter changed)."""


@dataclass(frozen=True)
class LabelledSentence:
    """One row of a label file: which sentence of which review, and what it says."""

    dataset: str
    review_id: str
    sentence_index: int
    sentence_sha1: str
    has_pain: bool
    categories: tuple[str, ...]
    touchpoint: str
    split: str
    response_needed: bool | None = None  # labelled on pain sentences only


def shared_data_dir(needed: Iterable[str] = DATASETS) -> Path:
    """The corpora folder, with a clear error when a needed set is absent."""
    return require((_table_path(Path(), name) for name in needed), "evaluation data")


def _table_path(root: Path, dataset: str) -> Path:
    files = {"naver_shopping_absa": "reviews_absa.tsv.gz", "kr3_aspect_gold": "sentences.tsv.gz",
             SHOPPING_DATASET: "comments.tsv.gz"}
    return root / dataset / files.get(dataset, "reviews.tsv.gz")


def read_table(root: Path, dataset: str) -> Any:
    """One corpus table as strings (ids keep their leading zeros, empty cells stay empty)."""
    import pandas as pd

    return pd.read_csv(_table_path(root, dataset), sep="\t", dtype=str, keep_default_na=False)


def sentence_sha1(text: str) -> str:
    """The checksum a label file keeps of each labelled sentence's text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def load_labels(path: Path = LABELS_FILE) -> list[LabelledSentence]:
    """The rows of a label file, after checking its columns (`label_problems` checks the labels)."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != LABEL_COLUMNS:
            raise ValueError(f"{path}: columns must be {','.join(LABEL_COLUMNS)}")
        return [
            LabelledSentence(
                dataset=row["dataset"],
                review_id=row["review_id"],
                sentence_index=int(row["sentence_index"]),
                sentence_sha1=row["sentence_sha1"],
                has_pain=row["has_pain"] == "1",
                categories=tuple(k for k in row["categories"].split(";") if k),
                touchpoint=row["touchpoint"],
                split=row["split"],
                response_needed=_flag(row["response_needed"]),
            )
            for row in reader
        ]


def _flag(cell: str) -> bool | None:
    if cell not in ("", "0", "1"):
        raise ValueError(f"response_needed must be 1, 0 or empty, not {cell!r}")
    return None if cell == "" else cell == "1"


def label_problems(rows: Sequence[LabelledSentence], categories: Iterable[str],
                   touchpoints: Iterable[str]) -> list[str]:
    """Why the label file is not well-formed (empty when it is): the rules of the labelling guide."""
    known_categories, known_touchpoints = set(categories), set(touchpoints)
    problems = []
    seen = set()
    for n, row in enumerate(rows, start=2):
        where = f"line {n} ({row.dataset} {row.review_id})"
        key = (row.dataset, row.review_id, row.sentence_index)
        if key in seen:
            problems.append(f"{where}: duplicate sentence")
        seen.add(key)
        if row.dataset not in (*DATASETS, SHOPPING_DATASET):
            problems.append(f"{where}: unknown dataset")
        if row.split not in SPLITS:
            problems.append(f"{where}: split must be tune or test")
        if len(row.sentence_sha1) != 40:
            problems.append(f"{where}: sentence_sha1 is not a sha1")
        if not row.has_pain:
            if row.categories or row.touchpoint or row.response_needed is not None:
                problems.append(f"{where}: has_pain=0 with categories, a touchpoint or response_needed")
            continue
        if row.response_needed is None:
            problems.append(f"{where}: has_pain=1 without response_needed")
        if not row.categories:
            problems.append(f"{where}: has_pain=1 without a category")
        if unknown := [k for k in row.categories if k not in known_categories]:
            problems.append(f"{where}: unknown categories {unknown}")
        if "other" in row.categories and len(row.categories) > 1:
            problems.append(f"{where}: `other` together with another category")
        if len(set(row.categories)) != len(row.categories):
            problems.append(f"{where}: repeated category")
        if row.touchpoint not in known_touchpoints:
            problems.append(f"{where}: unknown touchpoint {row.touchpoint!r}")
    return problems


@dataclass(frozen=True)
class Review:
    """A labelled sentence's whole review as stored in the corpus."""

    text: str
    rating: float | None  # stars 1–5; None where the platform blinded the review (0★)


def _stars(cell: str | None) -> float | None:
    return float(cell) if cell and 1 <= float(cell) <= 5 else None


def labelled_reviews(rows: Sequence[LabelledSentence], root: Path) -> list[Review]:
    """The review each labelled sentence comes from, as stored in the corpus, with its star rating:
    the pipeline reads a review's rating as production does."""
    by_dataset: dict[str, dict[str, Review]] = {}
    for dataset in sorted({r.dataset for r in rows}):
        table = read_table(root, dataset)
        ratings = table[RATING_COLUMNS[dataset]] if dataset in RATING_COLUMNS else [None] * len(table)
        by_dataset[dataset] = {review_id: Review(text, _stars(stars))
                               for review_id, text, stars in zip(table[ID_COLUMNS.get(dataset, "review_id")],
                                                                 table["text"], ratings, strict=True)}
    missing = [f"{r.dataset}/{r.review_id}" for r in rows if r.review_id not in by_dataset[r.dataset]]
    if missing:
        raise LabelDrift(f"{len(missing)} labelled reviews are not in the corpus: {', '.join(missing[:5])}")
    return [by_dataset[r.dataset][r.review_id] for r in rows]


def labelled_texts(rows: Sequence[LabelledSentence], reviews: Sequence[str], analyzer: Any) -> list[str]:
    """Each labelled sentence's text, re-split from its review and checked against its checksum."""
    texts, drift = [], []
    for row, sentences in zip(rows, analyzer.sentences(list(reviews)), strict=True):
        text = sentences[row.sentence_index].text if row.sentence_index < len(sentences) else ""
        if sentence_sha1(text) != row.sentence_sha1:
            drift.append(f"{row.dataset}/{row.review_id}#{row.sentence_index}")
        texts.append(text)
    if drift:
        raise LabelDrift(
            f"{len(drift)} labelled sentences changed (corpus copy or Kiwi version differs from labelling "
            f"time): {', '.join(drift[:5])}"
        )
    return texts


def draw_sample(root: Path, analyzer: Any, seed: int = DRAW_SEED) -> list[dict[str, Any]]:
    """Re-draw the labelled set's sentences (ids, index, checksum, rating) exactly as they were drawn."""
    from pipeline.text.korean import compact

    drawn: list[dict[str, Any]] = []
    for dataset, (group, rounds) in DRAW_ROUNDS.items():
        table = read_table(root, dataset)
        table = table[table["text"].str.len() >= MIN_REVIEW_CHARS].drop_duplicates("text")
        texts = dict(zip(table["review_id"], table["text"], strict=True))
        rng = random.Random(f"{seed}:{dataset}")
        state: dict[int, tuple[list[str], dict[str, list[str]], list[int]]] = {}
        for quota in rounds:
            for rating, n in quota.items():
                if rating not in state:
                    part = table[table["rating"] == str(rating)]
                    groups = sorted(part[group].unique())
                    pools = {g: sorted(part.loc[part[group] == g, "review_id"]) for g in groups}
                    for g in groups:
                        rng.shuffle(pools[g])
                    rng.shuffle(groups)
                    state[rating] = (groups, pools, [0])
                groups, pools, turn = state[rating]
                picked: list[str] = []
                while len(picked) < n and any(pools.values()):
                    pool = pools[groups[turn[0] % len(groups)]]
                    turn[0] += 1
                    if pool:
                        picked.append(pool.pop())
                for review_id in picked:
                    sentences = analyzer.sentences([texts[review_id]])[0]
                    usable = [s for s in sentences if len(compact(s.text)) >= MIN_SENTENCE_CHARS]
                    if not usable:
                        continue
                    chosen = rng.choice(usable)
                    drawn.append({"dataset": dataset, "review_id": review_id, "rating": rating,
                                  "sentence_index": chosen.index,
                                  "sentence_sha1": sentence_sha1(chosen.text)})
    return drawn


def draw_shopping_sample(root: Path, analyzer: Any, seed: int = SHOPPING_SEED) -> list[dict[str, Any]]:
    """Re-draw the shopping set's candidate sentences (ids, index, checksum) exactly as they were drawn."""
    from pipeline.text.korean import compact

    table = read_table(root, SHOPPING_DATASET)
    table = table[table["text"].str.contains(SHOPPING_FILTER)]
    texts = dict(zip(table["comment_id"], table["text"], strict=True))
    ids = sorted(texts)
    random.Random(seed).shuffle(ids)
    drawn: list[dict[str, Any]] = []
    for comment_id in ids[:SHOPPING_COMMENTS]:
        for sentence in analyzer.sentences([texts[comment_id]])[0]:
            if len(compact(sentence.text)) >= MIN_SENTENCE_CHARS:
                drawn.append({"dataset": SHOPPING_DATASET, "review_id": comment_id,
                              "sentence_index": sentence.index,
                              "sentence_sha1": sentence_sha1(sentence.text)})
    return drawn


def labelled_sets(taxonomy: Any) -> list[tuple[str, list[LabelledSentence]]]:
    """Both label files, checked against the taxonomy and the labelling guide's rules."""
    out = []
    for name, path in (("sentences", LABELS_FILE), ("shopping_sentences", SHOPPING_LABELS_FILE)):
        rows = load_labels(path)
        if problems := label_problems(rows, taxonomy.categories, taxonomy.touchpoints):
            raise ValueError(f"{path.name} is not well-formed:\n" + "\n".join(problems[:20]))
        out.append((name, rows))
    return out
