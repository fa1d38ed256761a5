"""Sentiment data: the one place where NSMC, KOTE, petitions and app reviews are read and split.

Training (`models.training.train_sentiment`) and evaluation (`models.evaluation.evaluate_sentiment`) both call
`load_corpus()`, so a test item can never reach training by a second, diverging split. Splits are
decided by a salted hash of the *group* (NSMC movie, KOTE comment, petition), never by row, so a split
is stable whatever else changes in the file; exact-duplicate texts (after normalisation, spaces and case
ignored) are kept only in the most protected split (test > dev > train) and once per split.

Classes, in the fixed order used everywhere: 0 negative, 1 neutral, 2 positive.

* negative / positive: NSMC ratings 1–4 / 9–10 (the NSMC convention; 5–8 are never trained on) and KOTE
  comments whose emotions are all of one valence (>= 3 negative and no positive emotion, or the
  reverse);
* neutral: KOTE comments that at least one annotator marked "없음" (no emotion) and that carry at most
  two valenced emotions, plus petition sentences that read as statements of fact: no evaluative cue
  from the hand-written list below, no emphasis marks, ending like a declarative sentence. NSMC 5–7 is
  *not* neutral text (it is lukewarm or mixed opinion: "기대보다 별로"); evaluation measures how the model
  spreads it instead.

Only CC0/MIT sets are used for training, and, when asked for (`with_written`), customer sentences written
for the project; the app reviews (no licence) are loaded for evaluation only.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from models.training.shared_data import require
from pipeline.components.pain import read_pain_examples
from pipeline.text.korean import shared_kiwi
from pipeline.text.normalize import normalize_text

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
NO_LABEL = -1
SPLITS = ("train", "dev", "test")
_PRIORITY = {"test": 0, "dev": 1, "train": 2}

REPO_ROOT = Path(__file__).resolve().parents[2]

# KOTE emotions by valence (the rest, e.g. 놀람, 비장함, 깨달음, 불쌍함/연민, are left out of both).
KOTE_POSITIVE = frozenset(
    [
        "환영/호의",
        "감동/감탄",
        "고마움",
        "존경",
        "기대감",
        "뿌듯함",
        "편안/쾌적",
        "아껴주는",
        "즐거움/신남",
        "흐뭇함(귀여움/예쁨)",
        "행복",
        "기쁨",
        "안심/신뢰",
    ]
)
KOTE_NEGATIVE = frozenset(
    [
        "불평/불만",
        "지긋지긋",
        "슬픔",
        "화남/분노",
        "우쭐댐/무시함",
        "안타까움/실망",
        "의심/불신",
        "공포/무서움",
        "절망",
        "한심함",
        "역겨움/징그러움",
        "짜증",
        "어이없음",
        "패배/자기혐오",
        "귀찮음",
        "힘듦/지침",
        "증오/혐오",
        "부담/안_내킴",
        "서러움",
        "재미없음",
        "불안/걱정",
    ]
)
KOTE_NONE = "없음"

# Petition sentences with any of these cues are opinion, plea or emotion, not neutral statements.
_EVALUATIVE = re.compile(
    "좋|나쁘|나빠|최고|최악|훌륭|감사|고맙|환영|행복|기쁘|기뻐|"
    "사랑|존경|응원|멋|대단|칭찬|다행|만족|편하|편리|싫|실망|"
    "불만|불편|불공|부당|억울|분노|화가|화나|짜증|답답|황당|어이|"
    "한심|슬프|슬퍼|눈물|고통|괴롭|힘들|힘듭|힘든|지치|불안|걱정|"
    "두렵|무섭|무서|위험|심각|피해|손해|희생|죽|살려|제발|간곡|"
    "부탁|반드시|절대|너무|정말|진짜|매우|도저히|말도 안|말이 안|엉망|문제|"
    "잘못|책임|비리|적폐|갑질|사기|거짓|범죄|처벌|엄벌|폭력|학대|"
    "무시|외면|회피|차별|무능|무책임|부정|비판|규탄|분통|원망|포기|"
    "망하|망치|바랍니다|바란다|주십시오|주세요|해야|합시다|않겠|겠습니까|습니까|입니까"
    # negations and trouble words: a factual report of a problem is a complaint, not neutral
    "|않|못|없|안 |당하|당했|분개|지저분|부족|적자|유해|소용"
    "|아프|아픈|폭행|성폭|사망|사고|극성|과열|철회|촉구|타들|비상식"
    "|어렵|어려|곤란|불가|거부|악화|불법|위반|의혹|논란|소송|고소"
    "|고발|빚|체납|미납|피해|우려|시달|부담|비싸|늦|지연|고장"
    "|오류|끊|속았|협박|강요|폭언|욕|불이익|분쟁|항의|민원|하소연"
    "|청원|호소|불합리|반대|잃|비보|갈등|긴급|생사|금수저"
)
_EMPHASIS = re.compile(r"[!?ㅋㅎㅠㅜ♥♡❤~^;]|\.\.|\*\*\*")
_DECLARATIVE_END = re.compile(r"(다|요|음|함|임|됨|것)\.?$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=다)\s+(?=[가-힣A-Za-z0-9\"'(\[])")


# The neutral class is mostly petition statements, far more often ending in a period and in the formal
# -ㅂ니다 register than the negative and positive texts (figures: docs/evaluation.md#sentiment): a model
# trained on them as they are reads "직원이 불친절합니다." as neutral. `vary_style` restyles the
# final predicate (`restyle`) and toggles the final period at random in the training texts
# (`models.training.train_sentiment --vary-style`), so that neither says anything about the class. The
# hand-written -요 ↔ -ㅂ니다 swap below stays for the figure of `models.evaluation.evaluate_sentiment`
# that has measured every adapter since the first; `restyle` reaches plain endings and nouns too.
_REGISTER_PAIRS = (("해요", "합니다"), ("돼요", "됩니다"), ("이에요", "입니다"), ("예요", "입니다"))
_TAIL = re.compile(r"[.!?~]*$")
# Final consonants after which -어요/-아요 ↔ -습니다 is not a plain swap (더워요, 들어요, 나아요, 길어요,
# 그래요): ㄷ ㄹ ㅂ ㅅ ㅎ.
_IRREGULAR_FINALS = frozenset({7, 8, 17, 19, 27})
_BRIGHT_VOWELS = frozenset({0, 2, 8})  # ㅏ ㅑ ㅗ take -아요
_PAST = 20  # ㅆ: 했/았/었 + 어요


def _syllable(ch: str) -> tuple[int, int] | None:
    """(vowel, final consonant) indices of a Hangul syllable, None for anything else."""
    code = ord(ch) - 0xAC00
    return (code // 28 % 21, code % 28) if 0 <= code < 11172 else None


def swap_register(sentence: str) -> str | None:
    """The sentence with its final polite ending (-요) in the formal register (-ㅂ니다) or the reverse,
    keeping its final punctuation; None when the ending is not one this can swap safely."""
    tail = _TAIL.search(sentence)[0]
    body = sentence[: len(sentence) - len(tail)]
    for polite, formal in _REGISTER_PAIRS:
        if body.endswith(polite):
            return body[: -len(polite)] + formal + tail
    for polite, formal in _REGISTER_PAIRS[:2]:
        if body.endswith(formal):
            return body[: -len(formal)] + polite + tail
    if body.endswith("입니다") and len(body) > 3 and (prev := _syllable(body[-4])):
        return body[:-3] + ("예요" if prev[1] == 0 else "이에요") + tail
    ending = next((e for e in ("어요", "아요", "습니다") if body.endswith(e)), None)
    stem = _syllable(body[-len(ending) - 1]) if ending and len(body) > len(ending) else None
    if stem is None or stem[1] == 0 or stem[1] in _IRREGULAR_FINALS:
        return None
    if ending == "습니다":
        ending = "어요" if stem[1] == _PAST or stem[0] not in _BRIGHT_VOWELS else "아요"
        return body[:-3] + ending + tail
    return body[:-2] + "습니다" + tail


_PLAIN_ENDINGS = frozenset({"다", "ᆫ다", "는다"})
_STYLED_ENDINGS = _PLAIN_ENDINGS | {"어요", "아요", "에요", "예요", "여요", "ᆸ니다", "습니다"}
_TRAILING_TAGS = frozenset({"SF", "SP", "SS", "SE", "SO", "SW"})  # punctuation, ㅋㅋ, emoticons
_NOUN_ENDINGS = frozenset({"NNG", "NNP", "NNB", "XSN"})
Register = Literal["formal", "polite"]
REGISTERS: tuple[Register, ...] = ("formal", "polite")


def restyle(text: str, register: Register) -> str | None:
    """The text with its final declarative ending in the formal (-ㅂ니다/-습니다) or polite (-어요/-에요)
    register, whatever it was (plain -다, polite, formal), and a final noun given the copula in it; what
    follows (punctuation, ㅋㅋ) is kept. None when the text ends otherwise or is already in it.

    The classes of the training texts differ in style: neutral ones are mostly formal petition
    sentences, polar ones mostly movie reviews in plain style or noun phrases ("재밌다", "최고의 영화").
    Kiwi re-conjugates the last word (낭비한다 → 낭비합니다, 꺼집니다 → 꺼져요, 최고다 → 최고입니다)."""
    kiwi = shared_kiwi()
    tokens = list(kiwi.tokenize(text))
    while tokens and tokens[-1].tag in _TRAILING_TAGS:
        tokens.pop()
    if not tokens:
        return None
    last = tokens[-1]
    if last.tag in ("EF", "EC") and last.form in _STYLED_ENDINGS:  # Kiwi reads "본다 ㅋㅋ" as EC
        stem, copula = _predicate(tokens[:-1], last.word_position), []
    elif last.tag in _NOUN_ENDINGS:
        stem, copula = [last], [("이", "VCP")]
    else:
        return None
    if not stem:
        return None
    after_copula = bool(copula) or stem[-1].tag in ("VCP", "VCN")
    ending = "습니다" if register == "formal" else ("에요" if after_copula else "어요")
    joined = kiwi.join([(t.form, t.tag) for t in stem] + copula + [(ending, "EF")])
    styled = text[: stem[0].start] + joined + text[last.start + last.len:]
    return styled if styled != text else None


def _predicate(tokens: list[Any], word_position: int) -> list[Any]:
    """The morphemes of the final word's predicate before its ending (보, 좋+었, 낭비+하, 최고+이): Kiwi
    re-joins only those, so the rest of the word keeps its spacing."""
    stem: list[Any] = []
    for token in reversed(tokens):
        if token.word_position != word_position:
            break
        stem.insert(0, token)
        if token.tag not in ("EP", "XSV", "XSA", "VCP"):  # after these, the root before joins too
            break
    return stem


def without_final_period(text: str) -> str:
    """The text without a single final period; "..", "!" and "?" carry emphasis and stay."""
    text = text.rstrip()
    return text[:-1].rstrip() if text.endswith(".") and not text.endswith("..") else text


def vary_style(text: str, rng: np.random.Generator) -> str:
    """The same text with its final predicate in a register drawn at random (formal or polite, p = ½;
    `restyle`) and its final period swapped (p = ½), so that neither says anything about the class. Only
    a single final period changes (`without_final_period`)."""
    out = text.rstrip()
    out = restyle(out, REGISTERS[int(rng.integers(len(REGISTERS)))]) or out
    if rng.random() < 0.5:
        if (bare := without_final_period(out)) != out:
            out = bare
        elif out and out[-1] not in ".!?~":
            out += "."
    return out or text


def with_varied_style(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, float]:
    """The frame with every text's style varied (`vary_style`, seeded) and the share of texts it
    changed: the final period and the formal register mark the neutral class (petitions) otherwise."""
    rng = np.random.default_rng(seed)
    varied = [vary_style(t, rng) for t in frame["text"]]
    changed = [v != t for v, t in zip(varied, frame["text"], strict=True)]
    return frame.assign(text=varied), float(np.mean(changed)) if changed else 0.0


def shared_data_dir() -> Path:
    """The corpora folder, failing loudly when the sentiment sets are absent."""
    return require(["nsmc_raw/reviews.tsv.gz", "kote_emotions/comments.tsv.gz",
                    "petitions_korea/petitions.tsv.gz"], "sentiment data")


def split_of(group: str, salt: str, dev: float = 0.1, test: float = 0.1) -> str:
    """Deterministic split of a group id: a salted hash, so it never depends on row order or file size."""
    h = int.from_bytes(hashlib.blake2b(f"{salt}:{group}".encode(), digest_size=8).digest(), "big")
    u = (h % 1_000_000) / 1_000_000
    if u < test:
        return "test"
    if u < test + dev:
        return "dev"
    return "train"


def text_key(text: str) -> str:
    """Duplicate key: normalised text without spaces, case-folded ("최고 !" == "최고!")."""
    return re.sub(r"\s+", "", text).casefold()


def _read_tsv(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return pd.DataFrame(rows)


def _nsmc(root: Path) -> pd.DataFrame:
    df = _read_tsv(root / "nsmc_raw" / "reviews.tsv.gz")
    rating = df["rating"].astype(int)
    label = np.select([rating <= 4, rating >= 9], [NEGATIVE, POSITIVE], NO_LABEL)
    return pd.DataFrame(
        {
            "text": df["text"],
            "label": label,
            "rating": rating,
            "source": "nsmc",
            "group": "movie:" + df["movie_id"],
            "split": [split_of(m, "nsmc") for m in df["movie_id"]],
            "order": df["review_id"].astype(np.int64),
        }
    )


def kote_label(labels: Iterable[str]) -> int:
    """3-class label of one KOTE comment from its (union-of-annotators) emotion set."""
    names = set(labels)
    pos, neg = len(names & KOTE_POSITIVE), len(names & KOTE_NEGATIVE)
    if KOTE_NONE in names and pos + neg <= 2:
        return NEUTRAL
    if neg >= 3 and pos == 0:
        return NEGATIVE
    if pos >= 3 and neg == 0:
        return POSITIVE
    return NO_LABEL


def _kote(root: Path) -> pd.DataFrame:
    df = _read_tsv(root / "kote_emotions" / "comments.tsv.gz")
    split = [
        "test" if s == "test" else split_of(c, "kote", dev=0.1, test=0.0)
        for s, c in zip(df["split"], df["comment_id"], strict=True)
    ]
    return pd.DataFrame(
        {
            "text": df["text"],
            "label": [kote_label(x.split("|")) for x in df["labels"]],
            "rating": 0,
            "source": "kote",
            "group": "kote:" + df["comment_id"],
            "split": split,
            "order": np.arange(len(df)),
        }
    )


def is_neutral_statement(sentence: str) -> bool:
    """A petition sentence that states something without judging it (see module docstring)."""
    s = sentence.strip()
    return (
        12 <= len(s) <= 140
        and not _EVALUATIVE.search(s)
        and not _EMPHASIS.search(s)
        and bool(_DECLARATIVE_END.search(s))
        and sum(ch.isdigit() for ch in s) < len(s) // 3
    )


def petition_sentences(text: str) -> list[str]:
    """Cheap, deterministic sentence split (petitions are well punctuated; Kiwi is not needed here)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _petitions(root: Path, per_petition: int = 8) -> pd.DataFrame:
    df = _read_tsv(root / "petitions_korea" / "petitions.tsv.gz")
    rows = []
    for pid, body in zip(df["petition_id"], df["text"], strict=True):
        kept = [s for s in petition_sentences(body) if is_neutral_statement(s)][:per_petition]
        split = split_of(pid, "petitions")
        rows += [(s, f"petition:{pid}", split) for s in kept]
    out = pd.DataFrame(rows, columns=["text", "group", "split"])
    out["label"], out["rating"], out["source"], out["order"] = NEUTRAL, 0, "petitions", np.arange(len(out))
    return out


def dedupe_across_splits(df: pd.DataFrame) -> pd.DataFrame:
    """Keep each text key once, in its most protected split; label = majority of its labelled rows."""
    df = df.copy()
    df["text"] = [normalize_text(t) for t in df["text"]]
    df = df[df["text"].str.len() > 0]
    df["key"] = [text_key(t) for t in df["text"]]
    df["prio"] = df["split"].map(_PRIORITY)
    best = df.groupby("key")["prio"].transform("min")
    df = df[df["prio"] == best]
    labelled = df[df["label"] != NO_LABEL]
    votes = labelled.groupby(["key", "label"]).size().unstack(fill_value=0)
    top = votes.max(axis=1)
    unique_top = (votes.eq(top, axis=0)).sum(axis=1) == 1
    majority = votes.idxmax(axis=1).where(unique_top, NO_LABEL)
    df = df.sort_values(["source", "order"]).drop_duplicates("key", keep="first")
    df["label"] = df["key"].map(majority).fillna(NO_LABEL).astype(int)
    return df.drop(columns=["prio", "order"]).reset_index(drop=True)


@lru_cache(maxsize=2)
def _load_corpus(root: str) -> pd.DataFrame:
    path = Path(root)
    parts = [_nsmc(path), _kote(path), _petitions(path)]
    return dedupe_across_splits(pd.concat(parts, ignore_index=True))


def load_corpus(root: Path | None = None) -> pd.DataFrame:
    """All licensed rows with columns text, key, label, rating, source, group, split (cached per process)."""
    return _load_corpus(str(root or shared_data_dir())).copy()


# Customer sentences written for the project (the complaint head's examples and the category phrases):
# the one licensed source of polite, descriptive customer praise and neutral questions and narration.
# Without them the polar classes are movie reviews and the neutral one petitions, so the shipped adapter
# reads "배송 빠름" as negative and "배송이 항상 빨라요." as neutral. Kinds the labelling guide leaves
# between the classes (a general wish, a balanced verdict) are not used. Off by default
# (`train_sentiment --written-per-class`): docs/decisions/0003-sentiment-adapter-training-data.md.
WRITTEN_EXAMPLES = REPO_ROOT / "data" / "tagging" / "pain_examples.csv"
WRITTEN_COMPLAINTS = REPO_ROOT / "data" / "tagging" / "phrases.csv"
WRITTEN_KIND_LABEL = {
    "praise": POSITIVE, "slang_praise": POSITIVE, "thanks_recommend": POSITIVE, "accepted_drawback": POSITIVE,
    "narration": NEUTRAL, "question": NEUTRAL, "fragment": NEUTRAL,
}


def written_sentences() -> pd.DataFrame:
    """The project's own labelled customer sentences as sentiment rows (all of them training rows):
    complaints negative, praise positive, questions and narration without a complaint neutral."""
    examples = read_pain_examples(WRITTEN_EXAMPLES)
    complaints = pd.read_csv(WRITTEN_COMPLAINTS, dtype=str)["text"]
    out = pd.DataFrame({
        "text": [*(e.text for e in examples), *complaints],
        "label": [*(NEGATIVE if e.has_pain else WRITTEN_KIND_LABEL.get(e.kind, NO_LABEL) for e in examples),
                  *[NEGATIVE] * len(complaints)],
    })
    out = out[out["label"] != NO_LABEL].assign(text=lambda d: d["text"].map(normalize_text))
    out = out.drop_duplicates("text").reset_index(drop=True)
    keys = out["text"].map(text_key)
    return out.assign(key=keys, rating=0, source="written", group="written:" + keys, split="train")


def with_written(frame: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """`frame` plus the written sentences, each class repeated up to about `per_class` rows, shuffled:
    a few hundred polite customer sentences would otherwise drown among tens of thousands of others."""
    if per_class <= 0:
        return frame
    written = written_sentences()
    parts = [frame]
    for _, rows in written.groupby("label"):
        repeats = max(1, round(per_class / len(rows)))
        parts += [rows] * repeats
    out = pd.concat(parts, ignore_index=True)
    return out.iloc[np.random.default_rng(seed).permutation(len(out))].reset_index(drop=True)


def balanced(df: pd.DataFrame, per_class: int | None, seed: int, classes: Iterable[int]) -> pd.DataFrame:
    """Equal counts per class (the smallest class, or `per_class` when that is smaller), shuffled."""
    groups = {c: df[df["label"] == c] for c in classes}
    n = min(len(g) for g in groups.values())
    if per_class is not None:
        n = min(n, per_class)
    picked = [g.sample(n=n, random_state=seed) for g in groups.values()]
    return pd.concat(picked).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def training_frame(
    corpus: pd.DataFrame, split: str, max_examples: int | None, seed: int, neutral_share: float = 1 / 3
) -> pd.DataFrame:
    """Balanced 3-class set of one split: KOTE polar comments (other domain, up to a quarter of each polar
    class), NSMC fills the rest.

    `max_examples` caps the total; the neutral pool is the smallest, so when it runs out the negative and
    positive classes stay equal and the trainer weights the loss by inverse class frequency.
    """
    part = corpus[(corpus["split"] == split) & (corpus["label"] != NO_LABEL)]
    rng = np.random.default_rng(seed)
    total = max_examples or len(part)
    neutral = part[part["label"] == NEUTRAL]
    n_neu = min(len(neutral), int(round(total * neutral_share)))
    polar = part[part["label"] != NEUTRAL]
    n_polar_each = min(
        (total - n_neu) // 2,
        int((polar["label"] == NEGATIVE).sum()),
        int((polar["label"] == POSITIVE).sum()),
    )
    frames = [neutral.sample(n=n_neu, random_state=seed)]
    for label in (NEGATIVE, POSITIVE):
        rows = polar[polar["label"] == label]
        kote = rows[rows["source"] == "kote"]
        kote = kote.sample(n=min(len(kote), n_polar_each // 4), random_state=seed)
        nsmc = rows[rows["source"] == "nsmc"]
        frames += [kote, nsmc.sample(n=n_polar_each - len(kote), random_state=seed)]
    out = pd.concat(frames)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def nsmc_binary(corpus: pd.DataFrame, split: str, per_class: int | None, seed: int) -> pd.DataFrame:
    """Balanced NSMC negative (1–4) vs positive (9–10) of one by-movie split (comparable to NSMC)."""
    part = corpus[(corpus["split"] == split) & (corpus["source"] == "nsmc")]
    return balanced(part, per_class, seed, (NEGATIVE, POSITIVE))


def three_class_test(corpus: pd.DataFrame, per_class: int | None, seed: int) -> pd.DataFrame:
    """Balanced 3-class test set: neutral from KOTE-test + petition-test, polar from NSMC-test + KOTE-test."""
    part = corpus[(corpus["split"] == "test") & (corpus["label"] != NO_LABEL)]
    neu = part[part["label"] == NEUTRAL]
    n = len(neu) if per_class is None else min(len(neu), per_class)
    frames = [neu.sample(n=n, random_state=seed)]
    for label in (NEGATIVE, POSITIVE):
        rows = part[part["label"] == label]
        kote = rows[rows["source"] == "kote"]
        kote = kote.sample(n=min(len(kote), n // 2), random_state=seed)
        nsmc = rows[rows["source"] == "nsmc"].sample(n=n - len(kote), random_state=seed)
        frames += [kote, nsmc]
    return pd.concat(frames).reset_index(drop=True)


def nsmc_ratings(corpus: pd.DataFrame, split: str, ratings: Iterable[int]) -> pd.DataFrame:
    """NSMC rows of one split with the given ratings (5–7 to see where lukewarm opinions land)."""
    part = corpus[(corpus["split"] == split) & (corpus["source"] == "nsmc")]
    return part[part["rating"].isin(list(ratings))].reset_index(drop=True)


def app_split(app: str) -> str:
    """App reviews are split by app (half the apps dev, half test) so no app is seen on both sides."""
    return split_of(app, "apps", dev=0.5, test=0.5) if app else "dev"


def load_app_reviews(root: Path | None = None, exclude_keys: Iterable[str] = ()) -> pd.DataFrame:
    """Play-store reviews for evaluation only: binary label 1–2★ negative, 4–5★ positive, 3★ unlabelled.

    Texts whose key also occurs in the training corpus are dropped ("좋아요" would be a free point).
    """
    root = root or require(["app_reviews_playstore/reviews.tsv.gz"], "app reviews")
    df = _read_tsv(root / "app_reviews_playstore" / "reviews.tsv.gz")
    rating = df["rating"].astype(int)
    out = pd.DataFrame(
        {
            "text": [normalize_text(t) for t in df["text"]],
            "rating": rating,
            "label": np.select([rating <= 2, rating >= 4], [NEGATIVE, POSITIVE], NO_LABEL),
            "app": df["app"],
            "split": [app_split(a) for a in df["app"]],
        }
    )
    out = out[out["text"].str.len() > 0]
    out["key"] = [text_key(t) for t in out["text"]]
    excluded = set(exclude_keys)
    out = out[~out["key"].isin(excluded)]
    return out.drop_duplicates("key").reset_index(drop=True)
